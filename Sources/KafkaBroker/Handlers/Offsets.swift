import FirestreamLog
import KafkaProtocol
import Logging

/// Committed offsets: from group members (checked against their generation), and from
/// consumers that assign their own partitions and tools (generation -1, no member id) while no
/// member manages the group. Offsets and their metadata are durable in the log directory and
/// survive restarts.
extension KafkaBroker {
    /// This node coordinates every group; transactions are not offered.
    func findCoordinator(_ request: FindCoordinatorRequest, version: Int16) -> FindCoordinatorResponse {
        var response = FindCoordinatorResponse()
        let error: ErrorCode = request.keyType == 0 ? .none : .coordinatorNotAvailable
        let message = error == .none ? nil : "only consumer groups have a coordinator here (key type \(request.keyType))"
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

    func offsetCommit(_ request: OffsetCommitRequest, version: Int16) async -> OffsetCommitResponse {
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
            answer.partitions = topic.partitions.map { partition in
                var result = OffsetCommitResponse.OffsetCommitResponsePartition()
                result.partitionIndex = partition.partitionIndex
                if let refusal {
                    result.errorCode = refusal.code
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

    func offsetFetch(_ request: OffsetFetchRequest, version: Int16) -> OffsetFetchResponse {
        var response = OffsetFetchResponse()
        if version >= 8 {
            response.groups = request.groups.map { group in
                var answer = OffsetFetchResponse.OffsetFetchResponseGroup()
                answer.groupId = group.groupId
                answer.topics = committed(group.groupId, asked: group.topics.map { $0.map { ($0.name, $0.partitionIndexes) } }).map {
                    name, partitions in
                    var topic = OffsetFetchResponse.OffsetFetchResponseTopics()
                    topic.name = name
                    topic.partitions = partitions.map { index, entry in
                        var partition = OffsetFetchResponse.OffsetFetchResponsePartitions()
                        partition.partitionIndex = index
                        partition.committedOffset = entry?.offset ?? -1
                        partition.metadata = entry?.metadata ?? ""
                        return partition
                    }
                    return topic
                }
                return answer
            }
        } else {
            response.topics = committed(request.groupId, asked: request.topics.map { $0.map { ($0.name, $0.partitionIndexes) } }).map {
                name, partitions in
                var topic = OffsetFetchResponse.OffsetFetchResponseTopic()
                topic.name = name
                topic.partitions = partitions.map { index, entry in
                    var partition = OffsetFetchResponse.OffsetFetchResponsePartition()
                    partition.partitionIndex = index
                    partition.committedOffset = entry?.offset ?? -1
                    partition.metadata = entry?.metadata ?? ""
                    return partition
                }
                return topic
            }
        }
        return response
    }

    /// The committed entries for the partitions asked (nil: every partition the group committed),
    /// nil where nothing was committed.
    private func committed(_ group: String, asked: [(String, [Int32])]?) -> [(String, [(Int32, ConsumerOffsets.Entry?)])] {
        let stored = log.consumerOffsets.committed(group: group)
        guard let asked else {
            return stored.keys.sorted().map { topic in
                (topic, stored[topic, default: [:]].keys.sorted().map { (Int32(clamping: $0), stored[topic]?[$0]) })
            }
        }
        return asked.map { topic, partitions in (topic, partitions.map { ($0, stored[topic]?[Int($0)]) }) }
    }
}
