import FirestreamFormats
import FirestreamLog
import KafkaProtocol
import KafkaWire
import Logging

extension KafkaBroker {
    /// Appends each partition's record batches as they were sent (only the base offset is
    /// rewritten; it sits outside the CRC), then answers once they are durable. acks=0 gets no
    /// answer at all.
    func produce(_ request: ProduceRequest, version: Int16, principal: Principal) async -> ProduceResponse? {
        var response = ProduceResponse()
        var waits: [(PartitionLog, Int64)] = []
        for topicData in request.topicData {
            var topicResponse = ProduceResponse.TopicProduceResponse()
            topicResponse.name = topicData.name
            topicResponse.partitionResponses = topicData.partitionData.map { data in
                var answer = ProduceResponse.PartitionProduceResponse()
                answer.index = data.index
                let outcome = append(
                    data.records, to: topicData.name, partition: data.index, acks: request.acks, version: version, principal: principal)
                switch outcome {
                case .success(let (partition, first, last)):
                    answer.baseOffset = first
                    answer.logStartOffset = partition.startOffset
                    waits.append((partition, last + 1))
                case .failure(let refusal):
                    answer.errorCode = refusal.code.code
                    answer.errorMessage = refusal.message
                    answer.baseOffset = -1
                    logger.debug("produce to \(topicData.name)/\(data.index) refused: \(refusal.message)")
                }
                return answer
            }
            response.responses.append(topicResponse)
        }
        guard request.acks != 0 else {
            return nil
        }
        // Acknowledged means durable: the answer waits for the log's sync of every batch.
        var failed: [String: String] = [:]
        for (partition, end) in waits {
            do {
                try await partition.waitUntilDurable(end)
            } catch {
                failed["\(partition.topic)/\(partition.partition)"] = "\(error)"
            }
        }
        if !failed.isEmpty { markFailed(&response, failed) }
        return response
    }

    struct Refusal: Error {
        var code: ErrorCode
        var message: String
    }

    /// Checks and appends the batches in `records`; the first and last offsets they got.
    private func append(
        _ records: [UInt8]?, to topic: String, partition index: Int32, acks: Int16, version: Int16, principal: Principal
    ) -> Result<(PartitionLog, Int64, Int64), Refusal> {
        if let refusal = principal.refusal(.write, topic: topic) { return .failure(Refusal(code: .topicAuthorizationFailed, message: refusal)) }
        guard [-1, 0, 1].contains(acks) else { return .failure(Refusal(code: .invalidRequiredAcks, message: "acks must be -1, 0 or 1")) }
        if let refusal = options.protection.writeRefusal(topic) { return .failure(Refusal(code: .topicAuthorizationFailed, message: refusal)) }
        guard let partition = log.topicIfExists(topic)?.partitions.dropFirst(Int(max(index, 0))).first, index >= 0 else {
            return .failure(Refusal(code: .unknownTopicOrPartition, message: "no partition \(topic)/\(index)"))
        }
        guard let records, !records.isEmpty else { return .failure(Refusal(code: .corruptMessage, message: "no record batch")) }
        let batches: [[UInt8]]
        switch splitBatches(records, version: version) {
        case .success(let split): batches = split
        case .failure(let refusal): return .failure(refusal)
        }
        var first: Int64?
        var last: Int64 = -1
        for var batch in batches {
            do {
                // splitBatches' walker has checked the CRC already.
                let appended = try isTransactional(batch) ? appendTransactional(&batch, to: partition) : partition.appendBatch(&batch)
                first = first ?? appended.first
                last = appended.last
            } catch let refusal as Refusal {
                return .failure(refusal)
            } catch let error as LogError {
                return .failure(Refusal(code: ErrorCode(error), message: "\(error)"))
            } catch {
                return .failure(Refusal(code: .unknownServerError, message: "\(error)"))
            }
        }
        return .success((partition, first ?? -1, last))
    }

    private func isTransactional(_ batch: [UInt8]) -> Bool {
        batch.count > RecordBatchHeader.attributesOffset + 1 && batch[RecordBatchHeader.attributesOffset + 1] & 0x10 != 0
    }

