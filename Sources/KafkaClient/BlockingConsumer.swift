import CRdKafka
import Synchronization

/// A partition of a topic, with an offset where one is meant.
public struct TopicPartition: Sendable, Hashable {
    public var topic: String
    public var partition: Int32

    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }
}

/// A Kafka consumer for a thread of its own (a worker's processing loop): ``poll(timeout:max:)``
/// blocks, and group rebalances are handled inside it, on the same thread, between the loop's
/// steps. The handler fences, restores and positions new partitions before any of their records
/// is read, and finds every step of revoked ones already committed.
public final class BlockingConsumer: @unchecked Sendable {
    /// What the group decided for this member.
    public enum Rebalance: Sendable {
        /// These partitions are now this member's: the handler answers where to read each from
        /// (nil: the group's committed offset).
        case assigned([TopicPartition])
        /// These are no longer this member's.
        case revoked([TopicPartition])
    }

    /// What a poll found.
    public enum Event: Sendable {
        case record(KafkaConsumerClient.Record)
        /// The reader reached the end of a partition (with `enable.partition.eof`).
        case end(TopicPartition, offset: Int64)
    }

    public typealias RebalanceHandler = @Sendable (Rebalance) -> [TopicPartition: Int64]

    // Used from one thread; freed by close().
    private let handle: OpaquePointer
    private let events = ClientEvents()
    private var closed = false

