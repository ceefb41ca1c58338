public import KafkaWire

/// Where a project's topics live: the embedded log (``EmbeddedStorage``) or a Kafka cluster
/// (`KafkaStorage` in FirestreamKafka). Sources, effects, the gateway and `topics` commands read
/// and write through this seam, so the same config runs on either.
///
/// Readers see committed records only (read_committed): no transaction markers, nothing aborted,
/// nothing past the last stable offset.
public protocol RecordStorage: Sendable {
    /// Where, for people: "the log in .firestream", "the Kafka cluster at host:9092".
    var location: String { get }
    /// The embedded log, when that is the storage: the exactly-once app runtime journals in it.
    /// Nil on a Kafka cluster, where apps run as workers (`FirestreamKafka`).
    var log: Log? { get }
    /// Every topic's name, internal ones included.
    func topicNames() async throws -> [String]
    /// The partition count of `topic`; nil when there is no such topic.
    func partitionCount(of topic: String) async throws -> Int?
    /// Creates `topic` unless it exists; its partition count either way.
    func ensureTopic(_ topic: String, partitions: Int) async throws -> Int
    /// Appends keyed records (partitioned by the murmur2 hash of the key, as Kafka's Java client
    /// does; keyless ones to partition 0) and returns each record's place, in input order, once all
    /// are durable.
    func append(_ records: [ProducerRecord], to topic: String) async throws -> [(partition: Int, offset: Int64)]
    /// The oldest offset and the stable end (the next offset a committed record would get).
    func bounds(of topic: String, partition: Int) async throws -> Range<Int64>
    /// The first offset whose record is stamped `timestamp` or later; nil when none is.
    func offset(of topic: String, partition: Int, atTimestamp timestamp: Int64) async throws -> Int64?
    /// A reader of one partition from `offset`.
    func cursor(on topic: String, partition: Int, from offset: Int64, whenRemoved: PartitionReader.RemovedRecords) async throws
        -> any RecordCursor
    /// The next offset `group` reads from `topic`/`partition`; nil when it committed none.
    func committed(group: String, topic: String, partition: Int) async throws -> Int64?
    /// Records `offset` as the next one `group` reads, durably.
    func commit(group: String, topic: String, partition: Int, offset: Int64) async throws
}

/// A failure of the storage itself (a cluster that does not answer, refuses or times out), not
/// of the request: the gateway answers it with 503 and this description.
public protocol StorageUnavailable: Error, CustomStringConvertible {}

/// One reader of one partition, used by one task at a time; ``close()`` frees what it holds.
public protocol RecordCursor: AnyObject, Sendable {
    /// The offset of the next record to read.
    var position: Int64 { get }
    /// The records readable now from the position, up to about `maxBytes` and at most
    /// `maxRecords` (at least one when there is one). Empty at the end.
    func poll(maxBytes: Int, maxRecords: Int) async throws -> PartitionReader.Batch
    /// Like ``poll(maxBytes:maxRecords:)``, but first waits for a record at the position: until
    /// one arrives, the storage closes, the task is cancelled, or `maxWait` (nil: no limit) passes.
    func next(maxBytes: Int, maxRecords: Int, maxWait: Duration?) async throws -> PartitionReader.Batch
    func close()
}

extension RecordCursor {
    public func poll(maxBytes: Int = 1 << 20) async throws -> PartitionReader.Batch { try await poll(maxBytes: maxBytes, maxRecords: .max) }
    public func next(maxBytes: Int = 1 << 20, maxRecords: Int = .max) async throws -> PartitionReader.Batch {
        try await next(maxBytes: maxBytes, maxRecords: maxRecords, maxWait: nil)
    }
}

extension RecordStorage {
    /// Calls `body` with each committed record of `topic`/`partition` from `offset` (or the
    /// oldest one left) up to the stable end as it is now.
    public func forEachRecord(of topic: String, partition: Int, from offset: Int64, _ body: (ConsumerRecord) throws -> Void) async throws {
        let end = try await bounds(of: topic, partition: partition).upperBound
        guard offset < end else { return }
        let cursor = try await cursor(on: topic, partition: partition, from: offset, whenRemoved: .skip)
        defer { cursor.close() }
        while cursor.position < end {
            let batch = try await cursor.poll(maxBytes: 4 << 20)
            if batch.isEmpty { return }
            for record in batch.records where record.offset < end { try body(record) }
        }
    }
}
