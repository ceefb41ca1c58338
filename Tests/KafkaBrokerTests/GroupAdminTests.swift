import FirestreamLog
import FirestreamTesting
import KafkaProtocol
import KafkaWire
import Testing

@testable import KafkaBroker

/// A consumer protocol subscription (v0) to `topics`, and an assignment of `partitions`.
func subscription(_ topics: [String]) -> [UInt8] {
    var writer = ByteWriter(capacity: 64)
    writer.writeInt16(0)
    writer.writeInt32(Int32(topics.count))
    for topic in topics { writer.writeNullableString(topic, flexible: false) }
    writer.writeInt32(-1)
    return writer.bytes
}

func assignment(_ topic: String, _ partitions: [Int32]) -> [UInt8] {
    var writer = ByteWriter(capacity: 64)
    writer.writeInt16(0)
    writer.writeInt32(1)
    writer.writeNullableString(topic, flexible: false)
    writer.writeInt32(Int32(partitions.count))
    for partition in partitions { writer.writeInt32(partition) }
    writer.writeInt32(-1)
    return writer.bytes
}

@Suite struct GroupAdminTests {
    /// A stable group "readers" with one member subscribed to `events`, and offsets of a tool's group "tools".
    func setUp(_ harness: BrokerHarness) async throws -> Consumer {
        var member = Consumer(harness: harness)
        _ = try await member.join()
        var request = member.joinRequest()
        request.protocols = [
            {
                var offered = JoinGroupRequest.JoinGroupRequestProtocol()
                offered.name = "range"
                offered.metadata = subscription(["events"])
                return offered
            }()
        ]
        member.adopt(try await harness.call(request, version: 5, expecting: JoinGroupResponse.self))
        var sync = SyncGroupRequest()
        sync.groupId = "readers"
        sync.generationId = member.generation
        sync.memberId = member.memberID
        var given = SyncGroupRequest.SyncGroupRequestAssignment()
        given.memberId = member.memberID
        given.assignment = assignment("events", [0])
        sync.assignments = [given]
        _ = try await harness.call(sync, version: 3, expecting: SyncGroupResponse.self)
        #expect(try await member.commit(3) == 0)
        var tool = Consumer(harness: harness)
        tool.group = "tools"
        #expect(try await tool.commit(1) == 0)
        return member
    }

    @Test func groupsAreListedAndDescribedWithTheirMembersAndAssignments() async throws {
        let harness = try BrokerHarness.groups(TestClock())
        defer { harness.log.close() }
        let member = try await setUp(harness)

        var list = ListGroupsRequest()
        let listed = try await harness.call(list, version: 5, expecting: ListGroupsResponse.self)
        #expect(listed.groups.map(\.groupId) == ["readers", "tools"])
        #expect(listed.groups.map(\.groupState) == ["Stable", "Empty"])
        #expect(listed.groups.first?.protocolType == "consumer")
        list.statesFilter = ["Empty"]
        #expect(try await harness.call(list, version: 4, expecting: ListGroupsResponse.self).groups.map(\.groupId) == ["tools"])

        var describe = DescribeGroupsRequest()
        describe.groups = ["readers", "tools", "nobody"]
        let described = try await harness.call(describe, version: 5, expecting: DescribeGroupsResponse.self)
        #expect(described.groups.map(\.groupState) == ["Stable", "Empty", "Dead"])
        let readers = try #require(described.groups.first)
        #expect(readers.protocolData == "range")
        #expect(readers.members.map(\.memberId) == [member.memberID])
        #expect(readers.members.first?.clientId == "test")
        #expect(ConsumerProtocol.assignment(readers.members.first?.memberAssignment ?? []) == ["events": [0]])
        #expect(ConsumerProtocol.subscription(readers.members.first?.memberMetadata ?? []) == ["events"])
        // What `firestream groups` reads without the broker: the same, as last written down.
        let stored = GroupDescription.stored(in: harness.log)
        #expect(stored.map(\.id) == ["readers", "tools"])
        #expect(stored.first?.members.first?.assignedPartitions == ["events": [0]])
    }

    @Test func onlyEmptyGroupsAreDeletedAndSubscribedOffsetsStay() async throws {
        let harness = try BrokerHarness.groups(TestClock())
        defer { harness.log.close() }
        let member = try await setUp(harness)

        var delete = DeleteGroupsRequest()
        delete.groupsNames = ["readers", "tools", "nobody", "a/b"]
        let deleted = try await harness.call(delete, version: 2, expecting: DeleteGroupsResponse.self)
        #expect(
            deleted.results.map(\.errorCode) == [
                ErrorCode.nonEmptyGroup.code, 0, ErrorCode.groupIDNotFound.code, ErrorCode.invalidGroupID.code,
            ])
        #expect(harness.log.consumerOffsets.committed(group: "tools").isEmpty)

        var offsets = OffsetDeleteRequest()
        offsets.groupId = "readers"
        var topic = OffsetDeleteRequest.OffsetDeleteRequestTopic()
        topic.name = "events"
        var partition = OffsetDeleteRequest.OffsetDeleteRequestPartition()
        partition.partitionIndex = 0
        topic.partitions = [partition]
        offsets.topics = [topic]
        let refused = try await harness.call(offsets, version: 0, expecting: OffsetDeleteResponse.self)
        #expect(refused.topics.first?.partitions.first?.errorCode == ErrorCode.groupSubscribedToTopic.code)

        // Once the member has left, the offsets can go, and then the group.
        #expect(try await member.leave() == 0)
        let removed = try await harness.call(offsets, version: 0, expecting: OffsetDeleteResponse.self)
        #expect(removed.errorCode == 0 && removed.topics.first?.partitions.first?.errorCode == 0)
        #expect(harness.log.consumerOffsets.committed(group: "readers").isEmpty)
        delete.groupsNames = ["readers"]
        #expect(try await harness.call(delete, version: 0, expecting: DeleteGroupsResponse.self).results.first?.errorCode == 0)
        #expect(GroupDescription.stored(in: harness.log).isEmpty)
    }
}
