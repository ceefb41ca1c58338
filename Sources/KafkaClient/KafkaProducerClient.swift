import CRdKafka
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A Kafka producer on a cluster, through librdkafka: `send` returns once the record is
/// acknowledged (`acks` as configured; librdkafka's default is all), with its partition and
/// offset. Delivery reports arrive on the client's poll thread and resume the waiting task.
public final class KafkaProducerClient: Sendable {
    /// librdkafka's handles are thread-safe; this one lives until ``close(timeout:)``.
    nonisolated(unsafe) let handle: OpaquePointer
    private let poller: PollThread
    /// Topic handles by name, as their addresses (librdkafka keeps them until destroyed), and
    /// whether the client is closed: sends hold this lock while they hand a record over, so
    /// ``close(timeout:)`` never frees the handle under one.
    let state = Mutex<(topics: [String: UInt], closed: Bool)>(([:], false))
    private let events = ClientEvents()

    /// `settings` are librdkafka's (`bootstrap.servers` at least); a refused one is named.
    public init(settings: [String: String]) throws(KafkaClientError) {
        let conf = try makeConfiguration(settings)
        events.attach(to: conf)
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
            guard let message, let delivered = message.pointee._private, let opaque else { return }
            let delivery = Unmanaged<Delivery>.fromOpaque(delivered).takeRetainedValue()
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                delivery.continuation.resume(returning: (message.pointee.partition, message.pointee.offset))
            } else {
                let events = Unmanaged<ClientEvents>.fromOpaque(opaque).takeUnretainedValue()
                delivery.continuation.resume(throwing: events.explain(message.pointee.err, while: "delivering a record"))
            }
        }
        let handle = try makeClient(RD_KAFKA_PRODUCER, conf, role: "producer")
        self.handle = handle
        let address = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(handle)))
        poller = PollThread(name: "firestream-kafka-producer") { _ in
            _ = rd_kafka_poll(OpaquePointer(bitPattern: address), 100)
        }
    }

    deinit { close(timeout: .zero) }

    /// Sends one record to `topic` (the partitioner picks the partition unless one is given)
    /// and returns where it was stored, once acknowledged.
    public func send(_ value: [UInt8]?, key: [UInt8]? = nil, to topic: String, partition: Int32? = nil) async throws
        -> (partition: Int32, offset: Int64)
    {
        try await withCheckedThrowingContinuation { continuation in
            let delivery = Unmanaged.passRetained(Delivery(continuation)).toOpaque()
            if let refusal = hand(value, key: key, to: topic, partition: partition, delivery: delivery) {
                Unmanaged<Delivery>.fromOpaque(delivery).release()
                continuation.resume(throwing: refusal)
            }
        }
    }

    /// Gives one record to librdkafka, which copies it (RD_KAFKA_MSG_F_COPY); the reason when
    /// it does not take it (closed, queue full, unknown partition).
    private func hand(_ value: [UInt8]?, key: [UInt8]?, to topic: String, partition: Int32?, delivery: UnsafeMutableRawPointer?)
        -> KafkaClientError?
    {
        state.withLock { state in
            guard !state.closed else { return KafkaClientError("the producer is closed") }
            if state.topics[topic] == nil, let made = rd_kafka_topic_new(handle, topic, nil) {
                state.topics[topic] = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(made)))
            }
            guard let address = state.topics[topic], let topicHandle = OpaquePointer(bitPattern: address) else {
                return KafkaClientError(rd_kafka_last_error(), while: "opening topic \(topic)")
            }
            let status = withBytes(value) { valueBytes, valueCount in
                withBytes(key) { keyBytes, keyCount in
                    rd_kafka_produce(topicHandle, partition ?? -1, 0x2, valueBytes, valueCount, keyBytes, keyCount, delivery)
                }
            }
            return status == 0 ? nil : KafkaClientError(rd_kafka_last_error(), while: "producing to \(topic)")
        }
    }

    /// Hands one record to librdkafka without waiting for its delivery (a transaction's commit,
    /// or ``close(timeout:)``, waits for all of them). A full queue is waited out, up to
    /// `maxWait`; blocks the calling thread.
    public func enqueue(_ value: [UInt8]?, key: [UInt8]? = nil, to topic: String, partition: Int32? = nil, maxWait: Duration = .seconds(60))
        throws(KafkaClientError)
    {
        let deadline = ContinuousClock.now + maxWait
        while let refusal = hand(value, key: key, to: topic, partition: partition, delivery: nil) {
            guard refusal.code == RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue, ContinuousClock.now < deadline else { throw refusal }
            usleep(1000)
        }
    }

    /// Waits until every record handed over is delivered (or `timeout` passes: an error).
    public func flush(timeout: Duration) throws(KafkaClientError) {
        let error = state.withLock { state in state.closed ? RD_KAFKA_RESP_ERR__DESTROY : rd_kafka_flush(handle, milliseconds(timeout)) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw events.explain(error, while: "flushing records") }
    }

    /// The last error librdkafka reported about the cluster (a refused sign-in, a broker that
    /// cannot be reached), if any.
    public var lastClusterError: String? { events.lastError.withLock { $0 } }

    /// Records handed to librdkafka whose delivery is not reported yet (0 once closed).
    public var waiting: Int {
        state.withLock { state in state.closed ? 0 : Int(rd_kafka_outq_len(handle)) }
    }

    /// Waits for what is in flight (up to `timeout`), fails what is left (its senders get the
    /// error), then frees the client; later sends fail.
    public func close(timeout: Duration = .seconds(10)) {
        guard
            !state.withLock({ state in
                defer { state.closed = true }
                return state.closed
            })
        else { return }
        _ = rd_kafka_flush(handle, milliseconds(timeout))
        // RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT: their reports say "purged", and
        // the flush serves them, so no sender waits forever.
        _ = rd_kafka_purge(handle, 0x3)
        _ = rd_kafka_flush(handle, 1000)
        poller.stop()
        for address in state.withLock({ Array($0.topics.values) }) { rd_kafka_topic_destroy(OpaquePointer(bitPattern: address)) }
        rd_kafka_destroy(handle)
    }
}

/// The task waiting for one record's delivery report.
private final class Delivery: Sendable {
    let continuation: CheckedContinuation<(partition: Int32, offset: Int64), any Error>

    init(_ continuation: CheckedContinuation<(partition: Int32, offset: Int64), any Error>) {
        self.continuation = continuation
    }
}

/// `body` with a pointer to `bytes` and their count (nil and 0 for none).
func withBytes<Result>(_ bytes: [UInt8]?, _ body: (UnsafeMutableRawPointer?, Int) -> Result) -> Result {
    guard let bytes else { return body(nil, 0) }
    return bytes.withUnsafeBytes { body(UnsafeMutableRawPointer(mutating: $0.baseAddress), $0.count) }
}
