public import FirestreamConfig
import FirestreamConnectors
import FirestreamFormats
public import FirestreamGateway
import FirestreamJSON
public import FirestreamKafka
public import FirestreamLog
import FirestreamStreams
import FirestreamWarehouse
import Foundation
import KafkaBroker
import Logging
import ServiceLifecycle
public import UnixSignals

/// Everything `firestream up` runs in one process: the log in the project's data directory, the
/// project's topics, and its apps (the built-in demo when it declares none).
public struct EmbeddedStack: Sendable {
    public struct Options: Sendable {
        public var dataDirectory: String
        public var durability: DurabilityPolicy
        /// The app kinds this stack can run.
        public var catalog: AppCatalog
        public var overrides: AppCatalog.Overrides
        /// Seconds between status lines (0: none).
        public var statusInterval: Int
        /// The HTTP gateway; nil runs without one.
        public var gateway: Gateway.Options?
        /// The Kafka listener; nil runs without one (the config's `kafka` with command-line
        /// overrides, as `up` builds it).
        public var kafka: KafkaConfig?
        /// The Kafka cluster to run on instead of the embedded log (`up --kafka`): sources append
        /// to its topics, apps run as workers of their consumer groups, effects and the gateway
        /// read it. Nil: the embedded log in `dataDirectory`.
        public var cluster: KafkaWorkerOptions?
        /// Off: no apps, sources or effects (not even the demo): the log, its Kafka listener and
        /// the gateway only, a local cluster for workers and `up --kafka` (`up --no-apps`).
        public var runsProject = true
        /// `airflow standalone` beside the stack (`up --with airflow`); it needs the gateway.
        public var airflow: AirflowOptions?
        /// Signals that stop the stack gracefully (a second one exits at once); none: it stops
        /// when the calling task is cancelled.
        public var stopSignals: [UnixSignal]

        public init(
            dataDirectory: String, durability: DurabilityPolicy = .default, catalog: AppCatalog = .standard,
            overrides: AppCatalog.Overrides = .init(),
            statusInterval: Int = 10, gateway: Gateway.Options? = Gateway.Options(), kafka: KafkaConfig? = nil, cluster: KafkaWorkerOptions? = nil,
            stopSignals: [UnixSignal] = []
        ) {
            self.cluster = cluster
            self.dataDirectory = dataDirectory
            self.durability = durability
            self.catalog = catalog
            self.overrides = overrides
            self.statusInterval = statusInterval
            self.gateway = gateway
            self.kafka = kafka
            self.stopSignals = stopSignals
        }
    }

    public let config: ProjectConfig
    public let options: Options

    public init(config: ProjectConfig, options: Options) {
        self.config = config
        self.options = options
    }

    /// The apps that will run: the config's enabled apps, or the demo when it declares no apps,
    /// sources or effects; none with `runsProject` off.
    public var apps: [AppConfig] { options.runsProject ? AppCatalog.apps(of: config) : [] }

    /// Runs until a stop signal or the calling task's cancellation, then lets every app finish its
    /// step, waits for outputs to be durable, and closes the log. `report` receives progress lines.
    public func run(report: @escaping @Sendable (String) -> Void) async throws {
        if let gateway = options.gateway, !AccessPolicy.isLoopbackAddress(gateway.host), config.gateway.tokens.isEmpty {
            throw StackError(
                "refusing to listen on \(gateway.host) without authentication: anyone who can reach it could read and write every topic. "
                    + "Declare tokens under gateway.tokens in the config (firestream token create --name NAME --scope 'topic:*:read'), or listen on 127.0.0.1"
            )
        }
        if let cluster = options.cluster {
            try await runOnCluster(cluster, report: report)
            return
        }
        let lock = try DataDirectoryLock(directory: options.dataDirectory)
        try checkOpenFiles()
        try checkKafkaListener()
        let log = try Log(directory: options.dataDirectory, durability: options.durability)
        defer {
            log.close()
            withExtendedLifetime(lock) {}
        }
        for note in log.recoveryNotes { report("recovered \(note)") }
        for topic in config.topics {
            let settings = PartitionSettings(
                retentionMilliseconds: topic.retention.time?.milliseconds, retentionBytes: topic.retention.bytes.map(\.wholeUnits))
            _ = try log.ensureTopic(topic.name, partitions: topic.partitions, settings: settings)
        }
        let warehouse = try await startWarehouse(log: log, report: report)
        defer { warehouse.managed?.stop() }
        let runnables =
            try apps.map { try options.catalog.runnable(for: $0, project: config.name, overrides: options.overrides) }
            + connectors(environment: ProcessInfo.processInfo.environment, report: report, tableStore: warehouse.tableStore)
        do {
            try await serve(
                runnables, storage: EmbeddedStorage(log), where: "\(options.dataDirectory) (durability: \(describe(options.durability)))",
                queries: warehouse.queries, report: report)
        } catch {
            await warehouse.tableStore.close()
            throw error
        }
        await warehouse.tableStore.close()
    }

