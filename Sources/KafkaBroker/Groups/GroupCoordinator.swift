import FirestreamLog
import Foundation
import Logging

/// Runs the ``GroupTable`` for the broker: holds JoinGroup and SyncGroup requests until the
/// table answers them, writes groups down when they settle, and lets time pass (``tick()``,
/// called by the server every 100 ms; by tests with a clock of their own).
///
/// Groups are durable in the log directory (`kafka/groups/<group>.json`): after a restart a
/// stable group's members carry on with the same generation and assignments, and generations
/// never go back.
final class GroupCoordinator: Sendable {
    enum Answer: Sendable {
        case join(GroupTable.JoinResult)
        case sync(GroupTable.SyncResult)
        /// The request's task was cancelled (the server is stopping).
        case cancelled
    }

    private struct Shared: Sendable {
        var table: GroupTable
        var waiting: [GroupTable.Waiter: CheckedContinuation<Answer, Never>] = [:]
        /// Answers that arrived before their request started waiting.
        var early: [GroupTable.Waiter: Answer] = [:]
        var nextWaiter: GroupTable.Waiter = 1
    }

    private let shared: Locked<Shared>
    private let store: DurableDocuments
    private let clock: @Sendable () -> Int64
    private let logger: Logger

    init(store: DurableDocuments, settings: GroupTable.Settings, clock: @escaping @Sendable () -> Int64, logger: Logger) {
        self.store = store
        self.clock = clock
        self.logger = logger
        var table = GroupTable(settings: settings)
        let now = clock()
        for (id, bytes) in store.all() {
            do {
                let stored = try JSONDecoder().decode(StoredGroup.self, from: Data(bytes))
                table.groups[id] = stored.group(id: id, now: now)
            } catch {
                // Membership only: its members rejoin; committed offsets are kept elsewhere.
                logger.warning(
                    "the membership of consumer group \(id) is unreadable (\(store.directory)/\(id).json: \(error)); its members will rejoin")
            }
        }
        shared = Locked(Shared(table: table))
    }

    private static let start = ContinuousClock.now

    /// Milliseconds on a monotonic clock (since the first use).
    static let monotonicMilliseconds: @Sendable () -> Int64 = {
        let elapsed = GroupCoordinator.start.duration(to: .now).components
        return elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
    }

    func join(_ request: GroupTable.JoinRequest) async -> GroupTable.JoinResult {
        let newMemberID = "\(request.clientID.isEmpty ? "member" : request.clientID)-\(UUID().uuidString.lowercased())"
        let (waiter, immediate, effects) = shared.withLock { shared in
            let waiter = shared.nextWaiter
            shared.nextWaiter += 1
            let result = shared.table.join(request, waiter: waiter, now: clock(), newMemberID: newMemberID)
            return (waiter, result, shared.table.takeEffects())
        }
        await perform(effects)
        if let immediate { return immediate }
        switch await wait(for: waiter) {
        case .join(let result): return result
        case .sync, .cancelled: return .failed(.coordinatorNotAvailable, memberID: request.memberID)
        }
    }

    func sync(_ request: GroupTable.SyncRequest) async -> GroupTable.SyncResult {
        let (waiter, immediate, effects) = shared.withLock { shared in
            let waiter = shared.nextWaiter
            shared.nextWaiter += 1
            let result = shared.table.sync(request, waiter: waiter, now: clock())
            return (waiter, result, shared.table.takeEffects())
        }
        await perform(effects)
        if let immediate { return immediate }
        switch await wait(for: waiter) {
        case .sync(let result): return result
        case .join, .cancelled: return .failed(.coordinatorNotAvailable)
        }
    }

    func heartbeat(group: String, generation: Int32, memberID: String, instanceID: String?) -> ErrorCode {
        shared.withLock { $0.table.heartbeat(group: group, generation: generation, memberID: memberID, instanceID: instanceID, now: clock()) }
    }

    func leave(group: String, members: [(memberID: String, instanceID: String?)]) async -> [ErrorCode]? {
        let (errors, effects) = shared.withLock { shared in
            (shared.table.leave(group: group, members: members, now: clock()), shared.table.takeEffects())
        }
        await perform(effects)
        return errors
    }

    /// Whether a commit from this member (or, with generation -1 and no member, from a tool) may
    /// be stored now.
    func validateCommit(group: String, generation: Int32, memberID: String, instanceID: String?) -> ErrorCode {
        shared.withLock { shared in
            let now = clock()
            return shared.table.with(group, create: false) { group, _, _ in
                group.validateCommit(generation: generation, memberID: memberID, instanceID: instanceID, now: now)
            } ?? (generation < 0 && memberID.isEmpty && instanceID == nil ? .none : .unknownMemberID)
        }
    }

    /// Lets the time pass (sessions expire, rebalances complete).
    func tick() async {
        let effects = shared.withLock { shared in
            shared.table.tick(now: clock())
            return shared.table.takeEffects()
        }
        await perform(effects)
    }

