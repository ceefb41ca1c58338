import Foundation

/// The group-commit thread: syncs every partition with unsynced appends, one pass after another.
/// Appends that arrive while a pass runs are covered by the next one, so one fsync serves many
/// producers under load. It also does the log's other blocking file work: producer snapshots of
/// new segments, and unlinking removed segments. It is a dedicated thread because fsync blocks,
/// and blocking one of the two cooperative threads would stall every task.
final class Flusher: @unchecked Sendable {
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var pending: [ObjectIdentifier: PartitionLog] = [:]
    private var stopping = false
    private var finished = false
    private let window: Duration
    /// False for OS-buffered durability: the passes write metadata but sync no data.
    private let fsync: Bool
    /// Number of completed sync passes, for metrics and tests.
    private(set) var passes = 0

    init(window: Duration, fsync: Bool) {
        self.window = window
        self.fsync = fsync
        let thread = Thread { [self] in run() }
        thread.name = "firestream-flusher"
        thread.start()
    }

    /// Asks for `partition` to be synced in the next pass.
    func schedule(_ partition: PartitionLog) {
        condition.lock()
        pending[ObjectIdentifier(partition)] = partition
        condition.signal()
        condition.unlock()
    }

    /// Runs a final pass for everything scheduled, then stops the thread.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopping { condition.wait() }
            if pending.isEmpty && stopping {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.unlock()
            if window > .zero {
                let (seconds, attoseconds) = window.components
                Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
            }
            condition.lock()
            let batch = pending
            pending.removeAll()
            condition.unlock()
            for partition in batch.values { partition.syncPending(fsync: fsync) }
            condition.lock()
            passes += 1
            condition.unlock()
        }
    }
}
