import Foundation
import Synchronization

/// A thread of its own that calls librdkafka's poll until stopped: its callbacks run there, never
/// on Swift's cooperative pool (a poll blocks for up to its timeout).
final class PollThread: Sendable {
    private let running = Atomic<Bool>(true)
    private let finished = DispatchSemaphore(value: 0)

    init(name: String, poll: @escaping @Sendable (_ running: () -> Bool) -> Void) {
        let thread = Thread { [self] in
            while running.load(ordering: .acquiring) { poll { self.running.load(ordering: .acquiring) } }
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Stops polling and waits for the thread's last poll to return.
    func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        finished.wait()
    }
}
