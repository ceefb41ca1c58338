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
                delivery.report(.success((message.pointee.partition, message.pointee.offset)))
            } else {
                let events = Unmanaged<ClientEvents>.fromOpaque(opaque).takeUnretainedValue()
                delivery.report(.failure(events.explain(message.pointee.err, while: "delivering a record")))
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
    public func send(
        _ value: [UInt8]?, key: [UInt8]? = nil, headers: [(String, [UInt8]?)] = [], timestamp: Int64? = nil, to topic: String,
        partition: Int32? = nil
    ) async throws -> (partition: Int32, offset: Int64) {
        let record = OutgoingRecord(value: value, key: key, headers: headers, timestamp: timestamp, partition: partition)
        return try await sendAll([record], to: topic)[0]
    }

    /// Sends `records` to `topic` in order (each to its own partition, or the partitioner's
    /// choice) and returns where each was stored, in input order, once all are acknowledged. The
    /// first failure is thrown after every delivery is reported.
    public func sendAll(_ records: [OutgoingRecord], to topic: String) async throws -> [(partition: Int32, offset: Int64)] {
        guard !records.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            let batch = DeliveryBatch(count: records.count, continuation: continuation)
            for (index, record) in records.enumerated() {
                let delivery = Unmanaged.passRetained(Delivery { batch.report(index, $0) }).toOpaque()
                if let refusal = hand(record, to: topic, partition: record.partition, delivery: delivery) {
                    Unmanaged<Delivery>.fromOpaque(delivery).release()
                    // What was not handed over is reported failed, so the batch still completes.
                    for rest in index..<records.count { batch.report(rest, .failure(refusal)) }
                    return
                }
            }
        }
    }

    /// Gives one record to librdkafka, which copies it (RD_KAFKA_MSG_F_COPY); the reason when
    /// it does not take it (closed, queue full, unknown partition).
    private func hand(_ record: OutgoingRecord, to topic: String, partition: Int32?, delivery: UnsafeMutableRawPointer?) -> KafkaClientError? {
        state.withLock { state in
            guard !state.closed else { return KafkaClientError("the producer is closed") }
            if state.topics[topic] == nil, let made = rd_kafka_topic_new(handle, topic, nil) {
                state.topics[topic] = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(made)))
            }
            guard let address = state.topics[topic], let topicHandle = OpaquePointer(bitPattern: address) else {
                return KafkaClientError(rd_kafka_last_error(), while: "opening topic \(topic)")
            }
            if record.headers.isEmpty && record.timestamp == nil {
                let status = withBytes(record.value) { valueBytes, valueCount in
                    withBytes(record.key) { keyBytes, keyCount in
                        rd_kafka_produce(topicHandle, partition ?? -1, 0x2, valueBytes, valueCount, keyBytes, keyCount, delivery)
                    }
                }
                return status == 0 ? nil : KafkaClientError(rd_kafka_last_error(), while: "producing to \(topic)")
            }
            return produceWithHeaders(record, topic: topicHandle, partition: partition, delivery: delivery)
        }
    }

    /// rd_kafka_produceva, for records with headers or their own timestamp.
    private func produceWithHeaders(_ record: OutgoingRecord, topic: OpaquePointer, partition: Int32?, delivery: UnsafeMutableRawPointer?)
        -> KafkaClientError?
    {
        let headers = rd_kafka_headers_new(record.headers.count)
        for (name, value) in record.headers {
            _ = withBytes(value) { bytes, count in rd_kafka_header_add(headers, name, -1, bytes, value == nil ? 0 : count) }
        }
        var fields: [rd_kafka_vu_t] = []
        func field(_ type: rd_kafka_vtype_t, _ fill: (inout rd_kafka_vu_t) -> Void) {
            var entry = rd_kafka_vu_t()
            entry.vtype = type
            fill(&entry)
            fields.append(entry)
        }
        let error: OpaquePointer? = withBytes(record.value) { valueBytes, valueCount in
            withBytes(record.key) { keyBytes, keyCount in
                field(RD_KAFKA_VTYPE_RKT) { $0.u.rkt = topic }
                field(RD_KAFKA_VTYPE_PARTITION) { $0.u.i32 = partition ?? -1 }
                field(RD_KAFKA_VTYPE_VALUE) { $0.u.mem = .init(ptr: valueBytes, size: valueCount) }
                field(RD_KAFKA_VTYPE_KEY) { $0.u.mem = .init(ptr: keyBytes, size: keyCount) }
                field(RD_KAFKA_VTYPE_MSGFLAGS) { $0.u.i = 0x2 }
                field(RD_KAFKA_VTYPE_OPAQUE) { $0.u.ptr = delivery }
                if let timestamp = record.timestamp { field(RD_KAFKA_VTYPE_TIMESTAMP) { $0.u.i64 = timestamp } }
                field(RD_KAFKA_VTYPE_HEADERS) { $0.u.headers = headers }
                return rd_kafka_produceva(handle, fields, fields.count)
            }
        }
        guard let error else { return nil }
        // Refused: the headers are still ours.
        rd_kafka_headers_destroy(headers)
        defer { rd_kafka_error_destroy(error) }
        return KafkaClientError(code: rd_kafka_error_code(error).rawValue, "producing: \(String(cString: rd_kafka_error_string(error)))")
    }

    /// Hands one record to librdkafka without waiting for its delivery (a transaction's commit,
    /// or ``close(timeout:)``, waits for all of them). A full queue is waited out, up to
    /// `maxWait`; blocks the calling thread.
    public func enqueue(
        _ value: [UInt8]?, key: [UInt8]? = nil, headers: [(String, [UInt8]?)] = [], to topic: String, partition: Int32? = nil,
        maxWait: Duration = .seconds(60)
    ) throws(KafkaClientError) {
        let deadline = ContinuousClock.now + maxWait
        let record = OutgoingRecord(value: value, key: key, headers: headers)
        while let refusal = hand(record, to: topic, partition: partition, delivery: nil) {
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

/// A record to send.
public struct OutgoingRecord: Sendable {
    public var value: [UInt8]?
    public var key: [UInt8]?
    /// Headers in order (a nil value: a header without one).
    public var headers: [(String, [UInt8]?)]
    /// Milliseconds since the epoch; nil: the time it is handed over.
    public var timestamp: Int64?
    /// nil: the partitioner chooses.
    public var partition: Int32?

    public init(value: [UInt8]?, key: [UInt8]? = nil, headers: [(String, [UInt8]?)] = [], timestamp: Int64? = nil, partition: Int32? = nil) {
        self.value = value
        self.key = key
        self.headers = headers
        self.timestamp = timestamp
        self.partition = partition
    }
}

/// What to do with one record's delivery report.
private final class Delivery: Sendable {
    let report: @Sendable (Result<(partition: Int32, offset: Int64), any Error>) -> Void

    init(_ report: @escaping @Sendable (Result<(partition: Int32, offset: Int64), any Error>) -> Void) {
        self.report = report
    }
}

/// The reports of a batch's records, gathered: the waiting task resumes once all are in.
private final class DeliveryBatch: Sendable {
    private struct State {
        var places: [(partition: Int32, offset: Int64)]
        var remaining: Int
        var failure: (any Error)?
        var continuation: CheckedContinuation<[(partition: Int32, offset: Int64)], any Error>?
    }

    private let state: Mutex<State>

    init(count: Int, continuation: CheckedContinuation<[(partition: Int32, offset: Int64)], any Error>) {
        state = Mutex(State(places: Array(repeating: (0, 0), count: count), remaining: count, continuation: continuation))
    }

    func report(_ index: Int, _ result: Result<(partition: Int32, offset: Int64), any Error>) {
        let finished: (CheckedContinuation<[(partition: Int32, offset: Int64)], any Error>, Result<[(partition: Int32, offset: Int64)], any Error>)? =
            state.withLock { state in
                switch result {
                case .success(let place): state.places[index] = place
                case .failure(let error): state.failure = state.failure ?? error
                }
                state.remaining -= 1
                guard state.remaining == 0, let continuation = state.continuation else { return nil }
                state.continuation = nil
                return (continuation, state.failure.map { .failure($0) } ?? .success(state.places))
            }
        if let (continuation, outcome) = finished { continuation.resume(with: outcome) }
    }
}

/// `body` with a pointer to `bytes` and their count (nil and 0 for none).
func withBytes<Result>(_ bytes: [UInt8]?, _ body: (UnsafeMutableRawPointer?, Int) -> Result) -> Result {
    guard let bytes else { return body(nil, 0) }
    return bytes.withUnsafeBytes { body(UnsafeMutableRawPointer(mutating: $0.baseAddress), $0.count) }
}
