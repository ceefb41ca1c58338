public import FirestreamLog
public import FirestreamStreams

/// A stream app's worker as a ``Runnable``, so `firestream up` on a Kafka cluster runs its apps
/// beside its sources, effects and gateway. The worker uses its own clients (its options name the
/// cluster); the storage `run` is given is not used.
public struct KafkaWorkerRunnable<App: StreamApp>: Runnable {
    public let worker: KafkaAppWorker<App>
    let owned: [String: String]
    let used: [String: String]

    public init(_ runner: AppRunner<App>, options: KafkaWorkerOptions) {
        worker = KafkaAppWorker(runner, options: options)
        owned = runner.ownedTopics
        used = runner.usedTopics
    }

    public var name: String { worker.app.name }
    public var role: RunnableRole { .app }
    public var counters: AppCounters { worker.counters }
    public var ownedTopics: [String: String] { owned }
    public var usedTopics: [String: String] { used }
    public var summary: String { worker.summary }
    public var status: String { worker.status }
    public var isReady: Bool { worker.isReady }

    /// The worker checks and creates its topics itself when it starts.
    public func prepare(_ storage: any RecordStorage) async throws {}

    public func run(_ storage: any RecordStorage) async throws { try await worker.run() }
}

extension StreamAppRunnable {
    /// This app as a worker on the cluster `options` names.
    public func kafkaWorker(options: KafkaWorkerOptions) -> any Runnable { KafkaWorkerRunnable(appRunner, options: options) }
}
