import FirestreamLog
import KafkaWire

/// Reads a topic from a chosen position across its partitions, and follows it: for `topics tail`.
public struct TopicTail {
    /// Where reading starts in each partition.
    public enum Start: Equatable, Sendable {
        case beginning
        case offset(Int64)
        /// The last N records of each partition.
        case last(Int)
    }

    public let topic: Topic
    public let partitions: [Int]
    public private(set) var positions: [Int: Int64] = [:]

    public init(topic: Topic, partition: Int?, start: Start) throws(LogError) {
        self.topic = topic
        if let partition {
            _ = try topic.partition(partition)
            partitions = [partition]
        } else {
            partitions = Array(topic.partitions.indices)
        }
        for index in partitions {
            let log = topic.partitions[index]
            switch start {
            case .beginning: positions[index] = log.startOffset
            case .offset(let offset): positions[index] = min(max(offset, log.startOffset), log.durableOffset)
            case .last(let count): positions[index] = max(log.startOffset, log.durableOffset - Int64(count))
            }
        }
    }

    /// The next records from the current positions: at most about `maxBytes` from each
    /// partition, so a long topic streams out in pieces instead of being loaded whole. Empty
    /// when every partition is read to its end.
    public mutating func next(maxBytes: Int = 1 << 20) throws(LogError) -> [(partition: Int, record: ConsumerRecord)] {
        var out: [(partition: Int, record: ConsumerRecord)] = []
        for index in partitions {
            let log = topic.partitions[index]
            guard let position = positions[index], position < log.durableOffset else { continue }
            let fetched = try log.read(from: position, maxBytes: maxBytes)
            out += fetched.records.map { (index, $0) }
            positions[index] = fetched.nextOffset
        }
        return out
    }

    /// Waits until at least one followed partition has a record past its position. A read-only
    /// log (another process writes it) is re-scanned every `interval`; otherwise this waits on
    /// the log's own notifications. False when the task was cancelled.
    public func waitForMore(interval: Duration = .milliseconds(200)) async -> Bool {
        let logs = partitions.map { (topic.partitions[$0], positions[$0] ?? 0) }
        if logs.first?.0.readOnly == true {
            while !Task.isCancelled {
                for (log, position) in logs {
                    if (try? log.refresh()) ?? 0 > position { return true }
                }
                try? await Task.sleep(for: interval)
            }
            return false
        }
        return await withTaskGroup(of: Bool.self) { group in
            for (log, position) in logs { group.addTask { await log.waitForRecord(at: position) } }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
