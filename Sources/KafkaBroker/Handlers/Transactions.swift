import FirestreamFormats
import FirestreamLog
import KafkaProtocol
import Logging

/// Kafka transactions (see ``TransactionCoordinator``): producers with a transactional id,
/// the partitions and offsets of their open transaction, and its commit or abort. A principal
/// needs the write scope somewhere to use a transactional id, and to write each partition.
extension KafkaBroker {
    /// A producer id and epoch: new for an idempotent producer; for a transactional one, its
    /// id's own under a new epoch (older instances are fenced, an open transaction aborted).
    func initProducerID(_ request: InitProducerIdRequest, principal: Principal) async -> InitProducerIdResponse {
        var response = InitProducerIdResponse()
        // As Kafka: idempotent producers are for principals that may write somewhere.
        guard principal.writesSomewhere else {
            response.errorCode =
                (request.transactionalId ?? "").isEmpty
                ? ErrorCode.clusterAuthorizationFailed.code
                : ErrorCode.transactionalIDAuthorizationFailed.code
            return response
        }
        if let id = request.transactionalId, !id.isEmpty {
            switch await transactions.initProducer(id: id, timeoutMs: request.transactionTimeoutMs, principal: principal.name) {
            case .success(let (producerId, epoch)):
                response.producerId = producerId
                response.producerEpoch = epoch
            case .failure(let refusal):
                logger.debug("InitProducerId for \(id) refused: \(refusal.message)")
                response.errorCode = refusal.code.code
            }
            return response
        }
        do {
            response.producerId = try log.newProducerID()
            response.producerEpoch = 0
        } catch {
            logger.error("cannot give out a producer id: \(error)")
            response.errorCode = ErrorCode.kafkaStorageError.code
        }
        return response
    }

    /// Partitions join the producer's open transaction; all or none (the others answer
    /// OPERATION_NOT_ATTEMPTED when one is refused).
    func addPartitionsToTxn(_ request: AddPartitionsToTxnRequest, principal: Principal) async -> AddPartitionsToTxnResponse {
        var errors: [(String, Int32, ErrorCode)] = []
        var partitions: [TransactionCoordinator.Partition] = []
        for topic in request.v3AndBelowTopics {
            let count = log.topicIfExists(topic.name)?.partitions.count ?? 0
            let refusal = principal.refusal(.write, topic: topic.name) ?? options.protection.writeRefusal(topic.name)
            for index in topic.partitions {
                let error: ErrorCode =
                    refusal != nil ? .topicAuthorizationFailed : index < 0 || Int(index) >= count ? .unknownTopicOrPartition : .none
                errors.append((topic.name, index, error))
                partitions.append(.init(topic: topic.name, partition: Int(index)))
            }
        }
        if errors.allSatisfy({ $0.2 == .none }) {
            if let refusal = await transactions.addPartitions(
                id: request.v3AndBelowTransactionalId, producerId: request.v3AndBelowProducerId, epoch: request.v3AndBelowProducerEpoch,
                principal: principal.name, partitions)
            {
                logger.debug("AddPartitionsToTxn refused: \(refusal.message)")
                errors = errors.map { ($0.0, $0.1, refusal.code) }
            }
        } else {
            errors = errors.map { ($0.0, $0.1, $0.2 == .none ? .operationNotAttempted : $0.2) }
        }
        var response = AddPartitionsToTxnResponse()
        var byTopic: [String: [AddPartitionsToTxnResponse.AddPartitionsToTxnPartitionResult]] = [:]
        var order: [String] = []
        for (topic, index, error) in errors {
            if byTopic[topic] == nil { order.append(topic) }
            var result = AddPartitionsToTxnResponse.AddPartitionsToTxnPartitionResult()
            result.partitionIndex = index
            result.partitionErrorCode = error.code
            byTopic[topic, default: []].append(result)
        }
        response.resultsByTopicV3AndBelow = order.map { topic in
            var result = AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult()
            result.name = topic
            result.resultsByPartition = byTopic[topic] ?? []
            return result
        }
        return response
    }

    /// The transaction will commit a consumer group's offsets.
    func addOffsetsToTxn(_ request: AddOffsetsToTxnRequest, principal: Principal) async -> AddOffsetsToTxnResponse {
        var response = AddOffsetsToTxnResponse()
        if let refusal = groupRefusal(request.groupId) {
            response.errorCode = refusal.code
        } else if let refusal = await transactions.addPartitions(
            id: request.transactionalId, producerId: request.producerId, epoch: request.producerEpoch, principal: principal.name, [])
        {
            logger.debug("AddOffsetsToTxn refused: \(refusal.message)")
            response.errorCode = refusal.code.code
        }
        return response
    }

    /// Offsets that the group commits if the transaction commits. Committing a position in a
    /// topic needs the scope to read it, as OffsetCommit.
    func txnOffsetCommit(_ request: TxnOffsetCommitRequest, principal: Principal) async -> TxnOffsetCommitResponse {
        var offsets: [TransactionCoordinator.PendingOffset] = []
        var errors: [[ErrorCode]] = []
        let groupError = groupRefusal(request.groupId)
        for topic in request.topics {
            let count = log.topicIfExists(topic.name)?.partitions.count ?? 0
            let allowed = principal.may(.read, topic: topic.name)
            errors.append(
                topic.partitions.map { partition in
                    if let groupError { return groupError }
                    guard allowed else { return .topicAuthorizationFailed }
                    guard partition.partitionIndex >= 0, Int(partition.partitionIndex) < count else { return .unknownTopicOrPartition }
                    offsets.append(
                        .init(
                            group: request.groupId, topic: topic.name, partition: Int(partition.partitionIndex),
                            entry: ConsumerOffsets.Entry(offset: partition.committedOffset, metadata: partition.committedMetadata)))
                    return .none
                })
        }
        if !offsets.isEmpty,
            let refusal = await transactions.commitOffsets(
                id: request.transactionalId, producerId: request.producerId, epoch: request.producerEpoch, principal: principal.name, offsets)
        {
            logger.debug("TxnOffsetCommit refused: \(refusal.message)")
            errors = errors.map { $0.map { $0 == .none ? refusal.code : $0 } }
        }
        var response = TxnOffsetCommitResponse()
        response.topics = zip(request.topics, errors).map { topic, codes in
            var answer = TxnOffsetCommitResponse.TxnOffsetCommitResponseTopic()
            answer.name = topic.name
            answer.partitions = zip(topic.partitions, codes).map { partition, code in
                var result = TxnOffsetCommitResponse.TxnOffsetCommitResponsePartition()
                result.partitionIndex = partition.partitionIndex
                result.errorCode = code.code
                return result
            }
            return answer
        }
        return response
    }

    /// Commits or aborts: answered once the markers (and committed offsets) are durable.
    func endTxn(_ request: EndTxnRequest, principal: Principal) async -> EndTxnResponse {
        var response = EndTxnResponse()
        if let refusal = await transactions.endTransaction(
            id: request.transactionalId, producerId: request.producerId, epoch: request.producerEpoch, principal: principal.name,
            commit: request.committed)
        {
            logger.debug("EndTxn refused: \(refusal.message)")
            response.errorCode = refusal.code.code
        }
        return response
    }
}
