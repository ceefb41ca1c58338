import FirestreamLog
import KafkaWire

/// What a query asks of `records(topic)`, from the WHERE clause SQLite passes down: the bounds
/// the scan can use to read less. SQLite still checks every condition on the rows, so a bound
/// only has to be safe (never narrower than the condition), not exact.
struct RecordsPlan: Equatable {
    var topic: String?
    var partition: Int?
    /// Offsets to read: from `lowerOffset`, before `upperOffset`.
    var lowerOffset: Int64 = 0
    var upperOffset: Int64 = .max
    /// The oldest timestamp asked for: reading starts at the first record stamped this or later
    /// (the log's time index finds it). Newer bounds cannot stop a scan, since timestamps need not
    /// rise with offsets.
    var earliestTimestamp: Int64?
}

/// Reads the records a ``RecordsPlan`` selects, partition by partition in offset order, from the
/// log as it stands when the scan starts (records appended later are not seen).
final class RecordsScan {
    private let topics: RecordsCatalog
    private var ranges: [(partition: Int, log: PartitionLog, start: Int64, end: Int64)] = []
    private var reader: PartitionReader?
    private var buffer: [ConsumerRecord] = []
    private var index = 0
    private(set) var topic = ""
    private(set) var partition = 0
    private(set) var row: Int64 = 0

    init(topics: RecordsCatalog) { self.topics = topics }

    var current: ConsumerRecord? { index < buffer.count ? buffer[index] : nil }

    /// Positions the scan on the first selected record.
    func start(_ plan: RecordsPlan) throws(RecordsError) {
        guard let name = plan.topic else { throw .noTopic }
        let topic = try topics.topic(name)
        self.topic = name
        let indices: [Int]
        if let wanted = plan.partition {
            indices = topic.partitions.indices.contains(wanted) ? [wanted] : []
        } else {
            indices = Array(topic.partitions.indices)
        }
        ranges = []
        for partitionIndex in indices {
            let log = topic.partitions[partitionIndex]
            var lower = max(plan.lowerOffset, log.startOffset)
            if let earliest = plan.earliestTimestamp {
                do {
                    // No record stamped that late: nothing to read in this partition.
                    guard let offset = try log.offset(forTimestamp: earliest) else { continue }
                    lower = max(lower, offset)
                } catch { throw .log(error) }
            }
            let end = min(plan.upperOffset, log.lastStableOffset)
            if lower < end { ranges.append((partitionIndex, log, lower, end)) }
        }
        buffer = []
        index = 0
        reader = nil
        try advance()
    }

    /// Moves to the next record; ``current`` is nil at the end.
    func advance() throws(RecordsError) {
        if !buffer.isEmpty {
            index += 1
            row += 1
        }
        while index >= buffer.count {
            buffer = []
            index = 0
            if reader == nil {
                guard let next = ranges.first else { return }
                reader = PartitionReader(next.log, from: next.start, whenRemoved: .skip)
                partition = next.partition
            }
            guard var open = reader, let range = ranges.first else { return }
            let batch: PartitionReader.Batch
            do { batch = try open.poll(maxBytes: 1 << 20) } catch { throw .log(error) }
            reader = open
            buffer = batch.records.filter { $0.offset < range.end }
            topics.recordsRead.withLock { $0 += buffer.count }
            if batch.isEmpty || open.position >= range.end {
                ranges.removeFirst()
                reader = nil
            }
        }
    }
}

/// The topics `records()` may read: the log, and who may read what.
struct RecordsCatalog: Sendable {
    let log: Log
    /// Whether the query's caller may read a topic (the gateway's access rules).
    let mayRead: @Sendable (String) -> Bool
    /// How many records the query's scans read from the log (what bounds saved shows here).
    let recordsRead = Locked(0)

    func topic(_ name: String) throws(RecordsError) -> Topic {
        guard let topic = log.topicIfExists(name) else {
            let visible = log.topicNames.filter { !$0.hasPrefix("__") && mayRead($0) }
            throw .unknownTopic(name, known: visible)
        }
        guard mayRead(name) else { throw .forbidden(name) }
        return topic
    }
}

/// Why `records()` cannot be read; the message is the SQL error.
enum RecordsError: Error, CustomStringConvertible {
    case noTopic
    case unknownTopic(String, known: [String])
    case forbidden(String)
    case log(LogError)

    var description: String {
        switch self {
        case .noTopic: return "records() needs a topic name, as in records('wiener')"
        case .unknownTopic(let name, let known):
            let list = known.isEmpty ? "there are no topics yet" : "topics: " + known.joined(separator: ", ")
            return "records('\(name)'): no such topic (\(list))"
        case .forbidden(let name): return "records('\(name)'): this token may not read topic \"\(name)\""
        case .log(let error): return "reading the log: \(error)"
        }
    }
}
