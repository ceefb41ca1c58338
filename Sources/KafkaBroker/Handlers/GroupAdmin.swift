import FirestreamFormats
import FirestreamLog
import KafkaProtocol
import Logging

/// DescribeGroups, ListGroups, DeleteGroups and OffsetDelete: what admin tools and UIs ask about
/// consumer groups. A group is known if it has members or a generation (the coordinator) or
/// committed offsets (tools and assign-mode consumers commit without joining).
extension KafkaBroker {
    /// The group as tools see it, or nil if nothing is known of it.
    func describe(group id: String) -> GroupDescription? {
        if let group = groups.group(id) { return GroupDescription(group) }
        return log.consumerOffsets.committed(group: id).isEmpty ? nil : GroupDescription(offsetsOnly: id)
    }

    func describeGroups(_ request: DescribeGroupsRequest, version: Int16) -> DescribeGroupsResponse {
        var response = DescribeGroupsResponse()
        response.groups = request.groups.map { id in
            var answer = DescribeGroupsResponse.DescribedGroup()
            answer.groupId = id
            guard ConsumerOffsets.isValidGroupName(id) else {
                answer.errorCode = ErrorCode.invalidGroupID.code
                return answer
            }
            // Kafka describes a group nobody knows as Dead, without an error, up to v5.
            let group = describe(group: id)
            answer.groupState = group?.state ?? "Dead"
            answer.protocolType = group?.protocolType ?? ""
            answer.protocolData = group?.protocolName ?? ""
            answer.members = (group?.members ?? []).map { member in
                var described = DescribeGroupsResponse.DescribedGroupMember()
                described.memberId = member.id
                described.groupInstanceId = member.instanceID
                described.clientId = member.clientID
                described.clientHost = member.clientHost
                described.memberMetadata = member.metadata
                described.memberAssignment = member.assignment
                return described
            }
            return answer
        }
        return response
    }

    func listGroups(_ request: ListGroupsRequest, version: Int16) -> ListGroupsResponse {
        var known = Dictionary(uniqueKeysWithValues: groups.descriptions.map { ($0.id, $0) })
        for id in log.consumerOffsets.groupNames where known[id] == nil { known[id] = GroupDescription(offsetsOnly: id) }
        let states = Set(request.statesFilter.map { $0.lowercased() })
        let types = Set(request.typesFilter.map { $0.lowercased() })
        var response = ListGroupsResponse()
        response.groups = known.values.sorted { $0.id < $1.id }.compactMap { group in
            // Only classic groups exist here.
            guard states.isEmpty || states.contains(group.state.lowercased()), types.isEmpty || types.contains("classic") else { return nil }
            var listed = ListGroupsResponse.ListedGroup()
            listed.groupId = group.id
            listed.protocolType = group.protocolType
            listed.groupState = group.state
            listed.groupType = "classic"
            return listed
        }
        return response
    }

    /// Deleting a group forgets its positions: as committing them, it needs the scope to read
    /// every topic they are in.
    func deleteGroups(_ request: DeleteGroupsRequest, principal: Principal) async -> DeleteGroupsResponse {
        var response = DeleteGroupsResponse()
        for id in request.groupsNames {
            var result = DeleteGroupsResponse.DeletableGroupResult()
            result.groupId = id
            result.errorCode = (await deleteGroup(id, principal: principal)).code
            response.results.append(result)
        }
        return response
    }

    private func deleteGroup(_ id: String, principal: Principal) async -> ErrorCode {
        if let refusal = groupRefusal(id) { return refusal }
        guard describe(group: id) != nil else { return .groupIDNotFound }
        guard log.consumerOffsets.committed(group: id).keys.allSatisfy({ principal.may(.read, topic: $0) }) else { return .groupAuthorizationFailed }
        let membership = await groups.delete(id)
        guard membership == .none else { return membership }
        do {
            try await log.consumerOffsets.delete(group: id)
        } catch {
            logger.error("cannot delete the offsets of group \(id): \(error)")
            return ErrorCode(error)
        }
        logger.info("deleted consumer group \(id) for a Kafka client")
        return .none
    }

    func offsetDelete(_ request: OffsetDeleteRequest, principal: Principal) async -> OffsetDeleteResponse {
        var response = OffsetDeleteResponse()
        if let refusal = groupRefusal(request.groupId) {
            response.errorCode = refusal.code
            return response
        }
        guard let group = describe(group: request.groupId) else {
            response.errorCode = ErrorCode.groupIDNotFound.code
            return response
        }
        // Offsets of a topic the members consume would be committed again (or lost under them).
        let subscribed = Set(group.members.flatMap { $0.subscribedTopics ?? [] })
        var deleting: [(topic: String, partition: Int)] = []
        response.topics = request.topics.map { topic in
            var answer = OffsetDeleteResponse.OffsetDeleteResponseTopic()
            answer.name = topic.name
            answer.partitions = topic.partitions.map { partition in
                var result = OffsetDeleteResponse.OffsetDeleteResponsePartition()
                result.partitionIndex = partition.partitionIndex
                if !principal.may(.read, topic: topic.name) {
                    result.errorCode = ErrorCode.topicAuthorizationFailed.code
                } else if subscribed.contains(topic.name) {
                    result.errorCode = ErrorCode.groupSubscribedToTopic.code
                } else {
                    deleting.append((topic.name, Int(partition.partitionIndex)))
                }
                return result
            }
            return answer
        }
        guard !deleting.isEmpty else { return response }
        do {
            try await log.consumerOffsets.delete(group: request.groupId, partitions: deleting)
        } catch {
            logger.error("cannot delete offsets of group \(request.groupId): \(error)")
            response.errorCode = ErrorCode(error).code
        }
        return response
    }
}
