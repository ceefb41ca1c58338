import FirestreamTesting
import Foundation
import KafkaWire
import Testing

@testable import FirestreamLog

@Suite struct DeleteRecordsTests {
    func records(_ range: Range<Int>) -> [ProducerRecord] {
        range.map { ProducerRecord(key: nil, value: Array("r\($0)".utf8), timestamp: 1_000 + Int64($0)) }
    }

    @Test func thePartitionStartsAtTheOffsetAskedEvenInsideASegmentAndAPowerCutKeepsIt() async throws {
        let disk = SimulatedDisk()
        let log = try Log(directory: "/data", fileSystem: disk.mount())
        let partition = try log.createTopic("t", settings: PartitionSettings(segmentBytes: 1024)).partitions[0]
        for batch in 0..<20 { try await partition.append(records(batch * 5..<batch * 5 + 5)) }
        let segments = partition.segmentCount
        #expect(try partition.deleteRecords(before: 50) == 50)
        #expect(partition.startOffset == 50)
        #expect(partition.segmentCount < segments, "segments wholly below 50 are removed")
        #expect(try partition.read(from: 50).records.first?.offset == 50)
        #expect(throws: LogError.self) { try partition.read(from: 49) }
        // Asking for less than the start changes nothing; past the end is refused.
        #expect(try partition.deleteRecords(before: 10) == 50)
        #expect(throws: LogError.self) { try partition.deleteRecords(before: 101) }
        disk.powerCut()

        let reopened = try Log(directory: "/data", fileSystem: disk.mount())
        let again = try reopened.topic("t").partitions[0]
        #expect(again.startOffset == 50)
        #expect(try again.read(from: 50).records.map(\.offset).first == 50)
        #expect(try again.deleteRecords(before: again.durableOffset) == 100)
        #expect(again.startOffset == 100 && again.durableOffset == 100)
        try await again.append(records(100..<101))
        #expect(try again.read(from: 100).records.map(\.offset) == [100])
    }
}