    /// A transaction's batch lands only in a partition its open transaction added, under the
    /// transaction's epoch; checked and appended while the coordinator cannot write the
    /// transaction's markers.
    private func appendTransactional(_ batch: inout [UInt8], to partition: PartitionLog) throws -> PartitionLog.Appended {
        let header = try batch.withUnsafeBytes { raw throws(WireError) in try RecordBatch.header(raw) }
        let target = TransactionCoordinator.Partition(topic: partition.topic, partition: partition.partition)
        return try transactions.gate.withLock { gates throws -> PartitionLog.Appended in
            guard let open = gates[header.producerId] else {
                throw Refusal(code: .invalidTxnState, message: "producer \(header.producerId) has no open transaction")
            }
            guard open.epoch == header.producerEpoch else {
                throw Refusal(code: .invalidProducerEpoch, message: "producer \(header.producerId) epoch \(header.producerEpoch) is fenced")
            }
            guard open.partitions.contains(target) else {
                throw Refusal(
                    code: .invalidTxnState, message: "\(partition.topic)/\(partition.partition) was not added to the transaction (AddPartitionsToTxn)"
                )
            }
            return try partition.appendBatch(&batch)
        }
    }

    /// The record batches in a Produce request, each checked before any is appended.
    private func splitBatches(_ records: [UInt8], version: Int16) -> Result<[[UInt8]], Refusal> {
        // Produce v0–v2 are served (librdkafka up to 2.11 compresses with gzip, snappy or lz4
        // only for a broker that lists Produce v0), but with record batches v2 only: the message
        // sets of clients older than Kafka 0.11 (magic 0 and 1) are refused.
        if records.count > 16, records[16] < 2 {
            return .failure(
                Refusal(
                    code: .unsupportedForMessageFormat,
                    message: "message format v\(records[16]) (clients before Kafka 0.11) is not supported; record batches v2 are"))
        }
        return records.withUnsafeBytes { raw in
            var walker = RecordBatchWalker(raw)
            var batches: [[UInt8]] = []
            while walker.remaining > 0 {
                switch walker.peek() {
                case .needMore:
                    return .failure(Refusal(code: .corruptMessage, message: "the last record batch is cut short"))
                case .corrupt(let reason):
                    return .failure(Refusal(code: .corruptMessage, message: reason))
                case .batch(let header, let range):
                    guard range.count <= options.maxMessageBytes else {
                        return .failure(
                            Refusal(code: .messageTooLarge, message: "a batch of \(range.count) bytes is over \(options.maxMessageBytes)"))
                    }
                    guard !header.isControl else {
                        return .failure(Refusal(code: .invalidRequest, message: "control batches are written by the broker, not by producers"))
                    }
                    guard !header.isTransactional || header.producerId >= 0 else {
                        return .failure(Refusal(code: .invalidRequest, message: "a transactional batch without a producer id"))
                    }
                    if let refusal = Self.checkCompressed(UnsafeRawBufferPointer(rebasing: raw[range]), header: header, version: version) {
                        return .failure(refusal)
                    }
                    batches.append(Array(raw[range]))
                    _ = walker.next()
                }
            }
            return .success(batches)
        }
    }

    /// A compressed batch is stored as sent, but only once its records decompress and decode
    /// (every reader of the log, apps and the gateway included, decodes them later). zstd needs
    /// Produce v7+, as in Kafka.
    static func checkCompressed(_ batch: UnsafeRawBufferPointer, header: RecordBatchHeader, version: Int16) -> Refusal? {
        guard header.compression != 0 else { return nil }
        guard let codec = CompressionCodec(rawValue: header.compression), codec != .zstd || version >= 7 else {
            return Refusal(
                code: .unsupportedCompressionType, message: "compression codec \(header.compression) is not supported in Produce v\(version)")
        }
        do {
            try RecordBatch.checkRecords(batch, header: header)
        } catch {
            return Refusal(code: .corruptMessage, message: "a \(codec.name) batch does not decompress into its records: \(error)")
        }
        return nil
    }

    private func markFailed(_ response: inout ProduceResponse, _ failed: [String: String]) {
        for topic in response.responses.indices {
            for partition in response.responses[topic].partitionResponses.indices {
                let key = "\(response.responses[topic].name)/\(response.responses[topic].partitionResponses[partition].index)"
                guard let reason = failed[key] else { continue }
                response.responses[topic].partitionResponses[partition].errorCode = ErrorCode.kafkaStorageError.code
                response.responses[topic].partitionResponses[partition].errorMessage = "not durable: \(reason)"
                response.responses[topic].partitionResponses[partition].baseOffset = -1
            }
        }
    }
}
