import FirestreamFormats
import FirestreamGateway
public import FirestreamLog
public import KafkaWire

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
    private var readers: [Int: PartitionReader] = [:]

    public init(topic: Topic, partition: Int?, start: Start) throws(LogError) {
        self.topic = topic
        if let partition {
            _ = try topic.partition(partition)
            partitions = [partition]
        } else {
            partitions = Array(topic.partitions.indices)
        }
        let positions: StartPositions
        switch start {
        case .beginning: positions = StartPositions(rule: .earliest)
        case .offset(let offset): positions = StartPositions(rule: .offset(offset))
        case .last(let count): positions = StartPositions(rule: .last(Int64(count)))
        }
        for index in partitions {
            let log = topic.partitions[index]
            // The writer's retention may remove records before they are printed: say so, go on.
            readers[index] = PartitionReader(log, from: positions.start(in: log, index: index, now: wallClockMilliseconds()), whenRemoved: .skip)
        }
    }

    /// Records read in one pass over the followed partitions.
    public struct Piece {
        public var records: [(partition: Int, record: ConsumerRecord)] = []
        /// Offsets per partition that retention removed before they were read.
        public var skipped: [(partition: Int, offsets: Range<Int64>)] = []

        public var isEmpty: Bool { records.isEmpty && skipped.isEmpty }
    }

    /// The next records from the current positions: at most about `maxBytes` from each
    /// partition, so a long topic streams out in pieces instead of being loaded whole. Empty
    /// when every partition is read to its end.
    public mutating func next(maxBytes: Int = 1 << 20) throws(LogError) -> Piece {
        var piece = Piece()
        for index in partitions {
            guard var reader = readers[index] else { continue }
            let batch = try reader.poll(maxBytes: maxBytes)
            readers[index] = reader
            if let skipped = batch.skipped { piece.skipped.append((index, skipped)) }
            piece.records += batch.records.map { (index, $0) }
        }
        return piece
    }

    /// Waits until at least one followed partition has a record past its position (a read-only
    /// log is re-scanned every `interval`). False when the task was cancelled.
    public func waitForMore(interval: Duration = .milliseconds(200)) async -> Bool {
        let waiting = partitions.compactMap { index in
            readers[index].map { reader in
                var reader = reader
                reader.refreshInterval = interval
                return reader
            }
        }
        return await PartitionReader.waitForAny(waiting)
    }
}
