public import FirestreamLog
public import ServiceLifecycle

/// A ``Runnable`` (an app, a source, an effect) as a swift-service-lifecycle `Service`, so one
/// `ServiceGroup` runs everything `firestream up` runs.
///
/// Graceful shutdown cancels the runnable, which finishes its current step and makes its outputs
/// durable before returning. When the storage itself fails (``StorageUnavailable``: a Kafka
/// cluster that stopped answering), the runnable is started again after a pause (1 s, doubling to
/// 30 s): sources and effects resume from what the storage holds. Any other failure is rethrown as
/// ``RuntimeError/stopped(app:reason:)``; the group then stops the others.
/// ``RestartableFailure``s (a child process that died) are started again the same way.
public struct RunnableService: Service {
    public let runnable: any Runnable
    public let storage: any RecordStorage
    let report: @Sendable (String) -> Void

    public init(_ runnable: any Runnable, storage: any RecordStorage, report: @escaping @Sendable (String) -> Void = { _ in }) {
        self.runnable = runnable
        self.storage = storage
        self.report = report
    }

    public init(_ runnable: any Runnable, log: Log) { self.init(runnable, storage: EmbeddedStorage(log)) }

    public func run() async throws {
        var failures = 0
        while true {
            let started = ContinuousClock.now
            do {
                try await cancelWhenGracefulShutdown { try await runnable.run(storage) }
                return
            } catch let unavailable where unavailable is any StorageUnavailable || unavailable is any RestartableFailure {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                // A run that lasted a while starts the pauses over.
                failures = ContinuousClock.now - started > .seconds(60) ? 1 : failures + 1
                let pause = Duration.seconds(min(30, 1 << min(failures - 1, 5)))
                report("\(runnable.name): \(unavailable); starting it again in \(pause)")
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
                } catch {
                    return
                }
            } catch {
                // Stopping, as asked: a step cut short by cancellation ends this way.
                if error is CancellationError, Task.isCancelled || Task.isShuttingDownGracefully { return }
                throw RuntimeError.stopped(app: runnable.name, reason: "\(error)")
            }
        }
    }
}

/// A failure of something a runnable depends on that may pass, such as a worker process that
/// died: the runnable is started again after a pause, as when the storage is unavailable.
public protocol RestartableFailure: Error, CustomStringConvertible {}
