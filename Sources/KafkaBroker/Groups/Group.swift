/// One group's side of the classic protocol (see ``GroupTable``). Every transition follows
/// Kafka's GroupCoordinator: Empty → PreparingRebalance (members join) → CompletingRebalance
/// (the leader assigns) → Stable, and back to PreparingRebalance when a member joins, leaves,
/// changes its protocols or times out.
extension GroupTable.Group {
    typealias Effect = GroupTable.Effect
    typealias JoinResult = GroupTable.JoinResult
    typealias SyncResult = GroupTable.SyncResult

    mutating func join(
        _ request: GroupTable.JoinRequest, waiter: GroupTable.Waiter, now: Int64, newMemberID: String, settings: GroupTable.Settings,
        effects: inout [Effect]
    ) -> JoinResult? {
        if !members.isEmpty {
            // Every member must speak the group's protocol type and share one protocol with the rest.
            let shared = request.protocols.contains { offered in members.values.allSatisfy { $0.protocols.contains { $0.name == offered.name } } }
            guard protocolType == request.protocolType, shared else { return .failed(.inconsistentGroupProtocol, memberID: request.memberID) }
        }
        guard request.memberID.isEmpty else {
            if pending.removeValue(forKey: request.memberID) != nil {
                return add(request.memberID, request, waiter: waiter, now: now, settings: settings, effects: &effects)
            }
            guard let member = members[request.memberID] else { return .failed(.unknownMemberID, memberID: request.memberID) }
            if let instance = request.instanceID, member.instanceID != instance { return .failed(.fencedInstanceID, memberID: request.memberID) }
            return rejoin(member.id, request, waiter: waiter, now: now, settings: settings, effects: &effects)
        }
        if let instance = request.instanceID, let old = member(instance: instance) {
            // A static member back with a new id: it takes over its old self, which is fenced.
            answer(old, join: .failed(.fencedInstanceID, memberID: old.id), sync: .failed(.fencedInstanceID), effects: &effects)
            var member = old
            member.id = newMemberID
            member.joinWaiter = nil
            member.syncWaiter = nil
            members[old.id] = nil
            members[newMemberID] = member
            if leader == old.id { leader = newMemberID }
            return rejoin(newMemberID, request, waiter: waiter, now: now, settings: settings, effects: &effects)
        }
        guard members.count + pending.count < settings.maxMembers else { return .failed(.groupMaxSizeReached) }
        if request.requireKnownMemberID && request.instanceID == nil {
            pending[newMemberID] = now + request.sessionTimeout
            return .failed(.memberIDRequired, memberID: newMemberID)
        }
        return add(newMemberID, request, waiter: waiter, now: now, settings: settings, effects: &effects)
    }

    private mutating func add(
        _ id: String, _ request: GroupTable.JoinRequest, waiter: GroupTable.Waiter, now: Int64, settings: GroupTable.Settings,
        effects: inout [Effect]
    ) -> JoinResult? {
        if members.isEmpty { protocolType = request.protocolType }
        members[id] = GroupTable.Member(
            id: id, instanceID: request.instanceID, clientID: request.clientID, clientHost: request.clientHost,
            sessionTimeout: request.sessionTimeout, rebalanceTimeout: request.rebalanceTimeout, protocols: request.protocols,
            joinOrder: nextJoinOrder, deadline: now + request.sessionTimeout, joinWaiter: waiter)
        nextJoinOrder += 1
        initialDelay?.grew = true
        if state == .preparingRebalance {
            tryCompleteJoin(now: now, effects: &effects)
        } else {
            prepareRebalance(now: now, settings: settings, effects: &effects)
        }
        return nil
    }

    /// A member already in the group joins again.
    private mutating func rejoin(
        _ id: String, _ request: GroupTable.JoinRequest, waiter: GroupTable.Waiter, now: Int64, settings: GroupTable.Settings,
        effects: inout [Effect]
    ) -> JoinResult? {
        guard var member = members[id] else { return .failed(.unknownMemberID, memberID: id) }
        let changed = member.protocols != request.protocols
        member.protocols = request.protocols
        member.sessionTimeout = request.sessionTimeout
        member.rebalanceTimeout = request.rebalanceTimeout
        member.clientID = request.clientID
        member.clientHost = request.clientHost
        member.deadline = now + request.sessionTimeout
        if let previous = member.joinWaiter {
            // The same member asks again (a new connection): the older request gets nothing useful.
            effects.append(.answerJoin(previous, .failed(.rebalanceInProgress, memberID: id)))
        }
        member.joinWaiter = nil
        members[id] = member
        switch state {
        case .preparingRebalance:
            members[id]?.joinWaiter = waiter
            tryCompleteJoin(now: now, effects: &effects)
            return nil
        case .completingRebalance where !changed:
            // It may have missed the answer to its first join: the same generation again.
            return currentJoin(for: id)
        case .stable where !changed && leader != id:
            return currentJoin(for: id)
        case .empty:
            return .failed(.unknownMemberID, memberID: id)
        case .completingRebalance, .stable:
            members[id]?.joinWaiter = waiter
            prepareRebalance(now: now, settings: settings, effects: &effects)
            return nil
        }
    }

