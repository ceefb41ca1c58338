import FirestreamFormats
import FirestreamLog
import KafkaProtocol
import KafkaWire
import Logging

extension KafkaBroker {
    /// Earliest (-2), latest (-1), the record with the largest timestamp (-3), the earliest
    /// local (-4, the same here), or the first record at or after a time.
    func listOffsets(_ request: ListOffsetsRequest, principal: Principal) -> ListOffsetsResponse {
        var response = ListOffsetsResponse()
        response.topics = request.topics.map { asked in
            var topicResponse = ListOffsetsResponse.ListOffsetsTopicResponse()
            topicResponse.name = asked.name
            let allowed = principal.maySee(topic: asked.name)
            let topic = allowed ? log.topicIfExists(asked.name) : nil
            topicResponse.partitions = asked.partitions.map { wanted in
                var answer = ListOffsetsResponse.ListOffsetsPartitionResponse()
                answer.partitionIndex = wanted.partitionIndex
                guard allowed else {
                    answer.errorCode = ErrorCode.topicAuthorizationFailed.code
                    return answer
                }
                guard let partition = topic?.partitions.dropFirst(Int(max(wanted.partitionIndex, 0))).first, wanted.partitionIndex >= 0 else {
                    answer.errorCode = ErrorCode.unknownTopicOrPartition.code
                    return answer
                }
                answer.leaderEpoch = 0
                do throws(LogError) {
                    (answer.offset, answer.timestamp) = try offset(in: partition, at: wanted.timestamp, committed: request.isolationLevel == 1)
                } catch {
                    answer.errorCode = ErrorCode(error).code
                }
                return answer
            }
            return topicResponse
        }
        return response
    }

    /// `committed`: the latest offset is the last stable one (read_committed, as Kafka answers).
    private func offset(in partition: PartitionLog, at timestamp: Int64, committed: Bool) throws(LogError) -> (offset: Int64, timestamp: Int64) {
        switch timestamp {
        case -1: return (committed ? partition.lastStableOffset : partition.durableOffset, -1)
        case -2, -4: return (partition.startOffset, -1)
        // The latest offset in tiered storage (v9): there is none, so none, as Kafka answers.
        case -5: return (-1, -1)
        case -3:
            guard let latest = partition.maxTimestamp, let offset = try partition.offset(forTimestamp: latest) else { return (-1, -1) }
            return (offset, latest)
        case _ where timestamp >= 0:
            guard let offset = try partition.offset(forTimestamp: timestamp) else { return (-1, -1) }
            return (offset, try partition.read(from: offset, maxBytes: 1).records.first?.timestamp ?? -1)
        default:
            throw LogError.invalidTopic(partition.topic, reason: "timestamp \(timestamp) is not a time or a known special value")
        }
    }

    func createTopics(_ request: CreateTopicsRequest, principal: Principal) -> CreateTopicsResponse {
        var response = CreateTopicsResponse()
        response.topics = request.topics.map { wanted in
            var result = CreateTopicsResponse.CreatableTopicResult()
            result.name = wanted.name
            result.errorMessage = nil
            result.configs = nil
            // Explicit replica assignments (with -1 partitions and replication factor) must
            // place every partition on this node alone, once each.
            let assigned = wanted.assignments.map(\.partitionIndex).sorted()
            let partitions =
                !assigned.isEmpty ? assigned.count : wanted.numPartitions == -1 ? options.defaultPartitions : Int(wanted.numPartitions)
            let refusal: (ErrorCode, String)? =
                if let denied = principal.refusal(.admin, topic: wanted.name) {
                    (.topicAuthorizationFailed, denied)
                } else if TopicProtection.isInternal(wanted.name) {
                    (.invalidTopic, "names starting with \"__\" are Firestream's internal topics")
                } else if ![-1, 1].contains(wanted.replicationFactor) {
                    (.invalidReplicationFactor, "this broker is one node: the replication factor is 1 (or -1 for the default)")
                } else if !assigned.isEmpty
                    && (assigned != Array(0..<Int32(assigned.count)) || wanted.assignments.contains { $0.brokerIds != [options.nodeID] }
                        || wanted.numPartitions != -1 || wanted.replicationFactor != -1)
                {
                    (
                        .invalidReplicaAssignment,
                        "one node (\(options.nodeID)) holds every partition once, with one replica; partitions and replication factor must then be -1"
                    )
                } else if partitions < 1 {
                    (.invalidPartitions, "a topic needs at least one partition")
                } else {
                    nil
                }
            if let (code, message) = refusal {
                result.errorCode = code.code
                result.errorMessage = message
                return result
            }
            do {
                let settings = try PartitionSettings(kafkaConfigs: wanted.configs.map { ($0.name, $0.value) })
                if request.validateOnly {
                    if log.topicIfExists(wanted.name) != nil { throw LogError.topicExists(wanted.name) }
                } else {
                    let topic = try log.createTopic(wanted.name, partitions: partitions, settings: settings)
                    result.topicId = KafkaUUID(topic.id)
                    logger.info("created topic \(wanted.name) with \(partitions) partition(s) for a Kafka client")
                }
                result.numPartitions = Int32(partitions)
                result.replicationFactor = 1
            } catch let error as LogError {
                result.errorCode = ErrorCode(error).code
                result.errorMessage = "\(error)"
            } catch {
                result.errorCode = ErrorCode.invalidConfig.code
                result.errorMessage = "\(error)"
            }
            return result
        }
        return response
    }

    func deleteTopics(_ request: DeleteTopicsRequest, version: Int16, principal: Principal) -> DeleteTopicsResponse {
        let wanted: [(name: String?, id: KafkaUUID)] =
            version >= 6 ? request.topics.map { ($0.name, $0.topicId) } : request.topicNames.map { ($0, .zero) }
        var response = DeleteTopicsResponse()
        response.responses = wanted.map { wanted in
            var result = DeleteTopicsResponse.DeletableTopicResult()
            result.topicId = wanted.id
            let found = wanted.name.flatMap { log.topicIfExists($0) } ?? (wanted.id == .zero ? nil : topic(withID: wanted.id))
            // A topic asked for by id that the principal may not see is unknown to it.
            let topic = wanted.name == nil && found.map({ !principal.maySee(topic: $0.name) }) == true ? nil : found
            result.name = topic?.name ?? wanted.name
            if let name = result.name, let denied = principal.refusal(.admin, topic: name) {
                result.errorCode = ErrorCode.topicAuthorizationFailed.code
                result.errorMessage = denied
                return result
            }
            guard let topic else {
                result.errorCode = (wanted.name == nil ? ErrorCode.unknownTopicID : .unknownTopicOrPartition).code
                return result
            }
            result.topicId = KafkaUUID(topic.id)
            if let refusal = options.protection.writeRefusal(topic.name) {
                result.errorCode = ErrorCode.topicAuthorizationFailed.code
                result.errorMessage = refusal
                return result
            }
            if let use = options.topicsInUse[topic.name] {
                result.errorCode = ErrorCode.policyViolation.code
                result.errorMessage = "topic \"\(topic.name)\" is \(use): deleting it would stop that; change the project and restart first"
                return result
            }
            do throws(LogError) {
                try log.deleteTopic(topic.name)
                logger.info("deleted topic \(topic.name) for a Kafka client")
            } catch {
                result.errorCode = ErrorCode(error).code
                result.errorMessage = "\(error)"
            }
            return result
        }
        return response
    }
}
