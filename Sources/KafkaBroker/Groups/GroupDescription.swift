public import FirestreamLog
import Foundation
import KafkaProtocol

/// A consumer group as tools see it (DescribeGroups, `firestream groups`): its state, members
/// and what each was assigned, decoded when the group uses Kafka's consumer protocol.
public struct GroupDescription: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public var id: String
        public var instanceID: String?
        public var clientID: String
        public var clientHost: String
        /// The member's metadata for the group's protocol (a consumer's subscription).
        public var metadata: [UInt8]
        public var assignment: [UInt8]

        /// Topic → partitions, when the assignment is a consumer protocol assignment.
        public var assignedPartitions: [String: [Int32]]? { ConsumerProtocol.assignment(assignment) }
        /// The topics subscribed to, when the metadata is a consumer protocol subscription.
        public var subscribedTopics: [String]? { ConsumerProtocol.subscription(metadata) }
    }

    public var id: String
    /// Kafka's names: Empty, PreparingRebalance, CompletingRebalance, Stable (and Dead for a
    /// group nobody knows).
    public var state: String
    public var generation: Int32
    public var protocolType: String
    public var protocolName: String
    public var members: [Member]

    init(_ group: GroupTable.Group) {
        id = group.id
        state = group.state.rawValue
        generation = group.generation
        protocolType = group.protocolType ?? ""
        protocolName = group.protocolName ?? ""
        members = group.membersInOrder.map { member in
            Member(
                id: member.id, instanceID: member.instanceID, clientID: member.clientID, clientHost: member.clientHost,
                metadata: member.protocols.first { $0.name == group.protocolName }?.metadata ?? [], assignment: member.assignment)
        }
    }

    /// A group that only has committed offsets (tools and assign-mode consumers): Empty, no protocol.
    init(offsetsOnly id: String) {
        self.id = id
        state = GroupTable.State.empty.rawValue
        generation = 0
        protocolType = ""
        protocolName = ""
        members = []
    }

    /// The groups of a log as last written down (membership of stable groups, generations, and
    /// groups that only committed offsets), for reading without the broker (`firestream groups`).
    public static func stored(in log: Log) -> [GroupDescription] {
        var groups: [String: GroupDescription] = [:]
        for (id, bytes) in log.kafkaGroups.all() {
            guard let stored = try? JSONDecoder().decode(StoredGroup.self, from: Data(bytes)) else { continue }
            groups[id] = GroupDescription(stored.group(id: id, now: 0))
        }
        for id in log.consumerOffsets.groupNames where groups[id] == nil { groups[id] = GroupDescription(offsetsOnly: id) }
        return groups.values.sorted { $0.id < $1.id }
    }

    /// Writes `group` down as empty in its next generation, for a log no broker is running on
    /// (offsets reset by `firestream groups reset-offsets`): the members it had are unknown to
    /// the broker when it starts, so they rejoin and read the committed offsets again.
    public static func forgetMembers(of group: String, in log: Log) async throws(LogError) {
        guard let bytes = log.kafkaGroups.all()[group], let stored = try? JSONDecoder().decode(StoredGroup.self, from: Data(bytes)) else { return }
        var empty = stored.group(id: group, now: 0)
        empty.members = [:]
        empty.state = .empty
        empty.leader = nil
        empty.protocolName = nil
        empty.generation = empty.generation == .max ? 1 : empty.generation + 1
        let document = try? JSONEncoder().encode(StoredGroup(empty))
        try await log.kafkaGroups.replace(group) { document.map { [UInt8]($0) } }
    }
}

/// Kafka's consumer protocol (protocol type "consumer"): the subscription a member sends in
/// JoinGroup and the assignment its leader sends in SyncGroup. Decoded only for display and for
/// OffsetDelete's check; anything unreadable is nil, never an error.
public enum ConsumerProtocol {
    /// The topics of a ConsumerProtocolSubscription (any version: they come first).
    public static func subscription(_ bytes: [UInt8]) -> [String]? {
        var reader = ProtocolReader(bytes)
        do {
            _ = try reader.int16()
            return try reader.array(flexible: false) { (r: inout ProtocolReader) throws(ProtocolError) in try r.string(flexible: false) }
        } catch {
            return nil
        }
    }

    /// Topic → partitions of a ConsumerProtocolAssignment (any version).
    public static func assignment(_ bytes: [UInt8]) -> [String: [Int32]]? {
        if bytes.isEmpty { return [:] }
        var reader = ProtocolReader(bytes)
        do {
            _ = try reader.int16()
            let topics = try reader.array(flexible: false) { (r: inout ProtocolReader) throws(ProtocolError) -> (String, [Int32]) in
                (try r.string(flexible: false), try r.array(flexible: false) { (p: inout ProtocolReader) throws(ProtocolError) in try p.int32() })
            }
            return Dictionary(topics) { first, second in first + second }
        } catch {
            return nil
        }
    }
}
