public import Foundation
public import KafkaWire

/// A named topic: its settings and its partitions.
public final class Topic: Sendable {
    public let name: String
    /// Stable across restarts, new for a topic deleted and created again (Kafka's topic id).
    public let id: UUID
    public let settings: PartitionSettings
    public let partitions: [PartitionLog]

    init(name: String, id: UUID, settings: PartitionSettings, partitions: [PartitionLog]) {
        self.name = name
        self.id = id
        self.settings = settings
        self.partitions = partitions
    }

    /// The partition Kafka's default partitioner would choose for `key`; keyless records go to 0.
    public func partition(forKey key: [UInt8]?) -> Int {
        guard let key else { return 0 }
        return Murmur2.partition(for: key, partitions: partitions.count)
    }

    public func partition(_ index: Int) throws(LogError) -> PartitionLog {
        guard partitions.indices.contains(index) else { throw LogError.unknownPartition(topic: name, partition: index) }
        return partitions[index]
    }

    /// Appends keyed records, grouping them per partition (one batch each), and returns each
    /// record's (partition, offset) in input order once all are durable.
    public func append(_ records: [ProducerRecord]) async throws(LogError) -> [(partition: Int, offset: Int64)] {
        var groups: [Int: [Int]] = [:]
        for (index, record) in records.enumerated() { groups[partition(forKey: record.key), default: []].append(index) }
        var placed = [(partition: Int, offset: Int64)](repeating: (0, 0), count: records.count)
        var waits: [(PartitionLog, Int64)] = []
        for (partitionIndex, indices) in groups.sorted(by: { $0.key < $1.key }) {
            var writer = ByteWriter(capacity: 64 * indices.count)
            RecordBatch.encode(indices.map { records[$0] }, into: &writer)
            let log = partitions[partitionIndex]
            let appended = try log.appendBatch(&writer.bytes)
            for (position, index) in indices.enumerated() { placed[index] = (partitionIndex, appended.first + Int64(position)) }
            waits.append((log, appended.last + 1))
        }
        for (log, offset) in waits { try await log.waitUntilDurable(offset) }
        return placed
    }

    /// Total durable records across partitions (end minus start offsets).
    public var recordCount: Int64 { partitions.reduce(0) { $0 + $1.durableOffset - $1.startOffset } }
}
