import FirestreamConfig
import FirestreamConnectors
import FirestreamFormats
import FirestreamGateway
import FirestreamLog
import FirestreamStreams
import KafkaBroker
import Logging

extension EmbeddedStack {
    /// The Kafka listener to start, if any.
    func kafkaListener() -> KafkaConfig? {
        guard let kafka = options.kafka, kafka.enabled else { return nil }
        return kafka
    }

    /// Refuses a Kafka listener that anyone on the network could use: without tokens, clients
    /// do not authenticate, so the listener stays on loopback.
    func checkKafkaListener() throws {
        guard let kafka = options.kafka, kafka.enabled, config.gateway.tokens.isEmpty else { return }
        guard AccessPolicy.isLoopbackAddress(kafka.listener.host) else {
            throw StackError(
                "refusing to listen for Kafka clients on \(kafka.listener.host) without authentication: anyone who can reach it could read and "
                    + "write every topic. Declare tokens under gateway.tokens in the config (firestream token create --name NAME --scope "
                    + "'topic:*:read'; Kafka clients then sign in with SASL), listen on 127.0.0.1 (kafka.listener, --kafka-port), or run with --no-kafka"
            )
        }
    }

    func kafkaServer(_ kafka: KafkaConfig, log: Log, runnables: [any Runnable], report: @escaping @Sendable (String) -> Void) -> KafkaServer {
        // Topics in use: deleting one would stop what uses it.
        let declared = Dictionary(config.topics.map { ($0.name, "declared in the project config") }) { first, _ in first }
        let inUse = runnables.reduce(into: declared) { all, runnable in all.merge(runnable.usedTopics) { first, _ in first } }
        let advertised = kafka.advertisedHost ?? kafka.listener.host
        // Port 0 picks a free port; the broker then advertises the one it got.
        var brokerOptions = KafkaBroker.Options(advertisedHost: advertised, advertisedPort: kafka.listener.port)
        brokerOptions.autoCreateTopics = kafka.autoCreateTopics
        brokerOptions.defaultPartitions = kafka.defaultPartitions
        brokerOptions.protection = owned(by: runnables)
        brokerOptions.topicsInUse = inUse
        brokerOptions.ownedGroups = Set(config.effects.map { WebhookEffect.group(named: $0.name) })
        brokerOptions.credentials = config.gateway.tokens.map(TokenCredential.init)
        let logger = Logger(label: "firestream.kafka")
        let broker = KafkaBroker(log: log, options: brokerOptions, logger: logger)
        return KafkaServer(broker: broker, host: kafka.listener.host, port: kafka.listener.port, logger: logger) { port in
            let listener = KafkaListener(host: kafka.listener.host, port: port)
            let security = broker.authenticationRequired ? "; SASL_PLAINTEXT: PLAIN, SCRAM-SHA-256/512 with the project's tokens" : ""
            report(
                "  kafka:  \(listener) (bootstrap.servers=\(advertised):\(port); auto-create topics \(kafka.autoCreateTopics ? "on" : "off")\(security))"
            )
        }
    }
}
