import FirestreamTesting
import Foundation
import KafkaWire
import Testing

@testable import FirestreamLog

/// A settable clock for retention and rolling tests.
final class TestClock: Sendable {
    private let now = Locked<Int64>(1_700_000_000_000)
    var read: @Sendable () -> Int64 { { [self] in now.withLock { $0 } } }
    func advance(_ milliseconds: Int64) { now.withLock { $0 += milliseconds } }
}

func record(_ text: String, key: String? = nil, at timestamp: Int64 = 1_700_000_000_000) -> ProducerRecord {
    ProducerRecord(key: key.map { Array($0.utf8) }, value: Array(text.utf8), timestamp: timestamp)
}

func text(_ record: ConsumerRecord) -> String { String(decoding: record.value ?? [], as: UTF8.self) }

@Suite struct PartitionLogTests {
    @Test func appendsAndReadsBackInOrder() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let partition = try log.createTopic("events").partitions[0]
        var firsts: [Int64] = []
        for batch in 0..<10 {
            firsts.append(try await partition.append((0..<5).map { record("b\(batch)r\($0)") }))
        }
        #expect(firsts == stride(from: 0, to: 50, by: 5).map(Int64.init))
        #expect(partition.durableOffset == 50)
        let all = try partition.read(from: 0, maxBytes: 1 << 20)
        #expect(all.records.map(\.offset) == Array(0..<50))
        #expect(text(all.records[7]) == "b1r2")
        let middle = try partition.read(from: 23, maxBytes: 1)
        #expect(middle.records.first?.offset == 23)
        #expect(middle.records.allSatisfy { $0.offset >= 23 })
        #expect(try partition.read(from: 50).records.isEmpty)
    }

    @Test func survivesReopenAndContinuesOffsets() async throws {
        let data = TemporaryDirectory()
        do {
            let log = try Log(directory: data.path)
            let topic = try log.createTopic("t", partitions: 3)
            try await topic.partitions[2].append([record("a"), record("b")])
            log.close()
        }
        let log = try Log(directory: data.path)
        defer { log.close() }
        #expect(log.recoveryNotes.isEmpty)
        let topic = try log.topic("t")
        #expect(topic.partitions.count == 3)
        #expect(try await topic.partitions[2].append([record("c")]) == 2)
        #expect(try topic.partitions[2].read(from: 0).records.map(text) == ["a", "b", "c"])
    }

    @Test func recoversAfterTornWrite() async throws {
        let data = TemporaryDirectory()
        var sizeAfterTwo: Int64 = 0
        do {
            let log = try Log(directory: data.path)
            let partition = try log.createTopic("t").partitions[0]
            try await partition.append([record("one")])
            try await partition.append([record("two")])
            sizeAfterTwo = partition.sizeInBytes
            try await partition.append([record("three"), record("four")])
            log.close()
        }
        // Cut the last batch in half, as a crash mid-write would.
        let file = data.segmentFiles("t")[0]
        let full = try FileManager.default.attributesOfItem(atPath: file)[.size] as! Int64
        truncate(file, off_t(sizeAfterTwo + (full - sizeAfterTwo) / 2))
        let log = try Log(directory: data.path)
        defer { log.close() }
        #expect(log.recoveryNotes.count == 1)
        #expect(log.recoveryNotes.first?.truncatedBytes == (full - sizeAfterTwo) / 2)
        #expect(log.recoveryNotes.first?.reason.contains("torn") == true)
        let partition = try log.topic("t").partitions[0]
        #expect(try partition.read(from: 0).records.map(text) == ["one", "two"])
        #expect(try await partition.append([record("again")]) == 2)
        #expect(try partition.read(from: 0).records.map(text) == ["one", "two", "again"])
    }

    @Test func recoveryTruncatesAtAFlippedByte() async throws {
        let data = TemporaryDirectory()
        var sizeAfterOne: Int64 = 0
        do {
            let log = try Log(directory: data.path)
            let partition = try log.createTopic("t").partitions[0]
            try await partition.append([record("keep")])
            sizeAfterOne = partition.sizeInBytes
            try await partition.append([record("damaged")])
            try await partition.append([record("after")])
            log.close()
        }
        let file = data.segmentFiles("t")[0]
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
        try handle.seek(toOffset: UInt64(sizeAfterOne + 70))
        let byte = try handle.read(upToCount: 1)![0]
        try handle.seek(toOffset: UInt64(sizeAfterOne + 70))
        try handle.write(contentsOf: [byte ^ 0x20])
        try handle.close()
        let log = try Log(directory: data.path)
        defer { log.close() }
        #expect(log.recoveryNotes.first?.reason.contains("CRC-32C mismatch") == true)
        let partition = try log.topic("t").partitions[0]
        #expect(try partition.read(from: 0).records.map(text) == ["keep"])
        #expect(partition.endOffset == 1)
    }

    @Test func neverServesACorruptSealedBatch() async throws {
        let data = TemporaryDirectory()
        let settings = PartitionSettings(segmentBytes: 200)
        do {
            let log = try Log(directory: data.path)
            let partition = try log.createTopic("t", settings: settings).partitions[0]
            for index in 0..<6 { try await partition.append([record("record-\(index)-" + String(repeating: "x", count: 60))]) }
            log.close()
        }
        let first = data.segmentFiles("t")[0]
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: first))
        try handle.seek(toOffset: 80)
        try handle.write(contentsOf: [0xFF, 0xFF])
        try handle.close()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let partition = try log.topic("t").partitions[0]
        #expect(throws: LogError.self) { try partition.read(from: 0) }
        #expect(log.recoveryNotes.isEmpty || log.recoveryNotes.allSatisfy { $0.truncatedBytes == 0 })
        #expect(partition.endOffset == 6)
        // Later segments are intact and still readable.
        #expect(try partition.read(from: 3).records.first.map(text)?.hasPrefix("record-3") == true)
    }

    @Test func rollsSegmentsBySizeAndTimeAndReadsAcrossThem() async throws {
        let data = TemporaryDirectory()
        let clock = TestClock()
        let log = try Log(directory: data.path, clock: clock.read)
        defer { log.close() }
        let partition = try log.createTopic("t", settings: PartitionSettings(segmentBytes: 1000, segmentMilliseconds: 60_000)).partitions[0]
        for index in 0..<40 { try await partition.append([record("value-\(index)-" + String(repeating: "y", count: 40))]) }
        let bySize = partition.segmentCount
        #expect(bySize > 3)
        clock.advance(61_000)
        try await partition.append([record("late")])
        #expect(partition.segmentCount == bySize + 1)
        let all = try partition.read(from: 0, maxBytes: 1 << 20)
        var collected: [ConsumerRecord] = []
        var next: Int64 = 0
        while next < partition.durableOffset {
            let fetched = try partition.read(from: next, maxBytes: 300)
            collected += fetched.records
            next = fetched.nextOffset
        }
        #expect(collected.map(\.offset) == Array(0..<41))
        #expect(all.records.count >= 1)
        #expect(text(collected.last!) == "late")
    }

    @Test func sparseIndexFindsEveryOffsetAfterReopen() async throws {
        let data = TemporaryDirectory()
        let settings = PartitionSettings(segmentBytes: 4000, indexIntervalBytes: 150)
        do {
            let log = try Log(directory: data.path)
            let partition = try log.createTopic("t", settings: settings).partitions[0]
            for index in 0..<120 { try await partition.append([record("\(index)"), record("\(index)b")]) }
            log.close()
        }
        let log = try Log(directory: data.path)
        defer { log.close() }
        let partition = try log.topic("t").partitions[0]
        for offset in [0, 1, 2, 57, 58, 131, 200, 239] as [Int64] {
            let fetched = try partition.read(from: offset, maxBytes: 10)
            #expect(fetched.records.first?.offset == offset)
            let expected = offset % 2 == 0 ? "\(offset / 2)" : "\(offset / 2)b"
            #expect(fetched.records.first.map(text) == expected)
        }
    }

    @Test func retentionDeletesOldSegmentsAndMovesTheStart() async throws {
        let data = TemporaryDirectory()
        let clock = TestClock()
        let log = try Log(directory: data.path, clock: clock.read)
        defer { log.close() }
        let settings = PartitionSettings(segmentBytes: 500, retentionMilliseconds: 3_600_000)
        let partition = try log.createTopic("t", settings: settings).partitions[0]
        let start = clock.read()
        for index in 0..<30 { try await partition.append([record("r\(index)" + String(repeating: "z", count: 50), at: start + Int64(index))]) }
        let segments = partition.segmentCount
        #expect(log.enforceRetention() == 0)
        clock.advance(3_600_000 + 100)
        let removed = log.enforceRetention()
        #expect(removed == segments - 1)
        #expect(partition.startOffset > 0)
        #expect(throws: LogError.self) { try partition.read(from: 0) }
        #expect(try partition.read(from: partition.startOffset).records.first?.offset == partition.startOffset)
        // The flusher unlinks the files (and syncs the directory); closing waits for its last pass.
        log.close()
        #expect(data.segmentFiles("t").count == 1)
    }

    @Test func retentionBySizeKeepsTheNewestData() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let partition = try log.createTopic("t", settings: PartitionSettings(segmentBytes: 500, retentionMilliseconds: nil, retentionBytes: 1200))
            .partitions[0]
        for index in 0..<40 { try await partition.append([record("r\(index)" + String(repeating: "s", count: 50))]) }
        log.enforceRetention()
        #expect(partition.sizeInBytes <= 1200 + 500)
        #expect(partition.sizeInBytes >= 1200 - 500)
        #expect(try drain(partition, from: partition.startOffset).last?.offset == 39)
    }

    @Test func findsOffsetsByTimestamp() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let partition = try log.createTopic("t", settings: PartitionSettings(segmentBytes: 600, indexIntervalBytes: 100)).partitions[0]
        for index in 0..<50 { try await partition.append([record("r\(index)", at: 1_000 + Int64(index) * 10)]) }
        #expect(try partition.offset(forTimestamp: 0) == 0)
        #expect(try partition.offset(forTimestamp: 1_000) == 0)
        #expect(try partition.offset(forTimestamp: 1_005) == 1)
        #expect(try partition.offset(forTimestamp: 1_250) == 25)
        #expect(try partition.offset(forTimestamp: 1_490) == 49)
        #expect(try partition.offset(forTimestamp: 1_491) == nil)
    }

    @Test func liveTailWakesOnAppendAndStopsOnCancel() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let partition = try log.createTopic("t").partitions[0]
        async let woke = partition.waitForRecord(at: 0)
        try await Task.sleep(for: .milliseconds(50))
        try await partition.append([record("hello")])
        #expect(await woke)
        let waiting = Task { await partition.waitForRecord(at: 5) }
        try await Task.sleep(for: .milliseconds(20))
        waiting.cancel()
        #expect(await waiting.value == false)
    }

    @Test func concurrentProducersGetUniqueDurableOffsets() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let partition = try log.createTopic("t").partitions[0]
        let offsets = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for producer in 0..<8 {
                group.addTask {
                    var mine: [Int64] = []
                    for index in 0..<50 { mine.append(try await partition.append([record("p\(producer)-\(index)")])) }
                    return mine
                }
            }
            return try await group.reduce(into: [Int64]()) { $0 += $1 }
        }
        #expect(Set(offsets).count == 400)
        #expect(offsets.max() == 399)
        #expect(partition.durableOffset == 400)
        #expect(try partition.read(from: 0).records.count == 400)
    }

    @Test func keyedRecordsLandOnKafkasPartition() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let topic = try log.createTopic("t", partitions: 5)
        let placed = try await topic.append([record("a", key: "device-0001"), record("b", key: "foobar"), record("c", key: "device-0001")])
        #expect(placed.map(\.partition) == [2, 1, 2])
        #expect(placed.map(\.offset) == [0, 0, 1])
    }

    @Test func topicsAreCreatedListedAndDeleted() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        try log.createTopic("b")
        try log.createTopic("a", partitions: 2)
        #expect(log.topicNames == ["a", "b"])
        #expect(throws: LogError.topicExists("a")) { try log.createTopic("a") }
        #expect(throws: LogError.self) { try log.createTopic("bad name") }
        #expect(throws: LogError.self) { try log.createTopic("x", partitions: 0) }
        try log.deleteTopic("a")
        #expect(log.topicNames == ["b"])
        #expect(throws: LogError.unknownTopic("a")) { try log.topic("a") }
        #expect(!FileManager.default.fileExists(atPath: "\(data.path)/topics/a"))
    }

    @Test func consumerOffsetsAreDurable() async throws {
        let data = TemporaryDirectory()
        do {
            let log = try Log(directory: data.path)
            try await log.consumerOffsets.commit(group: "dashboard", topic: "wiener", partition: 0, offset: 42)
            try await log.consumerOffsets.commit(group: "dashboard", topic: "wiener", partition: 1, offset: 7)
            log.close()
        }
        let log = try Log(directory: data.path)
        defer { log.close() }
        #expect(log.consumerOffsets.committed(group: "dashboard", topic: "wiener", partition: 0) == 42)
        #expect(log.consumerOffsets.committed(group: "dashboard", topic: "wiener", partition: 1) == 7)
        #expect(log.consumerOffsets.committed(group: "other", topic: "wiener", partition: 0) == nil)
    }

    @Test func osBufferedPolicyAcknowledgesWithoutTheFlusher() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path, durability: .osBuffered)
        defer { log.close() }
        let partition = try log.createTopic("t").partitions[0]
        #expect(try await partition.append([record("x")]) == 0)
        #expect(partition.durableOffset == 1)
    }
}