    /// `settings` are librdkafka's; `onRebalance` is called inside ``poll(timeout:max:)``.
    public init(settings: [String: String], onRebalance: RebalanceHandler? = nil) throws(KafkaClientError) {
        let conf = try makeConfiguration(settings)
        events.attach(to: conf)
        if let onRebalance {
            events.rebalance.withLock { $0 = onRebalance }
            rd_kafka_conf_set_rebalance_cb(conf) { handle, error, list, opaque in
                guard let handle, let opaque else { return }
                let events = Unmanaged<ClientEvents>.fromOpaque(opaque).takeUnretainedValue()
                let handler = events.rebalance.withLock { $0 }
                let partitions = list.map(partitionsOf) ?? []
                if error == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
                    let offsets = handler?(.assigned(partitions)) ?? [:]
                    if let list {
                        for index in 0..<Int(list.pointee.cnt) {
                            let entry = list.pointee.elems[index]
                            list.pointee.elems[index].offset =
                                offsets[TopicPartition(String(cString: entry.topic), entry.partition)] ?? -1001
                        }
                    }
                    _ = rd_kafka_assign(handle, list)
                } else {
                    _ = handler?(.revoked(partitions))
                    _ = rd_kafka_assign(handle, nil)
                }
            }
        }
        handle = try makeClient(RD_KAFKA_CONSUMER, conf, role: "consumer")
        rd_kafka_poll_set_consumer(handle)
    }

    deinit { close() }

    /// Leaves the group (revoking this member's partitions through the handler) and frees the client.
    public func close() {
        guard !closed else { return }
        closed = true
        _ = rd_kafka_consumer_close(handle)
        rd_kafka_destroy(handle)
    }

    public func subscribe(_ topics: [String]) throws(KafkaClientError) {
        try with(topics.map { (TopicPartition($0, -1), -1001) }, doing: "subscribing to \(topics)") { rd_kafka_subscribe(handle, $0) }
    }

    /// Reads `partitions` from the offsets given (-2: the beginning), without the group.
    public func assign(_ partitions: [TopicPartition: Int64]) throws(KafkaClientError) {
        try with(partitions.map { ($0.key, $0.value) }, doing: "assigning \(partitions.keys)") { rd_kafka_assign(handle, $0) }
    }

    /// The group's committed offsets (-1001 where none), stable ones only for read_committed consumers.
    public func committed(_ partitions: [TopicPartition], timeout: Duration = .seconds(30)) throws(KafkaClientError) -> [TopicPartition: Int64] {
        var offsets: [TopicPartition: Int64] = [:]
        try with(partitions.map { ($0, -1001) }, doing: "reading committed offsets") { list in
            let error = rd_kafka_committed(handle, list, milliseconds(timeout))
            for (partition, offset) in entries(of: list) { offsets[partition] = offset }
            return error
        }
        return offsets
    }

    /// Commits offsets for the group (the next offset to read per partition), waiting for the answer.
    public func commit(_ offsets: [TopicPartition: Int64]) throws(KafkaClientError) {
        try with(offsets.map { ($0.key, $0.value) }, doing: "committing offsets") { rd_kafka_commit(handle, $0, 0) }
    }

    /// The partition's oldest offset and its end: the last stable offset for a read_committed
    /// consumer, the high watermark otherwise. Asks the partition's leader.
    public func watermarks(_ partition: TopicPartition, timeout: Duration = .seconds(30)) throws(KafkaClientError) -> Range<Int64> {
        guard !closed else { throw KafkaClientError("reading offsets: the consumer is closed") }
        var low: Int64 = 0
        var high: Int64 = 0
        let error = rd_kafka_query_watermark_offsets(handle, partition.topic, partition.partition, &low, &high, milliseconds(timeout))
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaClientError(error, while: "reading the offsets of \(partition.topic)/\(partition.partition)")
        }
        return low..<max(low, high)
    }

    /// The first offset of `partition` whose record is stamped `timestamp` or later; nil when none is.
    public func offset(of partition: TopicPartition, atTimestamp timestamp: Int64, timeout: Duration = .seconds(30)) throws(KafkaClientError)
        -> Int64?
    {
        var found: Int64?
        try with([(partition, timestamp)], doing: "finding the offset for a time in \(partition.topic)/\(partition.partition)") { list in
            let error = rd_kafka_offsets_for_times(handle, list, milliseconds(timeout))
            if error == RD_KAFKA_RESP_ERR_NO_ERROR, list.pointee.cnt == 1 {
                let entry = list.pointee.elems[0]
                if entry.err == RD_KAFKA_RESP_ERR_NO_ERROR, entry.offset >= 0 { found = entry.offset }
            }
            return error
        }
        return found
    }

    /// Waits up to `timeout` for a first record or event, then takes what else is ready, up to
    /// `max`. A fatal error is thrown; others librdkafka retries by itself.
    public func poll(timeout: Duration, max: Int) throws(KafkaClientError) -> [Event] {
        var found: [Event] = []
        var wait = milliseconds(timeout)
        while found.count < max, let message = rd_kafka_consumer_poll(handle, wait) {
            defer { rd_kafka_message_destroy(message) }
            wait = 0
            switch message.pointee.err {
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                found.append(.record(KafkaConsumerClient.Record(message)))
            case RD_KAFKA_RESP_ERR__PARTITION_EOF:
                let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
                found.append(.end(TopicPartition(topic, message.pointee.partition), offset: message.pointee.offset))
            default:
                if rd_kafka_fatal_error(handle, nil, 0) != RD_KAFKA_RESP_ERR_NO_ERROR {
                    throw KafkaClientError(message.pointee.err, while: "consuming")
                }
            }
        }
        return found
    }

    /// The last error librdkafka reported about the cluster, if any.
    public var lastClusterError: String? { events.lastError.withLock { $0 } }

    /// The group's generation and this member, for a transactional producer's offsets; the
    /// caller destroys it.
    func groupMetadata() -> OpaquePointer? { closed ? nil : rd_kafka_consumer_group_metadata(handle) }

    private func with(
        _ entries: [(TopicPartition, Int64)], doing: String, _ call: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> rd_kafka_resp_err_t
    ) throws(KafkaClientError) {
        guard !closed else { throw KafkaClientError("\(doing): the consumer is closed") }
        let error = withPartitionList(entries.map { ($0.0.topic, $0.0.partition, $0.1) }, call)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaClientError(error, while: doing) }
    }
}

private func partitionsOf(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [TopicPartition] {
    entries(of: list).map(\.0)
}

private func entries(of list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [(TopicPartition, Int64)] {
    (0..<Int(list.pointee.cnt)).map { index in
        let entry = list.pointee.elems[index]
        return (TopicPartition(String(cString: entry.topic), entry.partition), entry.offset)
    }
}
