import FirestreamLog
import FirestreamTesting
import Foundation
import KafkaProtocol
import KafkaWire
import Logging
import Testing

@testable import KafkaBroker

/// A transactional producer's requests, spoken to the broker as frames.
struct TransactionalClient {
    var id: String
    var producerId: Int64 = -1
    var epoch: Int16 = -1
    var sequence: Int32 = 0

    init(_ id: String) { self.id = id }

    mutating func start(_ harness: inout BrokerHarness, timeoutMs: Int32 = 60_000) async throws -> Int16 {
        var request = InitProducerIdRequest()
        request.transactionalId = id
        request.transactionTimeoutMs = timeoutMs
        let answer = try await harness.send(request, version: 4, expecting: InitProducerIdResponse.self)
        if answer.errorCode == 0 {
            producerId = answer.producerId
            epoch = answer.producerEpoch
            sequence = 0
        }
        return answer.errorCode
    }

    func addPartition(_ harness: inout BrokerHarness, _ topic: String, epoch: Int16? = nil) async throws -> Int16 {
        var request = AddPartitionsToTxnRequest()
        request.v3AndBelowTransactionalId = id
        request.v3AndBelowProducerId = producerId
        request.v3AndBelowProducerEpoch = epoch ?? self.epoch
        var wanted = AddPartitionsToTxnRequest.AddPartitionsToTxnTopic()
        wanted.name = topic
        wanted.partitions = [0]
        request.v3AndBelowTopics = [wanted]
        let answer = try await harness.send(request, version: 3, expecting: AddPartitionsToTxnResponse.self)
        return answer.resultsByTopicV3AndBelow.first?.resultsByPartition.first?.partitionErrorCode ?? -1
    }

    mutating func produce(_ harness: inout BrokerHarness, _ topic: String, _ values: [String]) async throws -> Int16 {
        let records = transactionalBatch(values, producerId: producerId, epoch: epoch, sequence: sequence)
        let answer = try await harness.send(produceRequest(topic, records), version: 9, expecting: ProduceResponse.self)
        let code = answer.responses.first?.partitionResponses.first?.errorCode ?? -1
        if code == 0 { sequence += Int32(values.count) }
        return code
    }

    func end(_ harness: inout BrokerHarness, commit: Bool) async throws -> Int16 {
        var request = EndTxnRequest()
        request.transactionalId = id
        request.producerId = producerId
        request.producerEpoch = epoch
        request.committed = commit
        return try await harness.send(request, version: 3, expecting: EndTxnResponse.self).errorCode
    }

    func commitOffset(_ harness: inout BrokerHarness, group: String, topic: String, offset: Int64) async throws -> [Int16] {
        var add = AddOffsetsToTxnRequest()
        add.transactionalId = id
        add.producerId = producerId
        add.producerEpoch = epoch
        add.groupId = group
        let added = try await harness.send(add, version: 3, expecting: AddOffsetsToTxnResponse.self).errorCode
        var request = TxnOffsetCommitRequest()
        request.transactionalId = id
        request.groupId = group
        request.producerId = producerId
        request.producerEpoch = epoch
        var wanted = TxnOffsetCommitRequest.TxnOffsetCommitRequestTopic()
        wanted.name = topic
        var partition = TxnOffsetCommitRequest.TxnOffsetCommitRequestPartition()
        partition.committedOffset = offset
        wanted.partitions = [partition]
        request.topics = [wanted]
        let answer = try await harness.send(request, version: 3, expecting: TxnOffsetCommitResponse.self)
        return [added, answer.topics.first?.partitions.first?.errorCode ?? -1]
    }
}

/// Transactions through the broker's requests: the coordinator's answers, what read_committed
/// fetches see, offsets committed with a transaction, fencing, timeouts and restarts.
@Suite struct TransactionTests {
    func fetch(_ harness: inout BrokerHarness, _ topic: String, committed: Bool) async throws -> FetchResponse.PartitionData {
        var request = FetchRequest()
        request.maxWaitMs = 0
        request.isolationLevel = committed ? 1 : 0
        var wanted = FetchRequest.FetchTopic()
        wanted.topic = topic
        var partition = FetchRequest.FetchPartition()
        partition.partitionMaxBytes = 1 << 20
        wanted.partitions = [partition]
        request.topics = [wanted]
        return try #require(try await harness.send(request, version: 11, expecting: FetchResponse.self).responses.first?.partitions.first)
    }

