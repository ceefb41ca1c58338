import Dispatch
public import FirestreamLog
import KafkaClient
public import KafkaWire

/// A Kafka cluster as a ``RecordStorage``: what `firestream up --kafka` gives its sources,
/// effects and gateway. Appends go through one idempotent producer (acks=all, the murmur2
/// partitioner of Kafka's Java client, keyless records to partition 0, as on the embedded log);
/// each cursor is a read_committed consumer of its own; group offsets are committed as Kafka
/// consumer groups without joining them. librdkafka's blocking calls run on a queue of their own,
/// never on the cooperative pool.
public final class KafkaStorage: RecordStorage, Sendable {
    public let bootstrap: String
    /// librdkafka settings every client gets: bootstrap servers and security.
    public let settings: [String: String]
    private let producer: KafkaProducerClient
    /// Metadata, topic creation, offsets: one blocking caller at a time.
    private let admin: Locked<(admin: KafkaAdmin, offsets: BlockingConsumer)>
    /// A consumer per group that committed through this storage (not members: they only commit).
    private let groups = Locked<[String: BlockingConsumer]>([:])
    /// Partition counts, asked for again after `metadataMaxAge`.
    private let counts = Locked<(counts: [String: Int], at: ContinuousClock.Instant)?>(nil)
    private let metadataMaxAge: Duration = .seconds(2)
    let timeout: Duration

    static let queue = DispatchQueue(label: "firestream-kafka-storage", attributes: .concurrent)

    /// Connects lazily: nothing is asked of the cluster until the first call. `timeout` bounds
    /// each request (a gateway request waits at most about that for an unreachable cluster).
    public init(bootstrap: String, settings: [String: String] = [:], timeout: Duration = .seconds(10)) throws {
        self.bootstrap = bootstrap
        self.settings = settings.merging(["bootstrap.servers": bootstrap]) { _, bootstrap in bootstrap }
        self.timeout = timeout
        producer = try KafkaProducerClient(
            settings: self.settings.merging([
                "enable.idempotence": "true", "partitioner": "murmur2_random",
                // An append the cluster cannot take fails within 30 s (librdkafka's default is 300 s).
                "message.timeout.ms": "30000",
            ]) { given, _ in given })
        admin = Locked(
            (
                try KafkaAdmin(settings: self.settings),
                try BlockingConsumer(settings: self.settings.merging(["isolation.level": "read_committed"]) { ours, _ in ours })
            ))
    }

    deinit {
        producer.close()
        // A call stuck in librdkafka (a cluster gone) holds the lock: then the clients are left to
        // the process's end rather than freed under it.
        _ = admin.withLockIfAvailable { clients in
            clients.offsets.close()
            clients.admin.close()
        }
        let consumers = groups.withLock { Array($0.values) }
        Self.queue.async { for consumer in consumers { consumer.close() } }
    }

    public var location: String { "the Kafka cluster at \(bootstrap)" }
    public var log: Log? { nil }

    /// How long a caller waits for one blocking call, whatever librdkafka does with its own
    /// timeout (with the cluster gone, a watermark query was seen to block for minutes): past it
    /// the caller gets an error and the call finishes, or not, on the storage's queue.
    static let callLimit: Duration = .seconds(20)

    /// `work` on the storage's queue; librdkafka's errors come back as ``KafkaStorageError``s
    /// naming `location` (the log's own errors, such as an offset out of range, as they are).
    static func blocking<T: Sendable>(_ location: String, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        let answered = Locked(false)
        let outcome: Result<T, any Error>? = await withCheckedContinuation { continuation in
            /// The first of the answer and the deadline resumes the caller.
            @Sendable func resume(_ value: Result<T, any Error>?) {
                guard
                    answered.withLock({ answered in
                        defer { answered = true }
                        return !answered
                    })
                else { return }
                continuation.resume(returning: value)
            }
            queue.async { resume(Result(catching: work)) }
            queue.asyncAfter(deadline: .now() + .milliseconds(Int(callLimit.components.seconds) * 1000)) { resume(nil) }
        }
        guard let result = outcome else { throw KafkaStorageError("\(location): no answer within \(callLimit)") }
        do {
            return try result.get()
        } catch let error as LogError {
            throw error
        } catch let error as KafkaStorageError {
            throw error
        } catch {
            throw KafkaStorageError("\(location): \(error)")
        }
    }

    private func partitionCounts(fresh: Bool = false) async throws -> [String: Int] {
        if !fresh, let cached = counts.withLock({ $0 }), ContinuousClock.now - cached.at < metadataMaxAge { return cached.counts }
        let timeout = self.timeout
        let admin = self.admin
        let bootstrap = self.bootstrap
        let found = try await Self.blocking(location) {
            do {
                return try admin.withLock { try $0.admin.partitionCounts(timeout: timeout) }
            } catch {
                throw KafkaStorageError("cannot reach the Kafka cluster at \(bootstrap): \(error)")
            }
        }
        counts.withLock { $0 = (found, ContinuousClock.now) }
        return found
    }

