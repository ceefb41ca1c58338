import FirestreamFormats
import FirestreamLog
import KafkaProtocol
import Logging

/// Committed offsets: from group members (checked against their generation), and from
/// consumers that assign their own partitions and tools (generation -1, no member id) while no
/// member manages the group. Offsets and their metadata are durable in the log directory and
/// survive restarts.
extension KafkaBroker {
    /// This node coordinates every group and every transaction.
    func findCoordinator(_ request: FindCoordinatorRequest, version: Int16) -> FindCoordinatorResponse {
        var response = FindCoordinatorResponse()
        let error: ErrorCode = request.keyType == 0 || request.keyType == 1 ? .none : .coordinatorNotAvailable
        let message = error == .none ? nil : "only consumer groups and transactions have a coordinator here (key type \(request.keyType))"
        if version >= 4 {
            response.coordinators = request.coordinatorKeys.map { key in
                var coordinator = FindCoordinatorResponse.Coordinator()
                coordinator.key = key
                coordinator.errorCode = error.code
                coordinator.errorMessage = message
                if error == .none {
                    coordinator.nodeId = options.nodeID
                    coordinator.host = options.advertisedHost
                    coordinator.port = Int32(clamping: advertisedPort)
                } else {
                    coordinator.nodeId = -1
                    coordinator.port = -1
                }
                return coordinator
            }
        } else {
            response.errorCode = error.code
            response.errorMessage = message
            response.nodeId = error == .none ? options.nodeID : -1
            response.host = error == .none ? options.advertisedHost : ""
            response.port = error == .none ? Int32(clamping: advertisedPort) : -1
        }
        return response
    }

    /// Committing a position in a topic needs the scope to read it.
    func offsetCommit(_ request: OffsetCommitRequest, version: Int16, principal: Principal) async -> OffsetCommitResponse {
        var refusal = groupRefusal(request.groupId)
        if refusal == nil {
            // A member commits in its generation; a tool or an assign-mode consumer (generation
            // -1, no member) only while no member manages the group.
            let check = groups.validateCommit(
                group: request.groupId, generation: request.generationIdOrMemberEpoch, memberID: request.memberId,
                instanceID: version >= 7 ? request.groupInstanceId : nil)
            refusal = check == .none ? nil : check
        }
        var commits: [ConsumerOffsets.Commit] = []
        var response = OffsetCommitResponse()
        response.topics = request.topics.map { topic in
            var answer = OffsetCommitResponse.OffsetCommitResponseTopic()
            answer.name = topic.name
            let partitions = log.topicIfExists(topic.name)?.partitions.count ?? 0
            let allowed = principal.may(.read, topic: topic.name)
            answer.partitions = topic.partitions.map { partition in
                var result = OffsetCommitResponse.OffsetCommitResponsePartition()
                result.partitionIndex = partition.partitionIndex
                if let refusal {
                    result.errorCode = refusal.code
                } else if !allowed {
                    result.errorCode = ErrorCode.topicAuthorizationFailed.code
                } else if partition.partitionIndex < 0 || Int(partition.partitionIndex) >= partitions {
                    result.errorCode = ErrorCode.unknownTopicOrPartition.code
                } else {
                    let entry = ConsumerOffsets.Entry(offset: partition.committedOffset, metadata: partition.committedMetadata)
                    commits.append(ConsumerOffsets.Commit(topic: topic.name, partition: Int(partition.partitionIndex), entry: entry))
                }
                return result
            }
            return answer
        }
        guard !commits.isEmpty else { return response }
        do {
            try await log.consumerOffsets.commit(group: request.groupId, commits)
        } catch {
            logger.error("cannot commit offsets of group \(request.groupId): \(error)")
            for topic in response.topics.indices {
                for partition in response.topics[topic].partitions.indices where response.topics[topic].partitions[partition].errorCode == 0 {
                    response.topics[topic].partitions[partition].errorCode = ErrorCode(error).code
                }
            }
        }
        return response
    }

    /// Committed positions in topics the principal may see (all of them: those it may see).
    func offsetFetch(_ request: OffsetFetchRequest, version: Int16, principal: Principal) -> OffsetFetchResponse {
        var response = OffsetFetchResponse()
        if version >= 8 {
            response.groups = request.groups.map { group in
                var answer = OffsetFetchResponse.OffsetFetchResponseGroup()
                answer.groupId = group.groupId
                let asked = group.topics.map { $0.map { ($0.name, $0.partitionIndexes) } }
                answer.topics = committed(group.groupId, asked: asked, principal: principal, requireStable: request.requireStable).map {
                    name, partitions in
                    var topic = OffsetFetchResponse.OffsetFetchResponseTopics()
                    topic.name = name
                    topic.partitions = partitions.map { index, entry, error in
                        var partition = OffsetFetchResponse.OffsetFetchResponsePartitions()
                        partition.partitionIndex = index
                        partition.errorCode = error.code
                        partition.committedOffset = entry?.offset ?? -1
                        partition.metadata = entry?.metadata ?? ""
                        return partition
                    }
                    return topic
                }
                return answer
            }
        } else {
            let asked = request.topics.map { $0.map { ($0.name, $0.partitionIndexes) } }
            response.topics = committed(request.groupId, asked: asked, principal: principal, requireStable: request.requireStable).map {
                name, partitions in
                var topic = OffsetFetchResponse.OffsetFetchResponseTopic()
                topic.name = name
                topic.partitions = partitions.map { index, entry, error in
                    var partition = OffsetFetchResponse.OffsetFetchResponsePartition()
                    partition.partitionIndex = index
                    partition.errorCode = error.code
                    partition.committedOffset = entry?.offset ?? -1
                    partition.metadata = entry?.metadata ?? ""
                    return partition
                }
                return topic
            }
        }
        return response
    }

    /// The committed entries for the partitions asked (nil: every partition the group committed
    /// in topics the principal may see), nil where nothing was committed, with each one's error.
    /// With `requireStable`, a partition whose offset waits for a transaction to commit answers
    /// UNSTABLE_OFFSET_COMMIT (the client asks again).
    private func committed(
        _ group: String, asked: [(String, [Int32])]?, principal: Principal, requireStable: Bool
    ) -> [(String, [(Int32, ConsumerOffsets.Entry?, ErrorCode)])] {
        let stored = log.consumerOffsets.committed(group: group)
        let pending = requireStable ? transactions.pendingOffsets.withLock { $0[group] ?? [] } : []
        guard let asked else {
            return stored.keys.sorted().filter { principal.maySee(topic: $0) }.map { topic in
                (topic, stored[topic, default: [:]].keys.sorted().map { (Int32(clamping: $0), stored[topic]?[$0], .none) })
            }
        }
        return asked.map { topic, partitions in
            let allowed = principal.maySee(topic: topic)
            return (
                topic,
                partitions.map { index in
                    guard allowed else { return (index, nil, .topicAuthorizationFailed) }
                    if pending.contains(.init(topic: topic, partition: Int(index))) { return (index, nil, .unstableOffsetCommit) }
                    return (index, stored[topic]?[Int(index)], .none)
                }
            )
        }
    }
}