    func committed(_ harness: inout BrokerHarness, group: String, topic: String) async throws -> (Int64, Int16) {
        var request = OffsetFetchRequest()
        request.groupId = group
        request.requireStable = true
        var wanted = OffsetFetchRequest.OffsetFetchRequestTopic()
        wanted.name = topic
        wanted.partitionIndexes = [0]
        request.topics = [wanted]
        let answer = try #require(try await harness.send(request, version: 7, expecting: OffsetFetchResponse.self).topics.first?.partitions.first)
        return (answer.committedOffset, answer.errorCode)
    }

    func latest(_ harness: inout BrokerHarness, _ topic: String, committed: Bool) async throws -> Int64 {
        var request = ListOffsetsRequest()
        request.replicaId = -1
        request.isolationLevel = committed ? 1 : 0
        var wanted = ListOffsetsRequest.ListOffsetsTopic()
        wanted.name = topic
        var partition = ListOffsetsRequest.ListOffsetsPartition()
        partition.timestamp = -1
        wanted.partitions = [partition]
        request.topics = [wanted]
        let answer = try await harness.send(request, version: 5, expecting: ListOffsetsResponse.self)
        return try #require(answer.topics.first?.partitions.first?.offset)
    }

    func values(_ harness: BrokerHarness, _ topic: String) throws -> [String] {
        try harness.log.topic(topic).partitions[0].read(from: 0).records.map { String(decoding: $0.value ?? [], as: UTF8.self) }
    }

    @Test func commitsAndAbortsAreWhatReadCommittedFetchesAndTheLogsReadersSee() async throws {
        var harness = try BrokerHarness()
        _ = try harness.log.createTopic("t")
        var client = TransactionalClient("tx")
        #expect(try await client.start(&harness) == 0)
        #expect(client.epoch == 0)
        #expect(try await client.produce(&harness, "t", ["early"]) == 48, "INVALID_TXN_STATE before AddPartitionsToTxn")

        #expect(try await client.addPartition(&harness, "t") == 0)
        #expect(try await client.produce(&harness, "t", ["a", "b"]) == 0)
        var open = try await fetch(&harness, "t", committed: true)
        #expect(open.highWatermark == 2 && open.lastStableOffset == 0)
        #expect(open.records?.isEmpty == true)
        #expect(try await fetch(&harness, "t", committed: false).records?.isEmpty == false)
        #expect(try values(harness, "t").isEmpty)
        #expect(try await latest(&harness, "t", committed: true) == 0)
        #expect(try await latest(&harness, "t", committed: false) == 2)

        #expect(try await client.end(&harness, commit: true) == 0)
        open = try await fetch(&harness, "t", committed: true)
        #expect(open.lastStableOffset == 3 && open.highWatermark == 3)
        #expect(try values(harness, "t") == ["a", "b"])

        #expect(try await client.addPartition(&harness, "t") == 0)
        #expect(try await client.produce(&harness, "t", ["x"]) == 0)
        #expect(try await client.end(&harness, commit: false) == 0)
        #expect(try await client.end(&harness, commit: false) == 0, "a repeated abort is answered the same")
        #expect(try await client.end(&harness, commit: true) == 48, "an aborted transaction cannot commit")
        let aborted = try await fetch(&harness, "t", committed: true)
        #expect(aborted.abortedTransactions?.map(\.producerId) == [client.producerId])
        #expect(aborted.abortedTransactions?.map(\.firstOffset) == [3])
        #expect(try values(harness, "t") == ["a", "b"])

        // A new instance with the same id fences the old one.
        var successor = TransactionalClient("tx")
        #expect(try await successor.start(&harness) == 0)
        #expect(successor.producerId == client.producerId && successor.epoch == 1)
        #expect(try await client.addPartition(&harness, "t") == 90, "PRODUCER_FENCED")
        #expect(try await successor.addPartition(&harness, "t", epoch: 0) == 90)
        #expect(try await client.produce(&harness, "t", ["zombie"]) == 48)
    }

