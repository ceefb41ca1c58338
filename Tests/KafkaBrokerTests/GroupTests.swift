import FirestreamLog
import FirestreamTesting
import KafkaProtocol
import Testing

@testable import KafkaBroker

/// A consumer of the group protocol, as librdkafka speaks it (JoinGroup v5, SyncGroup v3,
/// Heartbeat v3, LeaveGroup v1, OffsetCommit v7), against a broker with a clock the test moves.
struct Consumer {
    let harness: BrokerHarness
    var group = "readers"
    var memberID = ""
    var generation: Int32 = -1
    var sessionTimeout: Int32 = 10_000
    var rebalanceTimeout: Int32 = 20_000
    var protocols = ["range", "roundrobin"]

    func joinRequest() -> JoinGroupRequest {
        var request = JoinGroupRequest()
        request.groupId = group
        request.sessionTimeoutMs = sessionTimeout
        request.rebalanceTimeoutMs = rebalanceTimeout
        request.memberId = memberID
        request.protocolType = "consumer"
        request.protocols = protocols.map { name in
            var offered = JoinGroupRequest.JoinGroupRequestProtocol()
            offered.name = name
            offered.metadata = Array("\(name) of \(memberID)".utf8)
            return offered
        }
        return request
    }

    /// One JoinGroup; keeps the member id and generation it is given.
    mutating func join(version: Int16 = 5) async throws -> JoinGroupResponse {
        adopt(try await joinOnce(version: version))
    }

    /// One JoinGroup, for a join held while the test does other things (then ``adopt(_:)``).
    func joinOnce(version: Int16 = 5) async throws -> JoinGroupResponse {
        try await harness.call(joinRequest(), version: version, expecting: JoinGroupResponse.self)
    }

    @discardableResult
    mutating func adopt(_ response: JoinGroupResponse) -> JoinGroupResponse {
        memberID = response.memberId
        if response.errorCode == 0 { generation = response.generationId }
        return response
    }

    func sync(_ assignments: [String: String] = [:]) async throws -> SyncGroupResponse {
        var request = SyncGroupRequest()
        request.groupId = group
        request.generationId = generation
        request.memberId = memberID
        request.assignments = assignments.sorted { $0.key < $1.key }.map { member, assignment in
            var given = SyncGroupRequest.SyncGroupRequestAssignment()
            given.memberId = member
            given.assignment = Array(assignment.utf8)
            return given
        }
        return try await harness.call(request, version: 3, expecting: SyncGroupResponse.self)
    }

    func heartbeat() async throws -> Int16 {
        var request = HeartbeatRequest()
        request.groupId = group
        request.generationId = generation
        request.memberId = memberID
        return try await harness.call(request, version: 3, expecting: HeartbeatResponse.self).errorCode
    }

    func leave() async throws -> Int16 {
        var request = LeaveGroupRequest()
        request.groupId = group
        request.memberId = memberID
        return try await harness.call(request, version: 1, expecting: LeaveGroupResponse.self).errorCode
    }

    func commit(_ offset: Int64, generation: Int32? = nil) async throws -> Int16? {
        var request = OffsetCommitRequest()
        request.groupId = group
        request.generationIdOrMemberEpoch = generation ?? self.generation
        request.memberId = memberID
        var topic = OffsetCommitRequest.OffsetCommitRequestTopic()
        topic.name = "events"
        var partition = OffsetCommitRequest.OffsetCommitRequestPartition()
        partition.committedOffset = offset
        topic.partitions = [partition]
        request.topics = [topic]
        return try await harness.call(request, version: 7, expecting: OffsetCommitResponse.self).topics.first?.partitions.first?.errorCode
    }
}

/// A clock the test moves by hand.
final class TestClock: Sendable {
    let now = Locked<Int64>(1_000)
    var read: @Sendable () -> Int64 { { [now] in now.withLock { $0 } } }
    func advance(_ milliseconds: Int64) { now.withLock { $0 += milliseconds } }
}

/// Waits until `condition` holds (a held request reached the coordinator), without sleeping
/// a fixed time.
func eventually(_ what: String, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while !condition() {
        guard ContinuousClock.now < deadline else { throw BrokerTestFailure(description: "timed out waiting until \(what)") }
        try await Task.sleep(for: .milliseconds(2))
    }
}

extension BrokerHarness {
    static func groups(_ clock: TestClock, delay: Duration = .zero, directory: TemporaryDirectory = TemporaryDirectory()) throws -> BrokerHarness {
        let harness = try BrokerHarness(directory: directory, clock: clock.read) { $0.initialRebalanceDelay = delay }
        if harness.log.topicIfExists("events") == nil { _ = try harness.log.createTopic("events") }
        return harness
    }

    func waitingToJoin(_ group: String = "readers") -> Int {
        broker.groups.group(group)?.members.values.filter { $0.joinWaiter != nil }.count ?? 0
    }

    func waitingToSync(_ group: String = "readers") -> Int {
        broker.groups.group(group)?.members.values.filter { $0.syncWaiter != nil }.count ?? 0
    }
}
