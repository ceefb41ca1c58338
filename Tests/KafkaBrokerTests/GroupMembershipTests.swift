import FirestreamLog
import FirestreamTesting
import KafkaProtocol
import Testing

@testable import KafkaBroker

@Suite struct GroupMembershipTests {
    @Test func aNewMemberGetsAnIdFirstThenLeadsItsOwnGeneration() async throws {
        let clock = TestClock()
        let harness = try BrokerHarness.groups(clock)
        defer { harness.log.close() }
        var alone = Consumer(harness: harness)
        let first = try await alone.join()
        #expect(first.errorCode == ErrorCode.memberIDRequired.code)
        #expect(first.memberId.hasPrefix("test-"))
        let joined = try await alone.join()
        #expect(joined.errorCode == 0)
        #expect(joined.generationId == 1)
        #expect(joined.leader == alone.memberID)
        #expect(joined.protocolName == "range")
        #expect(joined.members.map(\.memberId) == [alone.memberID])
        #expect(joined.members.first?.metadata == Array("range of \(alone.memberID)".utf8))
        let synced = try await alone.sync([alone.memberID: "all of it"])
        #expect(synced.errorCode == 0)
        #expect(synced.assignment == Array("all of it".utf8))
        #expect(try await alone.heartbeat() == 0)
        #expect(try await alone.commit(5) == 0)
        #expect(try await alone.commit(6, generation: 7) == ErrorCode.illegalGeneration.code)
        // A tool may not commit over a group that members manage.
        var tool = Consumer(harness: harness)
        tool.generation = -1
        #expect(try await tool.commit(0) == ErrorCode.unknownMemberID.code)
        // v0–v3 joins have no second step.
        var old = Consumer(harness: harness)
        old.group = "old-readers"
        #expect(try await old.join(version: 3).generationId == 1)
    }

    @Test func aSecondMemberRebalancesTheGroupAndBothGetTheirAssignment() async throws {
        let clock = TestClock()
        let harness = try BrokerHarness.groups(clock)
        defer { harness.log.close() }
        var a = Consumer(harness: harness)
        _ = try await a.join()
        _ = try await a.join()
        _ = try await a.sync([a.memberID: "0,1"])

        var b = Consumer(harness: harness)
        _ = try await b.join()
        let joining = b
        async let bJoined = joining.joinOnce()
        try await eventually("b waits in its join") { harness.waitingToJoin() == 1 }
        // The group is rebalancing: A learns it from its heartbeat and rejoins.
        #expect(try await a.heartbeat() == ErrorCode.rebalanceInProgress.code)
        let aJoined = try await a.join()
        let bAnswer = b.adopt(try await bJoined)
        #expect(aJoined.generationId == 2 && bAnswer.generationId == 2)
        #expect(aJoined.leader == a.memberID && bAnswer.leader == a.memberID)
        #expect(Set(aJoined.members.map(\.memberId)) == [a.memberID, b.memberID])
        #expect(bAnswer.members.isEmpty, "only the leader sees the members")

        // B's sync waits for the leader's.
        let follower = b
        async let bSynced = follower.sync()
        try await eventually("b waits in its sync") { harness.waitingToSync() == 1 }
        let aSynced = try await a.sync([a.memberID: "0"])
        #expect(aSynced.assignment == Array("0".utf8))
        #expect(try await bSynced.assignment == [], "a member the leader gave nothing gets an empty assignment")
        #expect(try await b.heartbeat() == 0)
        #expect(try await a.commit(3, generation: 1) == ErrorCode.illegalGeneration.code)
    }

    @Test func membersThatStopHeartbeatingOrLeaveAreRebalancedAway() async throws {
        let clock = TestClock()
        let harness = try BrokerHarness.groups(clock)
        defer { harness.log.close() }
        var (a, b) = try await twoMembers(harness)

        // B goes quiet: after its session timeout it is out, and A must rejoin.
        clock.advance(6_000)
        #expect(try await a.heartbeat() == 0)
        clock.advance(5_000)
        await harness.broker.tick()
        #expect(harness.broker.groups.group("readers")?.members.count == 1)
        #expect(try await a.heartbeat() == ErrorCode.rebalanceInProgress.code)
        #expect(try await a.join().generationId == b.generation + 1)
        #expect(try await b.heartbeat() == ErrorCode.unknownMemberID.code)

        // The last member leaves: the group is empty, tools may commit again.
        #expect(try await a.leave() == 0)
        #expect(harness.broker.groups.group("readers")?.state == .empty)
        var tool = Consumer(harness: harness)
        tool.generation = -1
        #expect(try await tool.commit(9) == 0)
    }

