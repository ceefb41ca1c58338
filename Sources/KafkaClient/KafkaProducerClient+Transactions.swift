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
        try await transactionCall("starting transactions") { handle in rd_kafka_init_transactions(handle, milliseconds(timeout)) }
    }

    public func beginTransaction() throws(KafkaTransactionError) {
        let (closed, error) = state.withLock { state in (state.closed, state.closed ? nil : rd_kafka_begin_transaction(handle)) }
        try check("beginning a transaction", error, closed: closed)
    }

    /// Commits `offsets` (the next offset to read, per input partition) for `consumer`'s group in
    /// the open transaction.
    public func sendOffsets(
        _ offsets: [(topic: String, partition: Int32, offset: Int64)], consumer: KafkaConsumerClient, timeout: Duration = .seconds(30)
    ) async throws(KafkaTransactionError) {
        guard let metadata = consumer.groupMetadata() else {
            throw KafkaTransactionError(
                code: 0, description: "sending offsets: the consumer is closed", isFatal: false, requiresAbort: true, isRetriable: false)
        }
        let address = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(metadata)))
        defer { rd_kafka_consumer_group_metadata_destroy(metadata) }
        try await transactionCall("sending offsets to the transaction") { handle in
            let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for entry in offsets { rd_kafka_topic_partition_list_add(list, entry.topic, entry.partition).pointee.offset = entry.offset }
            return rd_kafka_send_offsets_to_transaction(handle, list, OpaquePointer(bitPattern: address), milliseconds(timeout))
        }
    }

    /// Flushes the transaction's records and commits it; returns once it is committed.
    public func commitTransaction(timeout: Duration = .seconds(30)) async throws(KafkaTransactionError) {
        try await transactionCall("committing the transaction") { handle in rd_kafka_commit_transaction(handle, milliseconds(timeout)) }
    }

    /// Drops what is queued and aborts the transaction; returns once it is aborted.
    public func abortTransaction(timeout: Duration = .seconds(30)) async throws(KafkaTransactionError) {
        try await transactionCall("aborting the transaction") { handle in rd_kafka_abort_transaction(handle, milliseconds(timeout)) }
    }

    /// Runs a blocking librdkafka transaction call on a dispatch queue (not on the pool),
    /// holding the client's lock so that ``close(timeout:)`` waits for it.
    private func transactionCall(
        _ doing: String, _ call: @escaping @Sendable (OpaquePointer) -> OpaquePointer?
    ) async throws(KafkaTransactionError) {
        let address = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(handle)))
        let result: Result<Void, KafkaTransactionError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let (closed, error) = self.state.withLock { state in
                    (state.closed, state.closed ? nil : call(OpaquePointer(bitPattern: address)!))
                }
                continuation.resume(returning: Result { () throws(KafkaTransactionError) in try check(doing, error, closed: closed) })
            }
        }
        try result.get()
    }
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

private func milliseconds(_ duration: Duration) -> Int32 {
    let (seconds, attoseconds) = duration.components
    return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000)
}
