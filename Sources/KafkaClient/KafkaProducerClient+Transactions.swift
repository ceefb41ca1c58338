import CRdKafka
import Dispatch
import Synchronization

/// Why a transaction call failed, and what the producer may do next.
public struct KafkaTransactionError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var description: String
    /// The producer can do nothing more (fenced by a newer instance with its transactional id):
    /// close it and make a new one.
    public var isFatal: Bool
    /// The transaction must be aborted; the producer may then begin another.
    public var requiresAbort: Bool
    /// The same call may be tried again.
    public var isRetriable: Bool
}

/// Kafka transactions through librdkafka (the producer's settings name a `transactional.id`):
/// records sent between ``beginTransaction()`` and ``commitTransaction(timeout:)``, and the input
/// offsets given to ``sendOffsets(_:consumer:timeout:)``, become visible to read_committed
/// consumers together, or not at all. librdkafka blocks in these calls, so they run on a queue
/// of their own, never on the cooperative pool.
extension KafkaProducerClient {
    /// Registers the transactional id with its coordinator (fencing older instances, and
    /// finishing or aborting what they left open). Once, before the first transaction.
    public func initTransactions(timeout: Duration = .seconds(30)) async throws(KafkaTransactionError) {
        try await offPool { () throws(KafkaTransactionError) in try self.blocking.initTransactions(timeout: timeout) }
    }

    public func beginTransaction() throws(KafkaTransactionError) { try blocking.beginTransaction() }

    /// Commits `offsets` (the next offset to read, per input partition) for `consumer`'s group in
    /// the open transaction.
    public func sendOffsets(
        _ offsets: [(topic: String, partition: Int32, offset: Int64)], consumer: KafkaConsumerClient, timeout: Duration = .seconds(30)
    ) async throws(KafkaTransactionError) {
        let entries = Dictionary(offsets.map { (TopicPartition($0.topic, $0.partition), $0.offset) }) { _, last in last }
        try await offPool { () throws(KafkaTransactionError) in
            try self.blocking.sendOffsets(entries, metadata: consumer.groupMetadata(), timeout: timeout)
        }
    }

    /// Flushes the transaction's records and commits it; returns once it is committed.
    public func commitTransaction(timeout: Duration = .seconds(30)) async throws(KafkaTransactionError) {
        try await offPool { () throws(KafkaTransactionError) in try self.blocking.commitTransaction(timeout: timeout) }
    }

    /// Drops what is queued and aborts the transaction; returns once it is aborted.
    public func abortTransaction(timeout: Duration = .seconds(30)) async throws(KafkaTransactionError) {
        try await offPool { () throws(KafkaTransactionError) in try self.blocking.abortTransaction(timeout: timeout) }
    }
}

/// Runs a blocking librdkafka call on a dispatch queue, never on the cooperative pool.
private func offPool(_ work: @escaping @Sendable () throws(KafkaTransactionError) -> Void) async throws(KafkaTransactionError) {
    let result: Result<Void, KafkaTransactionError> = await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: Result { () throws(KafkaTransactionError) in try work() }) }
    }
    try result.get()
}

/// Turns librdkafka's error object (nil: success) into a thrown error, and frees it.
private func check(_ doing: String, _ error: OpaquePointer?, closed: Bool) throws(KafkaTransactionError) {
    if closed {
        throw KafkaTransactionError(code: 0, description: "\(doing): the producer is closed", isFatal: true, requiresAbort: false, isRetriable: false)
    }
    guard let error else { return }
    defer { rd_kafka_error_destroy(error) }
    throw KafkaTransactionError(
        code: rd_kafka_error_code(error).rawValue,
        description: "\(doing): \(String(cString: rd_kafka_error_string(error))) (\(String(cString: rd_kafka_error_name(error))))",
        isFatal: rd_kafka_error_is_fatal(error) != 0, requiresAbort: rd_kafka_error_txn_requires_abort(error) != 0,
        isRetriable: rd_kafka_error_is_retriable(error) != 0)
}

/// The transaction calls for a thread of its own (a worker's processing loop): each blocks
/// until librdkafka answers or `timeout` passes.
public struct BlockingTransactions: Sendable {
    let producer: KafkaProducerClient

    public func initTransactions(timeout: Duration = .seconds(60)) throws(KafkaTransactionError) {
        try producer.locked("starting transactions") { rd_kafka_init_transactions($0, milliseconds(timeout)) }
    }

    public func beginTransaction() throws(KafkaTransactionError) {
        try producer.locked("beginning a transaction") { rd_kafka_begin_transaction($0) }
    }

    /// Commits `offsets` (the next offset to read per input partition) for `consumer`'s group in
    /// the open transaction.
    public func sendOffsets(_ offsets: [TopicPartition: Int64], consumer: BlockingConsumer, timeout: Duration = .seconds(60))
        throws(KafkaTransactionError)
    {
        try sendOffsets(offsets, metadata: consumer.groupMetadata(), timeout: timeout)
    }

    /// `metadata`: a consumer's group metadata, which this call frees (nil: the consumer is closed).
    func sendOffsets(_ offsets: [TopicPartition: Int64], metadata: OpaquePointer?, timeout: Duration) throws(KafkaTransactionError) {
        guard let metadata else {
            throw KafkaTransactionError(
                code: 0, description: "sending offsets: the consumer is closed", isFatal: false, requiresAbort: true, isRetriable: false)
        }
        defer { rd_kafka_consumer_group_metadata_destroy(metadata) }
        try producer.locked("sending offsets to the transaction") { handle in
            withPartitionList(offsets.map { ($0.key.topic, $0.key.partition, $0.value) }) { list in
                rd_kafka_send_offsets_to_transaction(handle, list, metadata, milliseconds(timeout))
            }
        }
    }

    public func commitTransaction(timeout: Duration = .seconds(60)) throws(KafkaTransactionError) {
        try producer.locked("committing the transaction") { rd_kafka_commit_transaction($0, milliseconds(timeout)) }
    }

    public func abortTransaction(timeout: Duration = .seconds(60)) throws(KafkaTransactionError) {
        try producer.locked("aborting the transaction") { rd_kafka_abort_transaction($0, milliseconds(timeout)) }
    }
}

extension KafkaProducerClient {
    /// Transaction calls that block the calling thread.
    public var blocking: BlockingTransactions { BlockingTransactions(producer: self) }

    /// Runs a librdkafka call holding the client's lock (``close(timeout:)`` waits for it).
    func locked(_ doing: String, _ call: (OpaquePointer) -> OpaquePointer?) throws(KafkaTransactionError) {
        let (closed, error) = state.withLock { state in (state.closed, state.closed ? nil : call(handle)) }
        try check(doing, error, closed: closed)
    }
}
