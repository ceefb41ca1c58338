import FirestreamTesting
import Foundation
import KafkaWire
import Testing

@testable import FirestreamLog

@Suite struct PartitionReaderTests {
    @Test func readsEveryRecordOnceInBoundedPieces() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let partition = try log.createTopic("t", settings: PartitionSettings(segmentBytes: 700)).partitions[0]
        for index in 0..<60 { _ = try await partition.append([record("r\(index)")]) }
        var reader = PartitionReader.earliest(partition, whenRemoved: .fail)
        var seen: [String] = []
        while true {
            let batch = try reader.poll(maxBytes: 64, maxRecords: 7)
            if batch.isEmpty { break }
            #expect(batch.records.count <= 7)
            seen += batch.records.map(text)
        }
        #expect(seen == (0..<60).map { "r\($0)" })
        #expect(reader.position == 60)
        #expect(try reader.poll().isEmpty)
    }

    @Test func nextWaitsForTheNextAppend() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let partition = try log.createTopic("t").partitions[0]
        _ = try await partition.append([record("old")])
        let reading = Task {
            var reader = PartitionReader.latest(partition, whenRemoved: .fail)
            return try await reader.next().records.map(text)
        }
        // The reader is parked at the end until something new is durable.
        try await eventually("the reader to park") { partition.waiterCount == 1 }
        _ = try await partition.append([record("new")])
        #expect(try await reading.value == ["new"])
    }

    @Test func nextGivesUpAfterMaxWaitOrCancellation() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let partition = try log.createTopic("t").partitions[0]
        var reader = PartitionReader.latest(partition, whenRemoved: .fail)
        let started = ContinuousClock.now
        #expect(try await reader.next(maxWait: .milliseconds(50)).isEmpty)
        #expect(ContinuousClock.now - started >= .milliseconds(50))
        let waiting = Task {
            var parked = PartitionReader.latest(partition, whenRemoved: .fail)
            return try await parked.next().isEmpty
        }
        waiting.cancel()
        #expect(try await waiting.value)
        #expect(await reader.waitForRecord(maxWait: .milliseconds(1)) == false)
    }

    @Test func removedRecordsAreSkippedAndNamedOrRefused() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let partition = try log.createTopic("t", settings: PartitionSettings(segmentBytes: 300)).partitions[0]
        for index in 0..<40 { _ = try await partition.append([record("r\(index)" + String(repeating: "z", count: 40))]) }
        var skipping = PartitionReader(partition, from: 3, whenRemoved: .skip)
        var failing = PartitionReader(partition, from: 3, whenRemoved: .fail)
        #expect(partition.deleteSegments(below: 20) > 0)
        let start = partition.startOffset
        #expect(start > 3)
        let batch = try skipping.poll()
        #expect(batch.skipped == 3..<start)
        #expect(batch.records.first?.offset == start)
        #expect(throws: LogError.self) { try failing.poll() }
        #expect(failing.position == 3)
    }

    @Test func waitsForAnyOfSeveralPartitions() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let topic = try log.createTopic("t", partitions: 3)
        let readers = topic.partitions.map { PartitionReader.latest($0, whenRemoved: .fail) }
        let waiting = Task { await PartitionReader.waitForAny(readers) }
        try await eventually("every reader to park") { topic.partitions.allSatisfy { $0.waiterCount == 1 } }
        _ = try await topic.partitions[2].append([record("x")])
        #expect(await waiting.value)
        #expect(readers[2].hasRecords && !readers[0].hasRecords)
        #expect(await PartitionReader.waitForAny(readers, maxWait: .milliseconds(1)))
    }

    @Test func aReadOnlyPartitionIsFollowedByRescanning() async throws {
        let data = TemporaryDirectory()
        let writer = try Log(directory: data.path)
        defer { writer.close() }
        let written = try writer.createTopic("t").partitions[0]
        _ = try await written.append([record("a")])
        let reader = try Log(directory: data.path, readOnly: true)
        defer { reader.close() }
        var cursor = PartitionReader.latest(try reader.topic("t").partitions[0], whenRemoved: .fail)
        cursor.refreshInterval = .milliseconds(10)
        let reading = Task { [cursor] in
            var cursor = cursor
            return try await cursor.next().records.map(text)
        }
        _ = try await written.append([record("b")])
        #expect(try await reading.value == ["b"])
    }
}