    /// Waits until the cluster answers, asking again until `deadline` passes (then throws why).
    public func waitForCluster(within limit: Duration) async throws {
        let deadline = ContinuousClock.now + limit
        while true {
            do {
                _ = try await partitionCounts(fresh: true)
                return
            } catch {
                guard ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    public func topicNames() async throws -> [String] { try await partitionCounts().keys.sorted() }

    public func partitionCount(of topic: String) async throws -> Int? {
        if let count = try await partitionCounts()[topic] { return count }
        // A topic created a moment ago (by another process) is not refused on old metadata.
        return try await partitionCounts(fresh: true)[topic]
    }

    public func ensureTopic(_ topic: String, partitions: Int) async throws -> Int {
        try await ensureTopic(topic, partitions: partitions, configs: [:])
    }

    /// Creates `topic` with Kafka topic `configs` (`retention.ms`, …) unless it exists; its
    /// partition count either way (an existing topic keeps its own configs).
    public func ensureTopic(_ topic: String, partitions: Int, configs: [String: String]) async throws -> Int {
        if let count = try await partitionCount(of: topic) { return count }
        let admin = self.admin
        let timeout = self.timeout
        try await Self.blocking(location) {
            try admin.withLock { try $0.admin.createTopic(topic, partitions: partitions, configs: configs, timeout: timeout) }
        }
        return try await partitionCounts(fresh: true)[topic] ?? partitions
    }

    /// Deletes `topic` and its records from the cluster.
    public func deleteTopic(_ topic: String) async throws {
        let admin = self.admin
        let timeout = self.timeout
        try await Self.blocking(location) { try admin.withLock { try $0.admin.deleteTopic(topic, timeout: timeout) } }
        counts.withLock { $0 = nil }
    }

    public func append(_ records: [ProducerRecord], to topic: String) async throws -> [(partition: Int, offset: Int64)] {
        let outgoing = records.map { record in
            OutgoingRecord(
                value: record.value, key: record.key, headers: record.headers.map { ($0.key, $0.value) }, timestamp: record.timestamp,
                partition: record.key == nil ? 0 : nil)
        }
        do {
            return try await producer.sendAll(outgoing, to: topic).map { (Int($0.partition), $0.offset) }
        } catch {
            throw KafkaStorageError("\(location): appending to \(topic): \(error)")
        }
    }

    public func bounds(of topic: String, partition: Int) async throws -> Range<Int64> {
        let admin = self.admin
        let timeout = self.timeout
        return try await Self.blocking(location) {
            try admin.withLock { try $0.offsets.watermarks(TopicPartition(topic, Int32(partition)), timeout: timeout) }
        }
    }

    public func offset(of topic: String, partition: Int, atTimestamp timestamp: Int64) async throws -> Int64? {
        let admin = self.admin
        let timeout = self.timeout
        return try await Self.blocking(location) {
            try admin.withLock { try $0.offsets.offset(of: TopicPartition(topic, Int32(partition)), atTimestamp: timestamp, timeout: timeout) }
        }
    }

    public func cursor(on topic: String, partition: Int, from offset: Int64, whenRemoved: PartitionReader.RemovedRecords) async throws
        -> any RecordCursor
    {
        let bounds = try await bounds(of: topic, partition: partition)
        if offset < bounds.lowerBound, whenRemoved == .fail {
            throw LogError.offsetOutOfRange(requested: offset, start: bounds.lowerBound, end: bounds.upperBound)
        }
        let start = max(offset, bounds.lowerBound)
        // librdkafka wants a group for assign(); this one never joins, subscribes or commits.
        let settings = self.settings.merging([
            "isolation.level": "read_committed", "enable.partition.eof": "true", "enable.auto.commit": "false",
            "auto.offset.reset": whenRemoved == .skip ? "earliest" : "error", "group.id": "firestream.reader",
        ]) { ours, _ in ours }
        let consumer = try await Self.blocking(location) {
            let consumer = try BlockingConsumer(settings: settings)
            try consumer.assign([TopicPartition(topic, Int32(partition)): start])
            return consumer
        }
        return KafkaCursor(consumer: consumer, location: location, from: start, skipped: offset < start ? offset..<start : nil)
    }

    /// The group's consumer (made on first use); it never joins the group, it only reads and
    /// commits its offsets.
    private func groupConsumer(_ group: String) throws -> BlockingConsumer {
        if let existing = groups.withLock({ $0[group] }) { return existing }
        let made = try BlockingConsumer(
            settings: settings.merging(["group.id": group, "enable.auto.commit": "false", "isolation.level": "read_committed"]) { ours, _ in ours })
        return groups.withLock { groups in
            if let raced = groups[group] {
                made.close()
                return raced
            }
            groups[group] = made
            return made
        }
    }

    public func committed(group: String, topic: String, partition: Int) async throws -> Int64? {
        let consumer = try groupConsumer(group)
        let timeout = self.timeout
        let offset = try await Self.blocking(location) {
            try consumer.committed([TopicPartition(topic, Int32(partition))], timeout: timeout)[TopicPartition(topic, Int32(partition))]
        }
        return offset.flatMap { $0 >= 0 ? $0 : nil }
    }

    public func commit(group: String, topic: String, partition: Int, offset: Int64) async throws {
        let consumer = try groupConsumer(group)
        try await Self.blocking(location) { try consumer.commit([TopicPartition(topic, Int32(partition)): offset]) }
    }
}

/// Why the cluster could not do what was asked.
public struct KafkaStorageError: StorageUnavailable, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One partition read by a read_committed consumer of its own (assigned, not in a group). The
/// consumer reports the partition's end (`enable.partition.eof`), so a poll can tell "nothing
/// yet" from "nothing more".
final class KafkaCursor: RecordCursor, @unchecked Sendable {
    // One task at a time uses a cursor (the protocol's contract); calls hop to the storage's queue.
    private let consumer: BlockingConsumer
    private let location: String
    private(set) var position: Int64
    /// The consumer said the partition ends at `position`, and nothing came since.
    private var atEnd = false
    private var skipped: Range<Int64>?
    private var closed = false
    /// How long a poll waits for the consumer's first answer (records or the end).
    static let settleTime: Duration = .seconds(10)

    init(consumer: BlockingConsumer, location: String, from offset: Int64, skipped: Range<Int64>?) {
        self.consumer = consumer
        self.location = location
        position = offset
        self.skipped = skipped
    }

    deinit { if !closed { consumer.close() } }

    func poll(maxBytes: Int, maxRecords: Int) async throws -> PartitionReader.Batch {
        try await read(maxBytes: maxBytes, maxRecords: maxRecords, wait: atEnd ? .zero : Self.settleTime, stopAtEnd: true)
    }

    func next(maxBytes: Int, maxRecords: Int, maxWait: Duration?) async throws -> PartitionReader.Batch {
        let deadline = maxWait.map { ContinuousClock.now + $0 }
        while !Task.isCancelled {
            let slice = min(.milliseconds(200), deadline.map { max(.zero, $0 - ContinuousClock.now) } ?? .milliseconds(200))
            let batch = try await read(maxBytes: maxBytes, maxRecords: maxRecords, wait: slice, stopAtEnd: false)
            if !batch.isEmpty { return batch }
            if let deadline, ContinuousClock.now >= deadline { break }
        }
        return PartitionReader.Batch(records: [], skipped: nil)
    }

    /// Records from the consumer: waits up to `wait` for the first, then takes what is ready.
    /// With `stopAtEnd`, the end of the partition answers at once (empty).
    private func read(maxBytes: Int, maxRecords: Int, wait: Duration, stopAtEnd: Bool) async throws -> PartitionReader.Batch {
        guard !closed else { return PartitionReader.Batch(records: [], skipped: nil) }
        let consumer = self.consumer
        let limit = max(1, min(maxRecords, 10_000))
        let deadline = ContinuousClock.now + wait
        var records: [ConsumerRecord] = []
        var bytes = 0
        var end: Int64?
        while records.count < limit && bytes < maxBytes {
            let remaining = records.isEmpty ? max(.zero, deadline - ContinuousClock.now) : .zero
            let most = min(limit - records.count, 500)
            let events = try await KafkaStorage.blocking(location) { try consumer.poll(timeout: remaining, max: most) }
            for event in events {
                switch event {
                case .record(let record):
                    records.append(
                        ConsumerRecord(
                            offset: record.offset, timestamp: record.timestamp, key: record.key, value: record.value,
                            headers: record.headers.map { RecordHeader(key: $0.name, value: $0.value) }))
                    bytes += (record.value?.count ?? 0) + (record.key?.count ?? 0)
                case .end(_, let offset):
                    end = offset
                }
            }
            if events.isEmpty && (!records.isEmpty || ContinuousClock.now >= deadline) { break }
            if end != nil && records.isEmpty && stopAtEnd { break }
        }
        if let last = records.last { position = last.offset + 1 }
        if let end {
            position = max(position, end)
            atEnd = true
        }
        if !records.isEmpty { atEnd = end != nil && position >= end! }
        defer { skipped = nil }
        return PartitionReader.Batch(records: records, skipped: skipped)
    }

    /// Closes the consumer on the storage's queue: librdkafka's close can block (a cluster gone),
    /// and the caller may be on the cooperative pool.
    func close() {
        guard !closed else { return }
        closed = true
        let consumer = self.consumer
        KafkaStorage.queue.async { consumer.close() }
    }
}
