public import KafkaWire

/// The embedded log as a ``RecordStorage``: topics in the data directory, group offsets in its
/// `groups/`, cursors that are ``PartitionReader``s.
public struct EmbeddedStorage: RecordStorage {
    public let embedded: Log

    public init(_ log: Log) { embedded = log }

    public var location: String { "the log in \(embedded.directory)" }
    public var log: Log? { embedded }

    public func topicNames() async throws -> [String] { embedded.topicNames }

    public func partitionCount(of topic: String) async throws -> Int? { embedded.topicIfExists(topic)?.partitions.count }

    public func ensureTopic(_ topic: String, partitions: Int) async throws -> Int {
        if let existing = embedded.topicIfExists(topic) { return existing.partitions.count }
        // Creating a topic fsyncs its metadata and directories: not on a cooperative thread.
        let log = embedded
        return try await BlockingIO.run { () throws(LogError) in try log.ensureTopic(topic, partitions: partitions).partitions.count }
    }

    public func append(_ records: [ProducerRecord], to topic: String) async throws -> [(partition: Int, offset: Int64)] {
        try await embedded.topic(topic).append(records)
    }

    public func bounds(of topic: String, partition: Int) async throws -> Range<Int64> {
        let log = try embedded.topic(topic).partition(partition)
        return log.startOffset..<max(log.startOffset, log.lastStableOffset)
    }

    public func offset(of topic: String, partition: Int, atTimestamp timestamp: Int64) async throws -> Int64? {
        try embedded.topic(topic).partition(partition).offset(forTimestamp: timestamp)
    }

    public func cursor(on topic: String, partition: Int, from offset: Int64, whenRemoved: PartitionReader.RemovedRecords) async throws
        -> any RecordCursor
    {
        ReaderCursor(PartitionReader(try embedded.topic(topic).partition(partition), from: offset, whenRemoved: whenRemoved))
    }

    public func committed(group: String, topic: String, partition: Int) async throws -> Int64? {
        embedded.consumerOffsets.committed(group: group, topic: topic, partition: partition)
    }

    public func commit(group: String, topic: String, partition: Int, offset: Int64) async throws {
        try await embedded.consumerOffsets.commit(group: group, topic: topic, partition: partition, offset: offset)
    }
}

/// A ``PartitionReader`` as a ``RecordCursor``.
public final class ReaderCursor: RecordCursor, @unchecked Sendable {
    // One task at a time uses a cursor (the protocol's contract).
    private var reader: PartitionReader

    public init(_ reader: PartitionReader) { self.reader = reader }

    public var position: Int64 { reader.position }
    public var partition: PartitionLog { reader.partition }

    public func poll(maxBytes: Int, maxRecords: Int) async throws -> PartitionReader.Batch {
        try reader.poll(maxBytes: maxBytes, maxRecords: maxRecords)
    }

    public func next(maxBytes: Int, maxRecords: Int, maxWait: Duration?) async throws -> PartitionReader.Batch {
        var reader = self.reader
        defer { self.reader = reader }
        return try await reader.next(maxBytes: maxBytes, maxRecords: maxRecords, maxWait: maxWait)
    }

    public func close() {}
}
