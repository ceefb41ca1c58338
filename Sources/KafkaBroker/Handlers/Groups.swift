import FirestreamLog
import KafkaProtocol

/// JoinGroup, SyncGroup, Heartbeat and LeaveGroup: the classic consumer-group protocol that
/// `subscribe()` uses in every client here (librdkafka, kafka-python, aiokafka). The rules
/// live in ``GroupTable``; this maps each version's fields onto them.
extension KafkaBroker {
    /// Why a group may not be joined or committed to by a client, if it may not.
    func groupRefusal(_ group: String) -> ErrorCode? {
        if !ConsumerOffsets.isValidGroupName(group) { return .invalidGroupID }
        // Firestream's own effects keep their positions in these; a client may read them only.
        if options.ownedGroups.contains(group) { return .groupAuthorizationFailed }
        return nil
    }

    func joinGroup(_ request: JoinGroupRequest, _ call: SupportedAPIs.Call) async -> JoinGroupResponse {
        var response = JoinGroupResponse()
        response.memberId = request.memberId
        response.protocolName = call.version >= 7 ? nil : ""
        if let refusal = groupRefusal(request.groupId) {
            response.errorCode = refusal.code
            return response
        }
        let metadataBytes = request.protocols.reduce(0) { $0 + $1.metadata.count }
        guard request.protocols.count <= 64, metadataBytes <= 1 << 20 else {
            // Kept in memory and on disk for every member: bounded.
            response.errorCode = ErrorCode.invalidRequest.code
            return response
        }
        let sessionTimeout = Int64(request.sessionTimeoutMs)
        // v0 has no rebalance timeout: the session timeout serves for both, as in Kafka.
        let rebalanceTimeout = call.version >= 1 && request.rebalanceTimeoutMs >= 0 ? Int64(request.rebalanceTimeoutMs) : sessionTimeout
        let result = await groups.join(
            GroupTable.JoinRequest(
                groupID: request.groupId, memberID: request.memberId, instanceID: call.version >= 5 ? request.groupInstanceId : nil,
                clientID: call.clientID, clientHost: call.clientHost, sessionTimeout: sessionTimeout, rebalanceTimeout: rebalanceTimeout,
                protocolType: request.protocolType,
                protocols: request.protocols.map { GroupTable.MemberProtocol(name: $0.name, metadata: $0.metadata) },
                requireKnownMemberID: call.version >= 4))
        response.errorCode = result.error.code
        response.generationId = result.generation
        response.protocolType = result.protocolType
        response.protocolName = result.protocolName ?? response.protocolName
        response.leader = result.leader
        response.memberId = result.memberID
        response.members = result.members.map { member in
            var answer = JoinGroupResponse.JoinGroupResponseMember()
            answer.memberId = member.id
            answer.groupInstanceId = member.instanceID
            answer.metadata = member.metadata
            return answer
        }
        return response
    }

    func syncGroup(_ request: SyncGroupRequest, _ call: SupportedAPIs.Call) async -> SyncGroupResponse {
        var response = SyncGroupResponse()
        if let refusal = groupRefusal(request.groupId) {
            response.errorCode = refusal.code
            return response
        }
        let result = await groups.sync(
            GroupTable.SyncRequest(
                groupID: request.groupId, generation: request.generationId, memberID: request.memberId,
                instanceID: call.version >= 3 ? request.groupInstanceId : nil, protocolType: call.version >= 5 ? request.protocolType : nil,
                protocolName: call.version >= 5 ? request.protocolName : nil,
                assignments: request.assignments.map { ($0.memberId, $0.assignment) }))
        response.errorCode = result.error.code
        response.protocolType = result.protocolType
        response.protocolName = result.protocolName
        response.assignment = result.assignment
        return response
    }

    func heartbeat(_ request: HeartbeatRequest) -> HeartbeatResponse {
        var response = HeartbeatResponse()
        response.errorCode =
            (groupRefusal(request.groupId)
            ?? groups.heartbeat(
                group: request.groupId, generation: request.generationId, memberID: request.memberId, instanceID: request.groupInstanceId))
            .code
        return response
    }

    func leaveGroup(_ request: LeaveGroupRequest, _ call: SupportedAPIs.Call) async -> LeaveGroupResponse {
        var response = LeaveGroupResponse()
        if let refusal = groupRefusal(request.groupId) {
            response.errorCode = refusal.code
            return response
        }
        // v3+ may name several members (and static members by instance id).
        let leaving: [(memberID: String, instanceID: String?)] =
            call.version >= 3 ? request.members.map { ($0.memberId, $0.groupInstanceId) } : [(request.memberId, nil)]
        guard let errors = await groups.leave(group: request.groupId, members: leaving) else {
            response.errorCode = ErrorCode.unknownMemberID.code
            return response
        }
        if call.version >= 3 {
            response.members = zip(leaving, errors).map { member, error in
                var answer = LeaveGroupResponse.MemberResponse()
                answer.memberId = member.memberID
                answer.groupInstanceId = member.instanceID
                answer.errorCode = error.code
                return answer
            }
        } else {
            response.errorCode = errors.first?.code ?? 0
        }
        return response
    }
}
