import CRdKafka
import Foundation
import Synchronization

/// A Kafka consumer on a cluster, through librdkafka: assign partitions (or subscribe in a
/// group), then read ``records``. A poll thread of its own hands records over, at most
/// `buffered` ahead of the reader: a slow reader slows the fetching, nothing is dropped.
public final class KafkaConsumerClient: Sendable {
    /// One record as read.
    public struct Record: Sendable, Equatable {
        public var topic: String
        public var partition: Int32
        public var offset: Int64
        public var key: [UInt8]?
        public var value: [UInt8]?
        public var timestamp: Int64
        /// The record's headers, in order (a nil value is a header without one).
        public var headers: [Header] = []

        public struct Header: Sendable, Equatable {
            public var name: String
            public var value: [UInt8]?
        }
    }

    /// The records, in each partition's order; ends when the client closes, or with a fatal error.
    public let records: Records

    /// librdkafka's handles are thread-safe; this one lives until ``close()``.
    nonisolated(unsafe) private let handle: OpaquePointer
    private let poller: PollThread
    /// Whether the client is closed; calls into librdkafka hold it, so close never frees the
    /// handle under one.
    private let closed = Mutex(false)
    private let events = ClientEvents()

    public init(settings: [String: String], buffered: Int = 10_000) throws(KafkaClientError) {
        let conf = try makeConfiguration(settings)
        events.attach(to: conf)
        let handle = try makeClient(RD_KAFKA_CONSUMER, conf, role: "consumer")
        rd_kafka_poll_set_consumer(handle)
        self.handle = handle
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Record.self)
        let credits = DispatchSemaphore(value: max(buffered, 1))
        records = Records(stream: stream, credits: credits)
        let address = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(handle)))
        poller = PollThread(name: "firestream-kafka-consumer") { running in
            // One credit per record handed over; the reader gives it back.
            while credits.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
                guard running() else { return }
            }
            guard let message = rd_kafka_consumer_poll(OpaquePointer(bitPattern: address), 100) else {
                credits.signal()
                return
            }
            defer { rd_kafka_message_destroy(message) }
            switch message.pointee.err {
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                continuation.yield(Record(message))
            case RD_KAFKA_RESP_ERR__PARTITION_EOF:
                credits.signal()
            default:
                credits.signal()
                // Transient errors (a broker restarting) are retried by librdkafka itself.
                if rd_kafka_fatal_error(OpaquePointer(bitPattern: address), nil, 0) != RD_KAFKA_RESP_ERR_NO_ERROR {
                    continuation.finish(throwing: KafkaClientError(message.pointee.err, while: "consuming"))
                }
            }
        }
        onClose = { continuation.finish() }
    }

    private let onClose: @Sendable () -> Void

    deinit { close() }

    /// Reads `partitions` of `topic` from `offset` (-2: the beginning, -1: the end), without a group.
    public func assign(_ topic: String, partitions: [Int32], from offset: Int64 = -2) throws(KafkaClientError) {
        try withPartitions(partitions.map { (topic, $0, offset) }, doing: "assigning \(topic)") { rd_kafka_assign($0, $1) }
    }

    /// Joins the consumer group of `group.id` for `topics`: partitions are shared among its members.
    public func subscribe(_ topics: [String]) throws(KafkaClientError) {
        try withPartitions(topics.map { ($0, -1, -1001) }, doing: "subscribing to \(topics)") { rd_kafka_subscribe($0, $1) }
    }

    /// Calls librdkafka with a topic-partition list, unless the client is closed.
    private func withPartitions(
        _ entries: [(topic: String, partition: Int32, offset: Int64)], doing: String,
        _ call: (OpaquePointer, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> rd_kafka_resp_err_t
    ) throws(KafkaClientError) {
        let error: rd_kafka_resp_err_t? = closed.withLock { closed in
            closed ? nil : withPartitionList(entries) { call(handle, $0) }
        }
        guard let error else { throw KafkaClientError("\(doing): the consumer is closed") }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaClientError(error, while: doing) }
    }

    /// The consumer's group generation and member id (for a transactional producer's
    /// `sendOffsets`), or nil when closed; the caller destroys it.
    func groupMetadata() -> OpaquePointer? {
        closed.withLock { closed in closed ? nil : rd_kafka_consumer_group_metadata(handle) }
    }

    /// Leaves the group (if any), stops the poll thread, ends ``records`` and frees the client.
    public func close() {
        guard
            !closed.withLock({ closed in
                defer { closed = true }
                return closed
            })
        else { return }
        poller.stop()
        _ = rd_kafka_consumer_close(handle)
        onClose()
        rd_kafka_destroy(handle)
    }

    /// The records, handed over as the reader asks for them.
    public struct Records: AsyncSequence, Sendable {
        let stream: AsyncThrowingStream<Record, any Error>
        let credits: DispatchSemaphore

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: stream.makeAsyncIterator(), credits: credits) }

        public struct AsyncIterator: AsyncIteratorProtocol {
            var base: AsyncThrowingStream<Record, any Error>.AsyncIterator
            let credits: DispatchSemaphore

            public mutating func next() async throws -> Record? {
                let record = try await base.next()
                if record != nil { credits.signal() }
                return record
            }
        }
    }
}

extension KafkaConsumerClient.Record {
    /// A copy of librdkafka's message (which must be the one it handed out: the timestamp is
    /// read from fields behind the public ones).
    init(_ message: UnsafeMutablePointer<rd_kafka_message_t>) {
        let fields = message.pointee
        topic = String(cString: rd_kafka_topic_name(fields.rkt))
        partition = fields.partition
        offset = fields.offset
        key = fields.key.map { Array(UnsafeRawBufferPointer(start: $0, count: fields.key_len)) }
        value = fields.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: fields.len)) }
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        timestamp = rd_kafka_message_timestamp(message, &type)
        var list: OpaquePointer?
        guard rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return }
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            headers.append(
                Header(name: name.map { String(cString: $0) } ?? "", value: value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }))
            index += 1
        }
    }
}
