import FirestreamTesting
import Foundation
import Testing

@testable import FirestreamLog
@testable import KafkaWire

@Suite struct IdempotentProducerTests {
    func batch(_ values: [String], producer: Int64, epoch: Int16 = 0, sequence: Int32) -> [UInt8] {
        RecordBatch.encode(values.map { record($0) }, producerId: producer, producerEpoch: epoch, baseSequence: sequence)
    }

    @Test func replayedBatchesAreSkippedAndGapsRefused() throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path, durability: .osBuffered)
        defer { log.close() }
        let partition = try log.createTopic("t").partitions[0]
        var first = batch(["a", "b"], producer: 7, sequence: 0)
        #expect(try partition.appendBatch(&first) == PartitionLog.Appended(first: 0, last: 1, duplicate: false))
        var second = batch(["c"], producer: 7, sequence: 2)
        #expect(try partition.appendBatch(&second).first == 2)
        var replay = batch(["a", "b"], producer: 7, sequence: 0)
        #expect(try partition.appendBatch(&replay).duplicate)
        var replayLast = batch(["c"], producer: 7, sequence: 2)
        #expect(try partition.appendBatch(&replayLast).duplicate)
        var gap = batch(["e"], producer: 7, sequence: 9)
        #expect(throws: LogError.self) { try partition.appendBatch(&gap) }
        var other = batch(["x"], producer: 8, sequence: 0)
        #expect(try partition.appendBatch(&other).first == 3)
        var plain = RecordBatch.encode([record("no producer")])
        #expect(try partition.appendBatch(&plain).first == 4)
        #expect(try partition.read(from: 0).records.map(text) == ["a", "b", "c", "x", "no producer"])
        #expect(partition.lastSequence(of: 7) == 2)
    }

    @Test func olderEpochIsFencedNewerEpochRestarts() throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path, durability: .osBuffered)
        defer { log.close() }
        let partition = try log.createTopic("t").partitions[0]
        var a = batch(["a"], producer: 1, epoch: 3, sequence: 0)
        _ = try partition.appendBatch(&a)
        var stale = batch(["b"], producer: 1, epoch: 2, sequence: 1)
        #expect(throws: LogError.self) { try partition.appendBatch(&stale) }
        var newer = batch(["c"], producer: 1, epoch: 4, sequence: 0)
        #expect(try partition.appendBatch(&newer).duplicate == false)
    }

    @Test func producerStateSurvivesRestartAcrossSegmentRolls() async throws {
        let data = TemporaryDirectory()
        do {
            let log = try Log(directory: data.path)
            let partition = try log.createTopic("t", settings: PartitionSettings(segmentBytes: 300)).partitions[0]
            for sequence in 0..<12 {
                var next = batch(["value-\(sequence)-" + String(repeating: "p", count: 40)], producer: 5, sequence: Int32(sequence))
                let appended = try partition.appendBatch(&next)
                try await partition.waitUntilDurable(appended.last + 1)
            }
            #expect(partition.segmentCount > 3)
            log.close()
        }
        let log = try Log(directory: data.path)
        defer { log.close() }
        let partition = try log.topic("t").partitions[0]
        #expect(partition.lastSequence(of: 5) == 11)
        var replay = batch(["value-10-" + String(repeating: "p", count: 40)], producer: 5, sequence: 10)
        #expect(try partition.appendBatch(&replay).duplicate)
        var next = batch(["value-12"], producer: 5, sequence: 12)
        #expect(try partition.appendBatch(&next).first == 12)
    }

    @Test func sequencesWrapLikeKafka() {
        #expect(ProducerSequence.advance(Int32.max, by: 1) == 0)
        #expect(ProducerSequence.advance(Int32.max - 1, by: 3) == 1)
        var state = ProducerState()
        let header = { (sequence: Int32, count: Int32) in
            RecordBatchHeader(
                baseOffset: 0, batchLength: 49, partitionLeaderEpoch: 0, magic: 2, crc: 0, attributes: 0,
                lastOffsetDelta: count - 1, baseTimestamp: 0, maxTimestamp: 0, producerId: 1, producerEpoch: 0,
                baseSequence: sequence, recordCount: count)
        }
        state.record(header(Int32.max - 1, 2))
        #expect(state.lastSequence(of: 1) == Int32.max)
        #expect(state.check(header(0, 1)) == .append)
        #expect(state.check(header(Int32.max - 1, 2)) == .duplicate(lastOffset: 1))
    }
}
