import ArgumentParser
import FirestreamConfig
import FirestreamKafka
import Foundation

/// Which Kafka cluster a command uses instead of the embedded log: `--kafka` and
/// `--kafka-setting`, over the config's `kafka.bootstrap` and `kafka.security`. Shared by `up`,
/// `worker` and `topics`.
struct ClusterAddress: ParsableArguments {
    @Option(name: .long, help: "A Kafka cluster's bootstrap servers, host:port[,host:port…] (default: kafka.bootstrap in the config).")
    var kafka: String?

    @Option(name: .customLong("kafka-setting"), help: "A librdkafka setting for every client, name=value (repeatable).")
    var kafkaSettings: [String] = []

    func validate() throws {
        if let kafka,
            kafka.isEmpty || !kafka.split(separator: ",", omittingEmptySubsequences: false).allSatisfy({ KafkaListener(parsing: String($0)) != nil })
        {
            throw ValidationError("--kafka must be host:port[,host:port…], not \"\(kafka)\"")
        }
        _ = try extraSettings()
    }

    private func extraSettings() throws -> [String: String] {
        var settings: [String: String] = [:]
        for entry in kafkaSettings {
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("--kafka-setting must be name=value, not \"\(entry)\"") }
            settings[String(parts[0])] = String(parts[1])
        }
        return settings
    }

    /// The bootstrap servers from `--kafka` or the config; nil when neither names a cluster.
    func bootstrap(_ config: ProjectConfig) -> String? {
        kafka ?? (config.kafka.bootstrap.isEmpty ? nil : config.kafka.bootstrap.map(\.description).joined(separator: ","))
    }

    /// librdkafka settings for the cluster: security from the config, then `--kafka-setting`s.
    /// Exits with the reason when the config's security cannot be met (a password variable not set).
    func settings(_ config: ProjectConfig) throws -> [String: String] {
        var settings: [String: String]
        switch config.kafka.security.settings(environment: ProcessInfo.processInfo.environment) {
        case .success(let security): settings = security
        case .failure(let problem):
            printError("error: \(problem)")
            throw ExitCode.failure
        }
        settings.merge(try extraSettings()) { _, given in given }
        return settings
    }

    /// The cluster as storage; nil when no cluster is named.
    func storage(_ config: ProjectConfig) throws -> KafkaStorage? {
        guard let bootstrap = bootstrap(config) else { return nil }
        return try KafkaStorage(bootstrap: bootstrap, settings: try settings(config))
    }
}

/// The cluster and how apps run on it, for `up` and `worker`.
struct ClusterArguments: ParsableArguments {
    @OptionGroup var address: ClusterAddress

    @Flag(help: "Apps commit offsets after outputs instead of in one transaction (clusters without transactions).")
    var atLeastOnce = false

    @Option(help: "Seconds to wait for the cluster to answer at start-up before giving up.")
    var connectTimeout: Int = 30

    func validate() throws {
        if !(1...3600).contains(connectTimeout) { throw ValidationError("--connect-timeout must be between 1 and 3600 seconds") }
    }

    /// How this project's clients use the cluster; nil when no cluster is named.
    func options(_ config: ProjectConfig) throws -> KafkaWorkerOptions? {
        guard let bootstrap = address.bootstrap(config) else { return nil }
        var options = KafkaWorkerOptions(project: config.name, bootstrap: bootstrap, settings: try address.settings(config))
        options.exactlyOnce = config.kafka.exactlyOnce && !atLeastOnce
        options.connectTimeout = .seconds(connectTimeout)
        return options
    }
}
