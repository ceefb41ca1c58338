import FirestreamFormats
import FirestreamTesting
import Foundation
import KafkaBroker
import KafkaProtocol
import KafkaWire
import Testing

@testable import FirestreamLog

/// A broker over a scratch log, driven with request frames: no sockets.
struct BrokerHarness {
    let data: TemporaryDirectory
    let log: Log
    let broker: KafkaBroker
    var correlation: Int32 = 0

    init(
        directory: TemporaryDirectory = TemporaryDirectory(), protection: TopicProtection = TopicProtection(), ownedGroups: Set<String> = [],
        autoCreate: Bool = true, clock: (@Sendable () -> Int64)? = nil, configure: (inout KafkaBroker.Options) -> Void = { _ in }
    ) throws {
        data = directory
        log = try Log(directory: data.path)
        var options = KafkaBroker.Options(advertisedHost: "127.0.0.1", advertisedPort: 9092)
        options.protection = protection
        options.ownedGroups = ownedGroups
        options.autoCreateTopics = autoCreate
        configure(&options)
        broker = KafkaBroker(log: log, options: options, clock: clock)
    }

    /// Sends `request` at `version` and decodes the answer as `Response`.
    mutating func send<Request: KafkaRequest, Response: KafkaResponse>(
        _ request: Request, version: Int16, expecting response: Response.Type
    ) async throws -> Response {
        correlation += 1
        return try await call(request, version: version, expecting: response, correlation: correlation)
    }

    /// ``send(_:version:expecting:)`` for requests in flight together (a held JoinGroup).
    func call<Request: KafkaRequest, Response: KafkaResponse>(
        _ request: Request, version: Int16, expecting _: Response.Type, correlation: Int32 = 1
    ) async throws -> Response {
        let header = RequestHeader(apiKey: Request.apiKey, apiVersion: version, correlationID: correlation, clientID: "test")
        let frame = header.frame(request)
        guard case .frame(let reply) = await broker.respond(to: Array(frame.dropFirst(4))) else {
            throw BrokerTestFailure(description: "no response frame")
        }
        var reader = ProtocolReader(Array(reply.dropFirst(4)))
        #expect(try reader.int32() == correlation)
        if Response.isFlexible(version) && Response.apiKey != ApiVersionsResponse.apiKey { try RequestHeader.readTaggedFields(&reader) }
        let response = try Response(from: &reader, version: version)
        #expect(reader.remaining == 0)
        return response
    }
}

struct BrokerTestFailure: Error, CustomStringConvertible {
    var description: String
}

func batch(_ values: [String], producerID: Int64 = -1, sequence: Int32 = -1) -> [UInt8] {
    RecordBatch.encode(
        values.map { ProducerRecord(key: nil, value: Array($0.utf8), timestamp: 1_700_000_000_000) }, producerId: producerID,
        producerEpoch: producerID < 0 ? -1 : 0,
        baseSequence: sequence)
}

func produceRequest(_ topic: String, _ records: [UInt8], acks: Int16 = -1, partition: Int32 = 0) -> ProduceRequest {
    var request = ProduceRequest()
    request.acks = acks
    request.timeoutMs = 5000
    var data = ProduceRequest.TopicProduceData()
    data.name = topic
    var partitionData = ProduceRequest.PartitionProduceData()
    partitionData.index = partition
    partitionData.records = records
    data.partitionData = [partitionData]
    request.topicData = [data]
    return request
}

@Suite struct BrokerTests {
    @Test func apiVersionsListsWhatIsImplementedAndAnswersNewerClientsInV0() async throws {
        var harness = try BrokerHarness()
        defer { harness.log.close() }
        let response = try await harness.send(ApiVersionsRequest(), version: 3, expecting: ApiVersionsResponse.self)
        #expect(response.errorCode == 0)
        let produce = response.apiKeys.first { $0.apiKey == 0 }
        #expect(produce?.minVersion == 0 && produce?.maxVersion == 11, "v0 listed: librdkafka ≤ 2.11 compresses only then")
        #expect(response.apiKeys.contains { $0.apiKey == 18 && $0.minVersion == 0 && $0.maxVersion == 4 })
        // A client from the future asks v9: v0 body, UNSUPPORTED_VERSION, the list.
        let header = RequestHeader(apiKey: 18, apiVersion: 9, correlationID: 77, clientID: "future")
        guard case .frame(let reply) = await harness.broker.respond(to: Array(header.frame(ApiVersionsRequest()).dropFirst(4))) else {
            Issue.record("no answer")
            return
        }
        var reader = ProtocolReader(Array(reply.dropFirst(4)))
        #expect(try reader.int32() == 77)
        let old = try ApiVersionsResponse(from: &reader, version: 0)
        #expect(old.errorCode == 35)
        #expect(old.apiKeys.count == response.apiKeys.count)
    }

