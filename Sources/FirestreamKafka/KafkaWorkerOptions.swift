/// How this process's apps use a Kafka cluster.
public struct KafkaWorkerOptions: Sendable {
    /// librdkafka settings for every client: `bootstrap.servers` and the cluster's security
    /// (`security.protocol`, `sasl.mechanism`, `sasl.username`, `sasl.password`, …).
    public var settings: [String: String]
    /// Each step's outputs, state changes and input offsets commit in one Kafka transaction
    /// (exactly once); off: outputs and state are flushed, then offsets committed (at least once,
    /// for clusters without transactions: a crash may repeat a step).
    public var exactlyOnce = true
    /// Kafka's `transaction.timeout.ms`: a worker silent this long has its transaction aborted.
    public var transactionTimeout: Duration = .seconds(60)
    /// How long one poll waits for records when there are none.
    public var idleWait: Duration = .milliseconds(100)
    /// Waits before a worker that lost its cluster connection or its group starts over.
    public var restartDelay: Duration = .seconds(2)
    /// How long a worker starting up waits for the cluster to answer (its topics).
    public var connectTimeout: Duration = .seconds(30)

    /// The project's name: the apps' groups, transactional ids and changelogs are named after
    /// it, so projects sharing a cluster do not share state.
    public var project: String

    public init(project: String, bootstrap: String, settings: [String: String] = [:]) {
        self.project = project
        self.settings = settings.merging(["bootstrap.servers": bootstrap]) { _, bootstrap in bootstrap }
    }

    /// The consumer group of `app`'s workers (their input offsets are committed there).
    public func group(of app: String) -> String { "firestream.\(project).\(app)" }

    /// The transactional id of `app`'s task for input partition `partition`: a new owner of the
    /// partition fences the previous one with it.
    public func transactionalID(of app: String, partition: Int) -> String { "firestream.\(project).\(app).\(partition)" }

    /// The topic holding `app`'s state (keys `s:<key>`) and timers (`t:<key>`), one partition
    /// per input partition; compacted where the cluster allows.
    public func changelog(of app: String) -> String { "\(project).\(app).changelog" }
}

/// Why an app cannot run on the cluster.
public struct KafkaWorkerError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