    /// The group as it is now, if the coordinator knows it.
    func group(_ id: String) -> GroupTable.Group? { shared.withLock { $0.table.groups[id] } }

    /// Every group the coordinator knows, as tools see them.
    var descriptions: [GroupDescription] { shared.withLock { $0.table.groups.values.map(GroupDescription.init) } }

    /// Forgets an empty group's membership (DeleteGroups); refuses a group with members.
    func delete(_ id: String) async -> ErrorCode {
        let refusal: ErrorCode? = shared.withLock { shared in
            guard let group = shared.table.groups[id] else { return nil }
            guard group.state == .empty, group.members.isEmpty else { return .nonEmptyGroup }
            shared.table.groups[id] = nil
            return nil
        }
        if let refusal { return refusal }
        await persist(id)
        return .none
    }

    private func wait(for waiter: GroupTable.Waiter) async -> Answer {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready: Answer? = shared.withLock { shared in
                    if let answer = shared.early.removeValue(forKey: waiter) { return answer }
                    if Task.isCancelled {
                        shared.table.forget(waiter)
                        return .cancelled
                    }
                    shared.waiting[waiter] = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let continuation = shared.withLock { shared in
                shared.table.forget(waiter)
                shared.early[waiter] = nil
                return shared.waiting.removeValue(forKey: waiter)
            }
            continuation?.resume(returning: .cancelled)
        }
    }

    private func perform(_ effects: [GroupTable.Effect]) async {
        for effect in effects {
            switch effect {
            case .persist(let id): await persist(id)
            case .answerJoin(let waiter, let result): deliver(.join(result), to: waiter)
            case .answerSync(let waiter, let result): deliver(.sync(result), to: waiter)
            }
        }
    }

    private func deliver(_ answer: Answer, to waiter: GroupTable.Waiter) {
        let continuation = shared.withLock { shared in
            guard let continuation = shared.waiting.removeValue(forKey: waiter) else {
                shared.early[waiter] = answer
                return nil as CheckedContinuation<Answer, Never>?
            }
            return continuation
        }
        continuation?.resume(returning: answer)
    }

    /// Writes the group as it is when the write happens (or removes its file when it is gone).
    private func persist(_ id: String) async {
        do {
            try await store.replace(id) { [shared] in
                shared.withLock { shared in
                    shared.table.groups[id].flatMap { try? JSONEncoder().encode(StoredGroup($0)) }.map { [UInt8]($0) }
                }
            }
        } catch {
            // Only membership: after a restart its members would rejoin.
            logger.warning("cannot write down consumer group \(id): \(error)")
        }
    }
}

/// A group as written down: its generation and, when stable, its members and assignments.
struct StoredGroup: Codable {
    struct Member: Codable {
        var id: String
        var instanceID: String?
        var clientID: String
        var clientHost: String
        var sessionTimeout: Int64
        var rebalanceTimeout: Int64
        var protocols: [String: Data]
        var protocolOrder: [String]
        var assignment: Data
    }

    var generation: Int32
    var protocolType: String?
    var protocolName: String?
    var leader: String?
    var members: [Member]

    init(_ group: GroupTable.Group) {
        generation = group.generation
        protocolType = group.protocolType
        protocolName = group.protocolName
        leader = group.leader
        members =
            group.state != .stable
            ? []
            : group.membersInOrder.map { member in
                Member(
                    id: member.id, instanceID: member.instanceID, clientID: member.clientID, clientHost: member.clientHost,
                    sessionTimeout: member.sessionTimeout, rebalanceTimeout: member.rebalanceTimeout,
                    protocols: Dictionary(member.protocols.map { ($0.name, Data($0.metadata)) }) { first, _ in first },
                    protocolOrder: member.protocols.map(\.name), assignment: Data(member.assignment))
            }
    }

    func group(id: String, now: Int64) -> GroupTable.Group {
        var group = GroupTable.Group(id: id)
        group.generation = generation
        group.protocolType = protocolType
        guard !members.isEmpty else { return group }
        group.protocolName = protocolName
        group.leader = leader
        group.state = .stable
        for (order, member) in members.enumerated() {
            let protocols = member.protocolOrder.compactMap { name in
                member.protocols[name].map { GroupTable.MemberProtocol(name: name, metadata: [UInt8]($0)) }
            }
            group.members[member.id] = GroupTable.Member(
                id: member.id, instanceID: member.instanceID, clientID: member.clientID, clientHost: member.clientHost,
                sessionTimeout: member.sessionTimeout, rebalanceTimeout: member.rebalanceTimeout, protocols: protocols,
                assignment: [UInt8](member.assignment), joinOrder: UInt64(order), deadline: now + member.sessionTimeout)
        }
        group.nextJoinOrder = UInt64(members.count)
        return group
    }
}