    @Test func aRebalanceDropsMembersThatDoNotRejoinInTime() async throws {
        let clock = TestClock()
        let harness = try BrokerHarness.groups(clock)
        defer { harness.log.close() }
        var a = Consumer(harness: harness)
        var b = Consumer(harness: harness)
        _ = try await a.join()
        _ = try await a.join()
        _ = try await a.sync()
        _ = try await b.join()
        let joining = b
        async let bJoined = joining.joinOnce()
        try await eventually("b waits") { harness.waitingToJoin() == 1 }
        // A never rejoins (though it heartbeats): when the rebalance timeout passes, B goes on alone.
        clock.advance(19_000)
        #expect(try await a.heartbeat() == ErrorCode.rebalanceInProgress.code)
        await harness.broker.tick()
        #expect(harness.waitingToJoin() == 1)
        clock.advance(1_000)
        await harness.broker.tick()
        let answer = try await bJoined
        #expect(answer.errorCode == 0 && answer.leader == answer.memberId)
        #expect(try await a.heartbeat() == ErrorCode.unknownMemberID.code)
    }

    @Test func theFirstJoinOfAnEmptyGroupWaitsTheInitialDelayAndLaterOnesDoNot() async throws {
        let clock = TestClock()
        let harness = try BrokerHarness.groups(clock, delay: .seconds(3))
        defer { harness.log.close() }
        var a = Consumer(harness: harness)
        var b = Consumer(harness: harness)
        _ = try await a.join()
        _ = try await b.join()
        let (joiningA, joiningB) = (a, b)
        async let aJoined = joiningA.joinOnce()
        try await eventually("a waits") { harness.waitingToJoin() == 1 }
        clock.advance(2_000)
        await harness.broker.tick()
        #expect(harness.waitingToJoin() == 1, "still in the initial delay")
        // B arrives during the delay: the delay is extended once, and both land in generation 1.
        async let bJoined = joiningB.joinOnce()
        try await eventually("b waits") { harness.waitingToJoin() == 2 }
        clock.advance(1_000)
        await harness.broker.tick()
        #expect(harness.waitingToJoin() == 2)
        clock.advance(3_000)
        await harness.broker.tick()
        #expect(try await aJoined.generationId == 1)
        #expect(try await bJoined.generationId == 1)
    }

    @Test func badJoinsAreRefusedWithKafkasErrors() async throws {
        let clock = TestClock()
        let harness = try BrokerHarness.groups(clock)
        defer { harness.log.close() }
        var short = Consumer(harness: harness)
        short.sessionTimeout = 100
        #expect(try await short.join().errorCode == ErrorCode.invalidSessionTimeout.code)
        var a = Consumer(harness: harness)
        _ = try await a.join()
        _ = try await a.join()
        var other = Consumer(harness: harness)
        other.protocols = ["sticky"]
        #expect(try await other.join(version: 3).errorCode == ErrorCode.inconsistentGroupProtocol.code)
        var stranger = Consumer(harness: harness)
        stranger.memberID = "made-up"
        #expect(try await stranger.join().errorCode == ErrorCode.unknownMemberID.code)
        var slash = Consumer(harness: harness)
        slash.group = "a/b"
        #expect(try await slash.join().errorCode == ErrorCode.invalidGroupID.code)
        #expect(try await stranger.heartbeat() == ErrorCode.unknownMemberID.code)
    }

    @Test func aStableGroupCarriesOnAfterARestart() async throws {
        let clock = TestClock()
        var harness = try BrokerHarness.groups(clock)
        var a = Consumer(harness: harness)
        _ = try await a.join()
        _ = try await a.join()
        _ = try await a.sync([a.memberID: "p0"])
        harness.log.close()

        harness = try BrokerHarness.groups(clock, directory: harness.data)
        defer { harness.log.close() }
        a = Consumer(harness: harness, memberID: a.memberID, generation: a.generation)
        #expect(try await a.heartbeat() == 0)
        #expect(try await a.sync().assignment == Array("p0".utf8))
        #expect(try await a.commit(4) == 0)
        // A new member makes the next generation, not generation 1 again.
        var b = Consumer(harness: harness)
        _ = try await b.join()
        let joining = b
        async let bJoined = joining.joinOnce()
        try await eventually("b waits") { harness.waitingToJoin() == 1 }
        #expect(try await a.join().generationId == 2)
        #expect(try await bJoined.generationId == 2)
    }

    /// A stable group of two: A leads, B follows.
    func twoMembers(_ harness: BrokerHarness) async throws -> (Consumer, Consumer) {
        var a = Consumer(harness: harness)
        _ = try await a.join()
        _ = try await a.join()
        _ = try await a.sync()
        var b = Consumer(harness: harness)
        _ = try await b.join()
        let joining = b
        async let bJoined = joining.joinOnce()
        try await eventually("b waits in its join") { harness.waitingToJoin() == 1 }
        _ = try await a.join()
        b.adopt(try await bJoined)
        let follower = b
        async let bSynced = follower.sync()
        try await eventually("b waits in its sync") { harness.waitingToSync() == 1 }
        _ = try await a.sync()
        _ = try await bSynced
        return (a, b)
    }
}