    @Test func offsetsCommitWithTheTransactionOnly() async throws {
        var harness = try BrokerHarness()
        _ = try harness.log.createTopic("in")
        var client = TransactionalClient("mover")
        #expect(try await client.start(&harness) == 0)
        #expect(try await client.commitOffset(&harness, group: "g", topic: "in", offset: 5) == [0, 0])
        #expect(try await committed(&harness, group: "g", topic: "in") == (-1, 88), "UNSTABLE_OFFSET_COMMIT while pending")
        #expect(try await client.end(&harness, commit: true) == 0)
        #expect(try await committed(&harness, group: "g", topic: "in") == (5, 0))

        #expect(try await client.commitOffset(&harness, group: "g", topic: "in", offset: 9) == [0, 0])
        #expect(try await client.end(&harness, commit: false) == 0)
        #expect(try await committed(&harness, group: "g", topic: "in") == (5, 0))
        #expect(try await client.commitOffset(&harness, group: "g", topic: "nowhere", offset: 1) == [0, 3])
    }

    @Test func aTransactionOpenAtARestartIsAbortedAndItsProducerFenced() async throws {
        let directory = TemporaryDirectory()
        var harness = try BrokerHarness(directory: directory)
        _ = try harness.log.createTopic("t")
        var client = TransactionalClient("restarted")
        #expect(try await client.start(&harness) == 0)
        #expect(try await client.addPartition(&harness, "t") == 0)
        #expect(try await client.produce(&harness, "t", ["lost"]) == 0)
        harness.log.close()

        var restarted = try BrokerHarness(directory: directory)
        #expect(restarted.log.topicIfExists("t")?.partitions[0].lastStableOffset == 0)
        await restarted.broker.tick()
        let answer = try await fetch(&restarted, "t", committed: true)
        #expect(answer.lastStableOffset == 2 && answer.abortedTransactions?.count == 1)
        #expect(try await client.addPartition(&restarted, "t") == 90, "the open transaction's producer is fenced")
        #expect(try await client.start(&restarted) == 0)
        #expect(client.epoch == 2)
        #expect(try values(restarted, "t").isEmpty)
    }

    /// A transactional id is its first principal's (as Kafka's WRITE on the TransactionalId):
    /// another signed-in client cannot start, fence, extend or end it, though batches show its
    /// producer id and epoch to every reader.
    @Test func anotherPrincipalCannotUseATransactionalID() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        _ = try log.createTopic("t")
        let coordinator = TransactionCoordinator(log: log, maxTimeoutMs: 60_000, clock: { 0 }, logger: Logger(label: "test"))
        guard case .success(let (producer, epoch)) = await coordinator.initProducer(id: "tx", timeoutMs: 1_000, principal: "alice") else {
            Issue.record("alice could not start her producer")
            return
        }
        guard case .failure(let refusal) = await coordinator.initProducer(id: "tx", timeoutMs: 1_000, principal: "mallory") else {
            Issue.record("mallory fenced alice's producer")
            return
        }
        #expect(refusal.code == .transactionalIDAuthorizationFailed)
        let partition = TransactionCoordinator.Partition(topic: "t", partition: 0)
        #expect(
            await coordinator.addPartitions(id: "tx", producerId: producer, epoch: epoch, principal: "mallory", [partition])?.code
                == .transactionalIDAuthorizationFailed)
        #expect(await coordinator.addPartitions(id: "tx", producerId: producer, epoch: epoch, principal: "alice", [partition]) == nil)
        #expect(
            await coordinator.endTransaction(id: "tx", producerId: producer, epoch: epoch, principal: "mallory", commit: false)?.code
                == .transactionalIDAuthorizationFailed)
        #expect(await coordinator.endTransaction(id: "tx", producerId: producer, epoch: epoch, principal: "alice", commit: true) == nil)
    }

    @Test func aTransactionOpenPastItsTimeoutIsAbortedOnTheTick() async throws {
        let now = Locked<Int64>(0)
        var harness = try BrokerHarness(clock: { now.withLock { $0 } })
        _ = try harness.log.createTopic("t")
        var client = TransactionalClient("slow")
        #expect(try await client.start(&harness, timeoutMs: 0) == 50, "INVALID_TRANSACTION_TIMEOUT")
        #expect(try await client.start(&harness, timeoutMs: 901_000) == 50)
        #expect(try await client.start(&harness, timeoutMs: 1_000) == 0)
        #expect(try await client.addPartition(&harness, "t") == 0)
        #expect(try await client.produce(&harness, "t", ["late"]) == 0)
        now.withLock { $0 = 900 }
        await harness.broker.tick()
        #expect(try await fetch(&harness, "t", committed: true).lastStableOffset == 0)
        now.withLock { $0 = 1_100 }
        await harness.broker.tick()
        #expect(try await fetch(&harness, "t", committed: true).lastStableOffset == 2)
        #expect(try await client.end(&harness, commit: true) == 90)
    }
}
