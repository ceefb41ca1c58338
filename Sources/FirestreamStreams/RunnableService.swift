public import FirestreamLog
public import ServiceLifecycle

/// A ``Runnable`` (an app, a source, an effect) as a swift-service-lifecycle `Service`, so one
/// `ServiceGroup` runs everything `firestream up` runs.
///
/// Graceful shutdown cancels the runnable, which finishes its current step and makes its outputs
/// durable before returning. A failure is rethrown as ``RuntimeError/stopped(app:reason:)``; the
/// group then stops the others.
public struct RunnableService: Service {
    public let runnable: any Runnable
    public let storage: any RecordStorage

    public init(_ runnable: any Runnable, storage: any RecordStorage) {
        self.runnable = runnable
        self.storage = storage
    }

    public init(_ runnable: any Runnable, log: Log) { self.init(runnable, storage: EmbeddedStorage(log)) }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await runnable.run(storage) }
        } catch {
            // Stopping, as asked: a step cut short by cancellation ends this way.
            if error is CancellationError, Task.isCancelled || Task.isShuttingDownGracefully { return }
            throw RuntimeError.stopped(app: runnable.name, reason: "\(error)")
        }
    }
}