    func currentJoin(for id: String) -> JoinResult {
        var result = JoinResult(generation: generation, protocolType: protocolType, protocolName: protocolName, leader: leader ?? "", memberID: id)
        if id == leader {
            result.members = membersInOrder.map { member in
                GroupTable.JoinedMember(
                    id: member.id, instanceID: member.instanceID, metadata: member.protocols.first { $0.name == protocolName }?.metadata ?? [])
            }
        }
        return result
    }

    mutating func prepareRebalance(now: Int64, settings: GroupTable.Settings, effects: inout [Effect]) {
        if state == .completingRebalance {
            for member in members.values {
                if let waiter = member.syncWaiter { effects.append(.answerSync(waiter, .failed(.rebalanceInProgress))) }
                members[member.id]?.syncWaiter = nil
                members[member.id]?.assignment = []
            }
        }
        syncDeadline = nil
        if state == .empty && settings.initialRebalanceDelay > 0 {
            let limit = now + max(longestRebalanceTimeout, settings.initialRebalanceDelay)
            initialDelay = GroupTable.InitialDelay(until: now + settings.initialRebalanceDelay, limit: limit, grew: false)
        } else {
            rebalanceDeadline = now + longestRebalanceTimeout
        }
        state = .preparingRebalance
        tryCompleteJoin(now: now, effects: &effects)
    }

    /// Completes the rebalance if every known member has rejoined and no handed-out id is
    /// still expected.
    mutating func tryCompleteJoin(now: Int64, effects: inout [Effect]) {
        guard state == .preparingRebalance, initialDelay == nil, pending.isEmpty else { return }
        guard members.values.allSatisfy({ $0.joinWaiter != nil }) else { return }
        completeJoin(now: now, effects: &effects)
    }

    /// A new generation with whoever has rejoined.
    mutating func completeJoin(now: Int64, effects: inout [Effect]) {
        for member in members.values where member.joinWaiter == nil { members[member.id] = nil }
        pending = [:]
        rebalanceDeadline = nil
        initialDelay = nil
        generation = generation == .max ? 1 : generation + 1
        guard !members.isEmpty else {
            state = .empty
            protocolName = nil
            leader = nil
            effects.append(.persist(id))
            return
        }
        protocolName = chooseProtocol()
        if leader.map({ members[$0] == nil }) ?? true { leader = membersInOrder.first?.id }
        state = .completingRebalance
        syncDeadline = now + longestRebalanceTimeout
        for member in members.values {
            if let waiter = member.joinWaiter { effects.append(.answerJoin(waiter, currentJoin(for: member.id))) }
            members[member.id]?.joinWaiter = nil
            members[member.id]?.deadline = now + member.sessionTimeout
        }
    }

    /// The protocol every member supports that most members prefer (each votes for its first
    /// choice among those), ties going to the earliest member's preference.
    func chooseProtocol() -> String? {
        let ordered = membersInOrder
        guard let first = ordered.first else { return nil }
        let candidates = first.protocols.map(\.name).filter { name in ordered.allSatisfy { $0.protocols.contains { $0.name == name } } }
        var votes: [String: Int] = [:]
        for member in ordered {
            if let choice = member.protocols.first(where: { candidates.contains($0.name) }) { votes[choice.name, default: 0] += 1 }
        }
        let most = votes.values.max() ?? 0
        return candidates.first { votes[$0] == most } ?? first.protocols.first?.name
    }

    func answer(_ member: GroupTable.Member, join: JoinResult, sync: SyncResult, effects: inout [Effect]) {
        if let waiter = member.joinWaiter { effects.append(.answerJoin(waiter, join)) }
        if let waiter = member.syncWaiter { effects.append(.answerSync(waiter, sync)) }
    }
}