    /// Prepares the runnables' topics, then runs them, the gateway and (on the embedded log) the
    /// Kafka listener in one service group until stopped.
    func serve(
        _ runnables: [any Runnable], storage: any RecordStorage, where location: String, queries: (any QueryEngine)? = nil,
        report: @escaping @Sendable (String) -> Void
    ) async throws {
        let signatures = try signatureChecks(environment: ProcessInfo.processInfo.environment)
        for runnable in runnables { try await runnable.prepare(storage) }

        report("Firestream \(FirestreamVersion.current) — project \"\(config.name)\"")
        report("  data:   \(location)")
        report("  topics: \(try await storage.topicNames().filter { !$0.hasPrefix("__") && !$0.hasPrefix("_") }.joined(separator: ", "))")
        for runnable in runnables { report("  app:    \(runnable.summary)") }

        // One group runs everything. Graceful shutdown goes in reverse order: the gateway stops
        // taking requests, then sources stop, apps finish their steps, effects stop, and last
        // the housekeeping and the stop notice.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        // Airflow signs in with a token of its own when the gateway needs one (never stored).
        let airflowToken = options.airflow != nil && !config.gateway.tokens.isEmpty ? AccessToken.generate() : nil
        let gatewayURL = AsyncStream<String>.makeStream()
        if !options.stopSignals.isEmpty {
            services.append(.init(service: StopNotice(signals: options.stopSignals, report: report)))
        }
        services.append(
            .init(
                service: Housekeeping(
                    log: storage.log, statusInterval: options.statusInterval,
                    greeting: options.gateway == nil ? "Running. Press Ctrl-C to stop." : nil, status: { status(runnables) }, report: report),
                successTerminationBehavior: .ignore))
        let ordered = runnables.filter { $0.role == .effect } + runnables.filter { $0.role == .app } + runnables.filter { $0.role == .source }
        // A runnable that ends (a finite source) leaves the rest running.
        services += ordered.map { .init(service: RunnableService($0, storage: storage, report: report), successTerminationBehavior: .ignore) }
        if let log = storage.log, let kafka = kafkaListener() {
            services.append(.init(service: kafkaServer(kafka, log: log, runnables: runnables, report: report)))
        }
        if let gatewayOptions = options.gateway {
            let gateway = makeGateway(
                gatewayOptions, storage: storage, runnables: runnables, signatures: signatures, queries: queries, extraToken: airflowToken)
            services.append(
                .init(
                    service: GatewayService(gateway: gateway) { port in
                        let auth =
                            config.gateway.tokens.isEmpty ? "open: no tokens, loopback only" : "\(config.gateway.tokens.count) token(s) required"
                        let host = gatewayOptions.host
                        report("  http:   http://\(host == "0.0.0.0" ? "localhost" : host):\(port) (listening on \(host); \(auth))")
                        report("Running. Press Ctrl-C to stop.")
                        gatewayURL.continuation.yield(AirflowOptions.gatewayURL(host: host, port: port))
                    }))
        }
        if let airflow = options.airflow {
            // After the gateway: a graceful shutdown stops Airflow before the gateway it talks to.
            services.append(
                .init(
                    service: AirflowStandalone(options: airflow, gatewayURL: gatewayURL.stream, token: airflowToken, report: report),
                    successTerminationBehavior: .ignore))
        }
        let quiet = Logger(label: "firestream.services") { _ in SwiftLogNoOpLogHandler() }
        try await ServiceGroup(
            configuration: ServiceGroupConfiguration(services: services, gracefulShutdownSignals: options.stopSignals, logger: quiet)
        ).run()
        report("Stopped: every app finished its step and its outputs are durable. \(status(runnables))")
    }

