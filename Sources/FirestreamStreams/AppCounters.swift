public import FirestreamLog
public import Synchronization

/// Live counters of a running app, read by `firestream up` for its status line.
public final class AppCounters: Sendable {
    public let records = Atomic<Int>(0)
    public let outputs = Atomic<Int>(0)
    public let deadLetters = Atomic<Int>(0)
    public let steps = Atomic<Int>(0)
    public let timeouts = Atomic<Int>(0)
    /// The next input offset each task will read, by input partition (for lag in `/metrics`).
    private let positions = Locked<[InputPosition: Int64]>([:])

    public struct InputPosition: Hashable, Sendable {
        public var topic: String
        public var partition: Int
    }

    public init() {}

    /// Where the app stands in each of its input partitions.
    public var inputPositions: [InputPosition: Int64] { positions.withLock { $0 } }

    public func record(position: Int64, topic: String, partition: Int) {
        positions.withLock { $0[InputPosition(topic: topic, partition: partition)] = position }
    }
}
