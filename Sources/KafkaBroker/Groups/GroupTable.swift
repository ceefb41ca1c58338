/// Kafka's classic consumer-group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) as a
/// state machine without I/O or clocks: every call takes the time, and what must happen
/// elsewhere (answer a held request, write a group down) comes out as ``Effect``s.
/// ``GroupCoordinator`` runs it behind a lock.
///
/// The timing is Kafka's: a rebalance completes as soon as every known member has rejoined
/// (members that do not are dropped when the longest rebalance timeout passes); only a
/// rebalance of an empty group waits `initialRebalanceDelay` first, extended while new members
/// keep arriving, so that consumers starting together land in one generation.
struct GroupTable: Sendable {
    struct Settings: Sendable {
        /// Kafka's group.min/max.session.timeout.ms: a client asking outside them gets
        /// INVALID_SESSION_TIMEOUT.
        var sessionTimeouts: ClosedRange<Int64> = 6_000...1_800_000
        /// Kafka's group.initial.rebalance.delay.ms; 0 turns it off.
        var initialRebalanceDelay: Int64 = 3_000
        /// Members (with ids handed out but not used yet) per group: GROUP_MAX_SIZE_REACHED beyond.
        var maxMembers = 1_000
    }

    enum State: String, Sendable, Codable {
        case empty = "Empty"
        case preparingRebalance = "PreparingRebalance"
        case completingRebalance = "CompletingRebalance"
        case stable = "Stable"
    }

    struct MemberProtocol: Sendable, Equatable {
        var name: String
        var metadata: [UInt8]
    }

    /// A held JoinGroup or SyncGroup request.
    typealias Waiter = UInt64

    struct Member: Sendable {
        var id: String
        var instanceID: String?
        var clientID: String
        var clientHost: String
        var sessionTimeout: Int64
        var rebalanceTimeout: Int64
        var protocols: [MemberProtocol]
        var assignment: [UInt8] = []
        /// Order of arrival: the first member leads when the leader is gone.
        var joinOrder: UInt64
        /// When the member is dropped unless it heartbeats (not while it waits in a join or sync).
        var deadline: Int64
        var joinWaiter: Waiter?
        var syncWaiter: Waiter?

        var isWaiting: Bool { joinWaiter != nil || syncWaiter != nil }
    }

    struct InitialDelay: Sendable {
        var until: Int64
        var limit: Int64
        var grew: Bool
    }

    struct Group: Sendable {
        let id: String
        var state = State.empty
        var generation: Int32 = 0
        var protocolType: String?
        var protocolName: String?
        var leader: String?
        var members: [String: Member] = [:]
        /// Ids handed out with MEMBER_ID_REQUIRED, until the client rejoins with one (or its
        /// session timeout passes).
        var pending: [String: Int64] = [:]
        /// PreparingRebalance: when members that have not rejoined are dropped.
        var rebalanceDeadline: Int64?
        var initialDelay: InitialDelay?
        /// CompletingRebalance: when members that have not synced are dropped.
        var syncDeadline: Int64?
        var nextJoinOrder: UInt64 = 0

        init(id: String) { self.id = id }

        var membersInOrder: [Member] { members.values.sorted { $0.joinOrder < $1.joinOrder } }
        var longestRebalanceTimeout: Int64 { members.values.map(\.rebalanceTimeout).max() ?? 0 }

        func member(instance: String) -> Member? { members.values.first { $0.instanceID == instance } }
    }

    struct JoinRequest: Sendable {
        var groupID: String
        var memberID: String
        var instanceID: String?
        var clientID: String
        var clientHost: String
        var sessionTimeout: Int64
        var rebalanceTimeout: Int64
        var protocolType: String
        var protocols: [MemberProtocol]
        /// JoinGroup v4+: a new member first gets an id (MEMBER_ID_REQUIRED) and joins with it.
        var requireKnownMemberID: Bool
    }

    struct JoinedMember: Sendable, Equatable {
        var id: String
        var instanceID: String?
        var metadata: [UInt8]
    }

    struct JoinResult: Sendable, Equatable {
        var error = ErrorCode.none
        var generation: Int32 = -1
        var protocolType: String?
        var protocolName: String?
        var leader = ""
        var memberID = ""
        /// For the leader only: every member with its metadata for the chosen protocol.
        var members: [JoinedMember] = []

