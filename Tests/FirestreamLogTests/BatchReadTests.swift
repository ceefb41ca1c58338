import FirestreamTesting
import Foundation
import KafkaWire
import Testing

@testable import FirestreamLog

@Suite struct BatchReadTests {
    /// The batches in `bytes`, each with its base offset and record texts.
    func batches(_ bytes: [UInt8]) throws -> [(base: Int64, texts: [String])] {
        try bytes.withUnsafeBytes { raw in
            var walker = RecordBatchWalker(raw)
            var found: [(Int64, [String])] = []
            while case .batch(let header, let range) = walker.peek() {
                let batch = UnsafeRawBufferPointer(rebasing: raw[range])
                #expect(RecordBatch.verify(batch, header: header), "served bytes keep a valid CRC")
                found.append((header.baseOffset, try RecordBatch.records(batch, header: header).map(text)))
                _ = walker.next()
            }
            #expect(walker.remaining == 0)
            return found
        }
    }

    @Test func servesWholeStoredBatchesFromTheOneHoldingTheOffset() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let partition = try log.createTopic("t").partitions[0]
        _ = try await partition.append([record("a"), record("b"), record("c")])
        _ = try await partition.append([record("d"), record("e")])
        let fetched = try partition.readBatches(from: 1)
        let found = try batches(fetched.bytes)
        #expect(found.map(\.base) == [0, 3])
        #expect(found.map(\.texts) == [["a", "b", "c"], ["d", "e"]])
        #expect(fetched.nextOffset == 5)
        #expect(fetched.endOffset == 5)
        #expect(try partition.readBatches(from: 5).bytes.isEmpty)
    }

    @Test func aFirstBatchLargerThanMaxBytesIsServedWholeAndAloneAfterIt() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let partition = try log.createTopic("t").partitions[0]
        let big = String(repeating: "x", count: 5000)
        _ = try await partition.append([record(big)])
        _ = try await partition.append([record("small")])
        let first = try partition.readBatches(from: 0, maxBytes: 100)
        #expect(try batches(first.bytes).map(\.texts) == [[big]])
        #expect(first.nextOffset == 1)
        let rest = try partition.readBatches(from: first.nextOffset, maxBytes: 100)
        #expect(try batches(rest.bytes).map(\.texts) == [["small"]])
    }

    /// A record limit stops at the first batch that would pass it (the first batch is whole),
    /// and never skips a batch to take a smaller one after it.
    @Test func aRecordLimitEndsTheReadAtABatchAndLeavesNoGap() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let partition = try log.createTopic("t").partitions[0]
        for count in [10, 10, 30, 5, 5] { _ = try await partition.append((0..<count).map { record("r\($0)") }) }
        var bases: [[Int64]] = []
        var next: Int64 = 0
        while next < 60 {
            let fetched = try partition.readBatches(from: next, maxRecords: 25)
            bases.append(try batches(fetched.bytes).map(\.base))
            next = fetched.nextOffset
        }
        #expect(bases == [[0, 10], [20], [50, 55]], "the 30-record batch is served alone, whole; the 5 after it waits")
        #expect(try batches(partition.readBatches(from: 0).bytes).count == 5, "no limit: every batch within maxBytes")
    }

    @Test func readsAcrossSegmentsAndRefusesRemovedOffsets() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let partition = try log.createTopic("t", settings: PartitionSettings(segmentBytes: 200)).partitions[0]
        for index in 0..<20 { _ = try await partition.append([record("r\(index)")]) }
        var texts: [String] = []
        var next: Int64 = 0
        while true {
            let fetched = try partition.readBatches(from: next, maxBytes: 150)
            if fetched.bytes.isEmpty { break }
            texts += try batches(fetched.bytes).flatMap(\.texts)
            next = fetched.nextOffset
        }
        #expect(texts == (0..<20).map { "r\($0)" })
        #expect(partition.deleteSegments(below: 10) > 0)
        #expect(throws: LogError.self) { try partition.readBatches(from: 0) }
    }

    @Test func topicIdsSurviveRestartsAndChangeWhenATopicIsMadeAgain() throws {
        let data = TemporaryDirectory()
        var log = try Log(directory: data.path)
        let first = try log.createTopic("t").id
        #expect(try log.createTopic("u").id != first)
        log.close()
        log = try Log(directory: data.path)
        #expect(try log.topic("t").id == first)
        try log.deleteTopic("t")
        #expect(try log.createTopic("t").id != first)
        log.close()
    }

    @Test func topicsStoredWithoutAnIdGetOneFromTheirName() throws {
        let old = TopicMetadata(name: "metronome", partitions: 1, settings: PartitionSettings())
        #expect(old.topicID == TopicMetadata(name: "metronome", partitions: 3, settings: PartitionSettings()).topicID)
        #expect(old.topicID != TopicMetadata(name: "wiener", partitions: 1, settings: PartitionSettings()).topicID)
    }
}