    @Test func producedBatchesAreStoredAsSentAndFetchedBack() async throws {
        var harness = try BrokerHarness()
        defer { harness.log.close() }
        _ = try harness.log.createTopic("events")
        let produced = try await harness.send(produceRequest("events", batch(["a", "b"])), version: 9, expecting: ProduceResponse.self)
        #expect(produced.responses.first?.partitionResponses.first?.errorCode == 0)
        #expect(produced.responses.first?.partitionResponses.first?.baseOffset == 0)
        let second = try await harness.send(produceRequest("events", batch(["c"])), version: 7, expecting: ProduceResponse.self)
        #expect(second.responses.first?.partitionResponses.first?.baseOffset == 2)

        var fetch = FetchRequest()
        fetch.maxWaitMs = 0
        fetch.minBytes = 1
        var topic = FetchRequest.FetchTopic()
        topic.topic = "events"
        var partition = FetchRequest.FetchPartition()
        partition.fetchOffset = 1
        partition.partitionMaxBytes = 1 << 20
        topic.partitions = [partition]
        // From v13 the topic is named by its id, as Metadata gives it.
        var metadata = MetadataRequest()
        var named = MetadataRequest.MetadataRequestTopic()
        named.name = "events"
        metadata.topics = [named]
        topic.topicId = try #require(try await harness.send(metadata, version: 12, expecting: MetadataResponse.self).topics.first?.topicId)
        #expect(topic.topicId != .zero)
        fetch.topics = [topic]
        for version: Int16 in [4, 11, 12, 16] {
            let fetched = try await harness.send(fetch, version: version, expecting: FetchResponse.self)
            let data = try #require(fetched.responses.first?.partitions.first)
            #expect(data.errorCode == 0)
            #expect(data.highWatermark == 3)
            let records = try data.records.map { bytes in
                try bytes.withUnsafeBytes { raw in
                    var walker = RecordBatchWalker(raw)
                    var values: [String] = []
                    while case .batch(let header, let range) = walker.peek() {
                        values += try RecordBatch.records(UnsafeRawBufferPointer(rebasing: raw[range]), header: header).map {
                            String(decoding: $0.value ?? [], as: UTF8.self)
                        }
                        _ = walker.next()
                    }
                    return values
                }
            }
            // The whole first batch comes back (the client skips "a").
            #expect(records == ["a", "b", "c"], "Fetch v\(version)")
        }
    }

    @Test func fetchWaitsForMaxWaitThenAnswersEmptyOrEarlierWhenRecordsArrive() async throws {
        var harness = try BrokerHarness()
        defer { harness.log.close() }
        let topic = try harness.log.createTopic("quiet")
        var fetch = FetchRequest()
        fetch.maxWaitMs = 300
        fetch.minBytes = 1
        var wanted = FetchRequest.FetchTopic()
        wanted.topic = "quiet"
        var partition = FetchRequest.FetchPartition()
        partition.partitionMaxBytes = 1 << 20
        wanted.partitions = [partition]
        fetch.topics = [wanted]
        let clock = ContinuousClock()
        let started = clock.now
        let empty = try await harness.send(fetch, version: 11, expecting: FetchResponse.self)
        #expect(clock.now - started >= .milliseconds(290), "an empty fetch waits for maxWaitMs")
        #expect(empty.responses.first?.partitions.first?.records == [])
        fetch.maxWaitMs = 30_000
        let appending = Task {
            try await eventually("the fetch to wait") { topic.partitions[0].waiterCount > 0 }
            _ = try await topic.partitions[0].append([ProducerRecord(key: nil, value: Array("late".utf8), timestamp: 1)])
        }
        let woken = clock.now
        let answer = try await harness.send(fetch, version: 11, expecting: FetchResponse.self)
        try await appending.value
        #expect(clock.now - woken < .seconds(20), "a record ends the wait")
        #expect(answer.responses.first?.partitions.first?.records?.isEmpty == false)
    }
}

