import FirestreamConfig
import FirestreamFormats
import FirestreamKafka
import FirestreamStreams
import Foundation

extension EmbeddedStack {
    /// `up` on a Kafka cluster: the config's topics are created there (with their partitions and
    /// retention), stream apps run as workers of their consumer groups, and sources, effects and
    /// the gateway use the cluster through ``KafkaStorage``. No data directory, no Kafka listener.
    func runOnCluster(_ cluster: KafkaWorkerOptions, report: @escaping @Sendable (String) -> Void) async throws {
        let storage = try KafkaStorage(bootstrap: cluster.settings["bootstrap.servers"] ?? "", settings: cluster.settings)
        do {
            try await storage.waitForCluster(within: cluster.connectTimeout)
        } catch {
            throw StackError("\(error) (waited \(cluster.connectTimeout); --connect-timeout sets how long)")
        }
        for topic in config.topics {
            var configs: [String: String] = [:]
            if let time = topic.retention.time?.milliseconds { configs["retention.ms"] = "\(time)" }
            if let bytes = topic.retention.bytes?.wholeUnits { configs["retention.bytes"] = "\(bytes)" }
            _ = try await storage.ensureTopic(topic.name, partitions: topic.partitions, configs: configs)
        }
        let apps = try self.apps.map { app -> any Runnable in
            let runnable = try options.catalog.runnable(for: app, project: config.name, overrides: options.overrides)
            // A stream app runs as a worker; another kind of runnable uses the storage as it is.
            return (runnable as? any StreamAppRunnable)?.kafkaWorker(options: cluster) ?? runnable
        }
        let runnables = apps + (try connectors(environment: ProcessInfo.processInfo.environment, report: report))
        try await serve(
            runnables, storage: storage, where: "\(storage.location) (\(cluster.exactlyOnce ? "apps exactly once" : "apps at least once"))",
            report: report)
    }
}