        static func failed(_ error: ErrorCode, memberID: String = "") -> JoinResult { JoinResult(error: error, memberID: memberID) }
    }

    struct SyncRequest: Sendable {
        var groupID: String
        var generation: Int32
        var memberID: String
        var instanceID: String?
        var protocolType: String?
        var protocolName: String?
        var assignments: [(memberID: String, assignment: [UInt8])]
    }

    struct SyncResult: Sendable, Equatable {
        var error = ErrorCode.none
        var protocolType: String?
        var protocolName: String?
        var assignment: [UInt8] = []

        static func failed(_ error: ErrorCode) -> SyncResult { SyncResult(error: error) }
    }

    enum Effect: Sendable {
        case answerJoin(Waiter, JoinResult)
        case answerSync(Waiter, SyncResult)
        /// The group reached a state worth keeping (Stable, or Empty): write it down.
        case persist(String)
    }

    var settings: Settings
    var groups: [String: Group] = [:]
    /// What the calls so far asked for; the caller takes them with ``takeEffects()``.
    private(set) var effects: [Effect] = []

    init(settings: Settings) { self.settings = settings }

    mutating func takeEffects() -> [Effect] {
        defer { effects = [] }
        return effects
    }

    /// Runs `body` on group `id` (created empty if `create`), then drops the group from the
    /// table if it never had a generation and holds nobody.
    mutating func with<T>(_ id: String, create: Bool, _ body: (inout Group, Settings, inout [Effect]) -> T) -> T? {
        guard var group = groups.removeValue(forKey: id) ?? (create ? Group(id: id) : nil) else { return nil }
        let result = body(&group, settings, &effects)
        if group.generation != 0 || !group.members.isEmpty || !group.pending.isEmpty { groups[id] = group }
        return result
    }

    /// A JoinGroup: its answer now, or nil when `waiter` will be answered by an effect.
    mutating func join(_ request: JoinRequest, waiter: Waiter, now: Int64, newMemberID: String) -> JoinResult? {
        guard settings.sessionTimeouts.contains(request.sessionTimeout) else { return .failed(.invalidSessionTimeout, memberID: request.memberID) }
        guard !request.protocolType.isEmpty, !request.protocols.isEmpty else {
            return .failed(.inconsistentGroupProtocol, memberID: request.memberID)
        }
        return with(request.groupID, create: request.memberID.isEmpty) { group, settings, effects in
            group.join(request, waiter: waiter, now: now, newMemberID: newMemberID, settings: settings, effects: &effects)
        } ?? .failed(.unknownMemberID, memberID: request.memberID)
    }

    mutating func sync(_ request: SyncRequest, waiter: Waiter, now: Int64) -> SyncResult? {
        with(request.groupID, create: false) { group, settings, effects in
            group.sync(request, waiter: waiter, now: now, settings: settings, effects: &effects)
        } ?? .failed(.unknownMemberID)
    }

    mutating func heartbeat(group id: String, generation: Int32, memberID: String, instanceID: String?, now: Int64) -> ErrorCode {
        with(id, create: false) { group, _, _ in
            group.heartbeat(generation: generation, memberID: memberID, instanceID: instanceID, now: now)
        } ?? .unknownMemberID
    }

    /// A LeaveGroup: an error per member, or nil for a group that does not exist.
    mutating func leave(group id: String, members: [(memberID: String, instanceID: String?)], now: Int64) -> [ErrorCode]? {
        with(id, create: false) { group, settings, effects in
            members.map { group.leave(memberID: $0.memberID, instanceID: $0.instanceID, now: now, settings: settings, effects: &effects) }
        }
    }

    /// Lets the time pass: expired sessions, ids never used, rebalances whose time is up.
    mutating func tick(now: Int64) {
        for id in Array(groups.keys) {
            _ = with(id, create: false) { group, settings, effects in group.tick(now: now, settings: settings, effects: &effects) }
        }
    }

    /// A held request whose client went away: its member counts as not having rejoined or synced.
    mutating func forget(_ waiter: Waiter) {
        for id in Array(groups.keys) {
            _ = with(id, create: false) { group, _, _ in
                for (memberID, member) in group.members {
                    if member.joinWaiter == waiter { group.members[memberID]?.joinWaiter = nil }
                    if member.syncWaiter == waiter { group.members[memberID]?.syncWaiter = nil }
                }
            }
        }
    }
}
