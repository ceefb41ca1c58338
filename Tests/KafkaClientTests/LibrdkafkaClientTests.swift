import FirestreamFormats
import FirestreamLog
import FirestreamTesting
import KafkaBroker
import KafkaClient
import Logging
import Testing

/// Firestream's own broker on a free port for the duration of `body`.
func withBroker<T: Sendable>(
    credentials: [TokenCredential] = [], _ body: @Sendable (_ bootstrap: String, _ log: Log) async throws -> T
) async throws -> T {
    let data = TemporaryDirectory()
    let log = try Log(directory: data.path)
    defer { log.close() }
    var options = KafkaBroker.Options(advertisedHost: "127.0.0.1", advertisedPort: 0)
    options.credentials = credentials
    let broker = KafkaBroker(log: log, options: options, logger: Logger(label: "test.kafka"))
    let (ports, bound) = AsyncStream.makeStream(of: Int.self)
    let server = KafkaServer(broker: broker, host: "127.0.0.1", port: 0) { bound.yield($0) }
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            try await server.run()
            return nil
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw BrokerDidNotListen() }
        let result = try await body("127.0.0.1:\(port)", log)
        group.cancelAll()
        return result
    }
}

struct BrokerDidNotListen: Error {}

@Suite struct LibrdkafkaClientTests {
    @Test func recordsSentThroughLibrdkafkaAreAcknowledgedDurableAndReadBackInOrder() async throws {
        try await withBroker { bootstrap, log in
            let producer = try KafkaProducerClient(settings: ["bootstrap.servers": bootstrap, "linger.ms": "5"])
            defer { producer.close() }
            var stored: [Int64] = []
            try await withThrowingTaskGroup(of: (Int, Int64).self) { group in
                for index in 0..<100 {
                    group.addTask {
                        let (partition, offset) = try await producer.send(Array("v\(index)".utf8), key: Array("k\(index % 7)".utf8), to: "events")
                        #expect(partition == 0)
                        return (index, offset)
                    }
                }
                for try await (_, offset) in group { stored.append(offset) }
            }
            #expect(stored.sorted() == Array(0..<100), "every record acknowledged with its own offset")
            #expect(try log.topic("events").partitions[0].durableOffset == 100, "acknowledged means durable")

            let consumer = try KafkaConsumerClient(settings: ["bootstrap.servers": bootstrap, "group.id": "readers"], buffered: 10)
            defer { consumer.close() }
            try consumer.assign("events", partitions: [0])
            var read: [KafkaConsumerClient.Record] = []
            for try await record in consumer.records {
                read.append(record)
                if read.count == 100 { break }
            }
            #expect(read.map(\.offset) == Array(0..<100))
            let values = Set(read.compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } })
            #expect(values == Set((0..<100).map { "v\($0)" }))
            #expect(read.allSatisfy { $0.topic == "events" && $0.timestamp > 0 && $0.key != nil })
        }
    }

    @Test func aRefusedSettingIsNamed() {
        #expect {
            try KafkaProducerClient(settings: ["bootstrap.servers": "127.0.0.1:9", "acks": "banana"])
        } throws: { error in
            "\(error)".contains("acks=banana")
        }
        #expect {
            try KafkaConsumerClient(settings: ["bootstrap.servers": "127.0.0.1:9", "no.such.setting": "1"])
        } throws: { error in
            "\(error)".contains("no.such.setting")
        }
    }

    @Test func aClusterNobodyAnswersFailsTheSendAfterTheMessageTimeout() async throws {
        let producer = try KafkaProducerClient(settings: ["bootstrap.servers": "127.0.0.1:9", "message.timeout.ms": "1000"])
        defer { producer.close(timeout: .zero) }
        await #expect {
            _ = try await producer.send(Array("lost".utf8), to: "nowhere")
        } throws: { error in
            (error as? KafkaClientError)?.code == -192  // _MSG_TIMED_OUT
        }
    }

    /// Closing fails what is still waiting (librdkafka would otherwise retry for 5 minutes):
    /// no sender waits forever, and later sends are refused.
    @Test func closingFailsTheSendsStillWaitingAndRefusesNewOnes() async throws {
        let producer = try KafkaProducerClient(settings: ["bootstrap.servers": "127.0.0.1:9"])
        let waiting = Task { try await producer.send(Array("stuck".utf8), to: "nowhere") }
        while producer.waiting == 0 { await Task.yield() }
        producer.close(timeout: .zero)
        await #expect(throws: KafkaClientError.self) { _ = try await waiting.value }
        await #expect {
            _ = try await producer.send(Array("late".utf8), to: "nowhere")
        } throws: { error in
            "\(error)".contains("closed")
        }
    }

    @Test func aTokenSignsInWithScramAndAWrongOneIsRefused() async throws {
        let token = "fst_client_test"
        let credential = TokenCredential(
            name: "app", digest: Digests.sha256(token.utf8), scopes: [try TokenScope.parse("topic:*:admin").get()],
            scram: [ScramCredential.derive(.sha512, password: token)])
        try await withBroker(credentials: [credential]) { bootstrap, _ in
            func settings(_ password: String) -> [String: String] {
                [
                    "bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-512",
                    "sasl.username": "app", "sasl.password": password,
                ]
            }
            let producer = try KafkaProducerClient(settings: settings(token))
            defer { producer.close() }
            #expect(try await producer.send(Array("in".utf8), to: "signed").offset == 0)
            // A refused client retries until the message times out: 5 s here. The refusal is
            // reported as soon as the broker answers, and explains the sends that fail after it.
            let refused = try KafkaProducerClient(settings: settings("fst_wrong").merging(["message.timeout.ms": "5000"]) { $1 })
            defer { refused.close(timeout: .zero) }
            let first = Task { try await refused.send(Array("out".utf8), to: "signed") }
            try await eventually("the refused sign-in to be reported", within: .seconds(120)) {
                refused.lastClusterError?.contains("SASL authentication error: authentication failed") == true
            }
            await #expect(throws: KafkaClientError.self) { _ = try await first.value }
            await #expect {
                _ = try await refused.send(Array("again".utf8), to: "signed")
            } throws: { error in
                "\(error)".contains("the last error from the cluster: ") && "\(error)".contains("SASL authentication error: authentication failed")
            }
        }
    }
}