    private func makeGateway(
        _ options: Gateway.Options, storage: any RecordStorage, runnables: [any Runnable], signatures: [String: WebhookSignature],
        queries: (any QueryEngine)?, extraToken: String? = nil
    ) -> Gateway {
        var access = AccessPolicy(config.gateway, protectedTopics: owned(by: runnables).owned)
        if let extraToken {
            access.tokens.append(TokenCredential(name: "airflow", digest: Digests.sha256(extraToken.utf8), scopes: [TokenScope(.everything)]))
        }
        let keyPointers = Dictionary(
            uniqueKeysWithValues: config.topics.compactMap { topic in topic.key.flatMap(JSONPointer.init).map { (topic.name, $0) } })
        return Gateway(
            storage: storage, options: options, keyPointers: keyPointers, signatures: signatures,
            access: access,
            appPositions: {
                runnables.flatMap { runnable in
                    runnable.counters.inputPositions.map {
                        GatewayMetrics.AppPosition(app: runnable.name, topic: $0.key.topic, partition: $0.key.partition, next: $0.value)
                    }
                }
            },
            unready: { runnables.filter { !$0.isReady }.map(\.name) },
            queries: queries ?? storage.log.map { SQLiteQueryEngine(log: $0, tablesPath: WarehouseFiles.tables(in: self.options.dataDirectory)) },
            catalog: storage.log.map { catalogBuilder(log: $0, tableQueries: queries) })
    }

    /// Topics only the runtime writes: the apps' outputs, dead letters and journals.
    func owned(by runnables: [any Runnable]) -> TopicProtection {
        TopicProtection(owned: runnables.reduce(into: [String: String]()) { all, runnable in all.merge(runnable.ownedTopics) { first, _ in first } })
    }

    /// Problems that would stop `up` on this machine although the config is valid (`validate`
    /// reports them too): too many partitions for the open-file limit.
    public static func machineProblems(_ config: ProjectConfig) -> [String] {
        let stack = EmbeddedStack(config: config, options: Options(dataDirectory: ""))
        let needed = FileDescriptorBudget.needed(for: config, apps: stack.apps)
        return [FileDescriptorBudget.problem(needing: needed, limit: FileDescriptorBudget.limits.hard)].compactMap { $0 }
    }

    /// Raises the open-file limit and checks that the log fits in it, before opening anything.
    private func checkOpenFiles() throws {
        let limit = FileDescriptorBudget.raiseLimit()
        let declared = FileDescriptorBudget.needed(for: config, apps: apps)
        let existing = FileDescriptorBudget.onDisk(dataDirectory: options.dataDirectory)
        // On disk: sealed segments beyond the one counted per partition, and partitions the
        // config does not declare (auto-created topics).
        let sealed = max(0, existing.descriptors - 3 * existing.partitions - existing.partitions)
        let undeclared = max(0, existing.partitions - declared.partitions)
        let needed = (declared.descriptors + sealed + 4 * undeclared, declared.partitions + undeclared)
        if let problem = FileDescriptorBudget.problem(needing: needed, limit: limit) { throw StackError(problem) }
    }

    /// The config's enabled sources and effects, and its declared tables.
    func connectors(environment: Environment, report: @escaping @Sendable (String) -> Void, tableStore: (any TableStore)? = nil) throws
        -> [any Runnable]
    {
        var runnables: [any Runnable] = []
        guard options.runsProject else { return runnables }
        for source in config.sources where source.enabled {
            switch source.kind {
            case .websocket: runnables.append(WebSocketSource(.init(source), report: report))
            case .rest: runnables.append(RestPollingSource(.init(source), report: report))
            }
        }
        for effect in config.effects where effect.enabled {
            runnables.append(WebhookEffect(try .init(effect, environment: environment), report: report))
        }
        if !config.tables.isEmpty {
            let store = tableStore ?? SQLiteTableStore(path: WarehouseFiles.tables(in: options.dataDirectory))
            runnables += config.tables.map { TableSink(TableDefinition($0), store: store, report: report) }
        }
        return runnables
    }

    /// The signatures the config's topics require, with their secrets read from `environment`.
    func signatureChecks(environment: Environment) throws -> [String: WebhookSignature] {
        var checks: [String: WebhookSignature] = [:]
        for topic in config.topics {
            guard let signature = topic.signature else { continue }
            checks[topic.name] = try WebhookSignature(signature, environment: environment, owner: "topics \"\(topic.name)\"")
        }
        return checks
    }

    private func status(_ runnables: [any Runnable]) -> String {
        runnables.map(\.status).joined(separator: "; ")
    }

    private func describe(_ policy: DurabilityPolicy) -> String {
        switch policy {
        case .groupCommit(let window): window == .zero ? "fsync, group commit" : "fsync, group commit window \(window)"
        case .osBuffered: "OS-buffered, no fsync"
        }
    }
}

/// A problem with the project that stops `up` before anything runs.
public struct StackError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