@Suite struct OffsetTests {
    func commit(_ group: String, generation: Int32 = -1, member: String = "", offset: Int64, metadata: String?) -> OffsetCommitRequest {
        var request = OffsetCommitRequest()
        request.groupId = group
        request.generationIdOrMemberEpoch = generation
        request.memberId = member
        var topic = OffsetCommitRequest.OffsetCommitRequestTopic()
        topic.name = "events"
        var partition = OffsetCommitRequest.OffsetCommitRequestPartition()
        partition.partitionIndex = 1
        partition.committedOffset = offset
        partition.committedMetadata = metadata
        topic.partitions = [partition]
        request.topics = [topic]
        return request
    }

    @Test func assignModeCommitsKeepOffsetAndMetadataAcrossARestart() async throws {
        var harness = try BrokerHarness(ownedGroups: ["effect-hook"])
        _ = try harness.log.createTopic("events", partitions: 2)
        // aiokafka's version, then librdkafka 2.16's.
        for (version, offset) in [(Int16(3), Int64(7)), (9, 42)] {
            let committed = try await harness.send(
                commit("readers", offset: offset, metadata: "v\(version)"), version: version, expecting: OffsetCommitResponse.self)
            #expect(committed.topics.first?.partitions.first?.errorCode == 0)
        }
        let member = try await harness.send(
            commit("readers", generation: 3, member: "m-1", offset: 1, metadata: nil), version: 7, expecting: OffsetCommitResponse.self)
        #expect(member.topics.first?.partitions.first?.errorCode == 25, "a member the group does not know")
        let owned = try await harness.send(commit("effect-hook", offset: 1, metadata: nil), version: 7, expecting: OffsetCommitResponse.self)
        #expect(owned.topics.first?.partitions.first?.errorCode == 30)

        harness.log.close()
        var reopened = try BrokerHarness(directory: harness.data)
        defer { reopened.log.close() }
        var fetch = OffsetFetchRequest()
        fetch.groupId = "readers"
        fetch.topics = nil  // every committed partition
        let all = try await reopened.send(fetch, version: 3, expecting: OffsetFetchResponse.self)
        #expect(all.topics.map(\.name) == ["events"])
        #expect(all.topics.first?.partitions.map(\.partitionIndex) == [1])
        #expect(all.topics.first?.partitions.first?.committedOffset == 42)
        #expect(all.topics.first?.partitions.first?.metadata == "v9")
        var group = OffsetFetchRequest.OffsetFetchRequestGroup()
        group.groupId = "readers"
        var asked = OffsetFetchRequest.OffsetFetchRequestTopics()
        asked.name = "events"
        asked.partitionIndexes = [0, 1]
        group.topics = [asked]
        var batched = OffsetFetchRequest()
        batched.groups = [group]
        let answer = try await reopened.send(batched, version: 8, expecting: OffsetFetchResponse.self)
        #expect(answer.groups.first?.topics.first?.partitions.map(\.committedOffset) == [-1, 42])
    }

    @Test func thisNodeCoordinatesGroupsAndTransactionsInEveryVersion() async throws {
        var harness = try BrokerHarness()
        defer { harness.log.close() }
        var request = FindCoordinatorRequest()
        request.key = "readers"
        let old = try await harness.send(request, version: 2, expecting: FindCoordinatorResponse.self)
        #expect(old.errorCode == 0 && old.nodeId == 1 && old.host == "127.0.0.1" && old.port == 9092)
        request.coordinatorKeys = ["a", "b"]
        let batched = try await harness.send(request, version: 4, expecting: FindCoordinatorResponse.self)
        #expect(batched.coordinators.map(\.key) == ["a", "b"])
        #expect(batched.coordinators.allSatisfy { $0.errorCode == 0 && $0.nodeId == 1 })
        request.keyType = 1
        let transactions = try await harness.send(request, version: 4, expecting: FindCoordinatorResponse.self)
        #expect(transactions.coordinators.allSatisfy { $0.errorCode == 0 && $0.nodeId == 1 })
        request.keyType = 2
        let shares = try await harness.send(request, version: 4, expecting: FindCoordinatorResponse.self)
        #expect(shares.coordinators.allSatisfy { $0.errorCode == 15 })
    }
}
