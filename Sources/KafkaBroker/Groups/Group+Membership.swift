/// SyncGroup, Heartbeat, LeaveGroup and the passing of time, for one group.
extension GroupTable.Group {
    mutating func sync(
        _ request: GroupTable.SyncRequest, waiter: GroupTable.Waiter, now: Int64, settings: GroupTable.Settings, effects: inout [Effect]
    ) -> SyncResult? {
        guard let member = members[request.memberID] else { return .failed(.unknownMemberID) }
        if let instance = request.instanceID, member.instanceID != instance { return .failed(.fencedInstanceID) }
        guard request.generation == generation else { return .failed(.illegalGeneration) }
        if let type = request.protocolType, type != protocolType { return .failed(.inconsistentGroupProtocol) }
        if let name = request.protocolName, name != protocolName { return .failed(.inconsistentGroupProtocol) }
        switch state {
        case .empty:
            return .failed(.unknownMemberID)
        case .preparingRebalance:
            return .failed(.rebalanceInProgress)
        case .stable:
            members[member.id]?.deadline = now + member.sessionTimeout
            return SyncResult(protocolType: protocolType, protocolName: protocolName, assignment: member.assignment)
        case .completingRebalance:
            if let previous = member.syncWaiter { effects.append(.answerSync(previous, .failed(.rebalanceInProgress))) }
            members[member.id]?.syncWaiter = waiter
            guard member.id == leader else { return nil }
            // The leader's assignment: every member gets its part (an empty one if the leader
            // gave it none), once the group is written down.
            var given: [String: [UInt8]] = [:]
            for (memberID, assignment) in request.assignments { given[memberID] = assignment }
            for id in members.keys { members[id]?.assignment = given[id] ?? [] }
            state = .stable
            syncDeadline = nil
            effects.append(.persist(self.id))
            for member in members.values {
                if let waiter = member.syncWaiter {
                    effects.append(
                        .answerSync(waiter, SyncResult(protocolType: protocolType, protocolName: protocolName, assignment: member.assignment)))
                }
                members[member.id]?.syncWaiter = nil
                members[member.id]?.deadline = now + member.sessionTimeout
            }
            return nil
        }
    }

    mutating func heartbeat(generation: Int32, memberID: String, instanceID: String?, now: Int64) -> ErrorCode {
        guard let member = members[memberID], state != .empty else { return .unknownMemberID }
        if let instanceID, member.instanceID != instanceID { return .fencedInstanceID }
        guard generation == self.generation else { return .illegalGeneration }
        members[memberID]?.deadline = now + member.sessionTimeout
        return state == .preparingRebalance ? .rebalanceInProgress : .none
    }

    /// Also what a commit from a member checks (Kafka's rules for OffsetCommit): the member
    /// must be in the group's current generation, and not in the middle of a rebalance's
    /// assignment.
    mutating func validateCommit(generation: Int32, memberID: String, instanceID: String?, now: Int64) -> ErrorCode {
        if generation < 0 && memberID.isEmpty && instanceID == nil {
            // An assign-mode consumer or a tool: only while no member manages the group.
            return state == .empty ? .none : .unknownMemberID
        }
        guard let member = members[memberID] else { return .unknownMemberID }
        if let instanceID, member.instanceID != instanceID { return .fencedInstanceID }
        guard generation == self.generation else { return .illegalGeneration }
        if state == .completingRebalance { return .rebalanceInProgress }
        members[memberID]?.deadline = now + member.sessionTimeout
        return .none
    }

    mutating func leave(memberID: String, instanceID: String?, now: Int64, settings: GroupTable.Settings, effects: inout [Effect]) -> ErrorCode {
        var id = memberID
        if let instanceID {
            guard let member = member(instance: instanceID) else { return .unknownMemberID }
            if !memberID.isEmpty && member.id != memberID { return .fencedInstanceID }
            id = member.id
        }
        if pending.removeValue(forKey: id) != nil {
            tryCompleteJoin(now: now, effects: &effects)
            return .none
        }
        guard members[id] != nil else { return .unknownMemberID }
        remove(id, now: now, settings: settings, effects: &effects)
        return .none
    }

    mutating func remove(_ id: String, now: Int64, settings: GroupTable.Settings, effects: inout [Effect]) {
        guard let member = members.removeValue(forKey: id) else { return }
        answer(member, join: .failed(.unknownMemberID, memberID: id), sync: .failed(.unknownMemberID), effects: &effects)
        switch state {
        case .stable, .completingRebalance: prepareRebalance(now: now, settings: settings, effects: &effects)
        case .preparingRebalance: tryCompleteJoin(now: now, effects: &effects)
        case .empty: break
        }
    }

    mutating func tick(now: Int64, settings: GroupTable.Settings, effects: inout [Effect]) {
        for member in membersInOrder where !member.isWaiting && member.deadline <= now {
            remove(member.id, now: now, settings: settings, effects: &effects)
        }
        let expired = pending.filter { $0.value <= now }
        if !expired.isEmpty {
            for id in expired.keys { pending[id] = nil }
            tryCompleteJoin(now: now, effects: &effects)
        }
        if let delay = initialDelay, delay.until <= now {
            if delay.grew && delay.until < delay.limit {
                initialDelay = GroupTable.InitialDelay(
                    until: min(delay.until + settings.initialRebalanceDelay, delay.limit), limit: delay.limit, grew: false)
            } else {
                completeJoin(now: now, effects: &effects)
            }
        }
        if state == .preparingRebalance, initialDelay == nil, let deadline = rebalanceDeadline, deadline <= now {
            completeJoin(now: now, effects: &effects)
        }
        if state == .completingRebalance, let deadline = syncDeadline, deadline <= now {
            // Members that never synced (the leader among them, or the rest would be stable).
            for member in membersInOrder where member.syncWaiter == nil { remove(member.id, now: now, settings: settings, effects: &effects) }
        }
    }
}
