import FirestreamTesting
import Foundation
import KafkaWire
import Testing

@testable import FirestreamLog

@Suite struct ReadOnlyLogTests {
    @Test func followsAWriterWithoutEverWriting() async throws {
        let data = TemporaryDirectory()
        let writer = try Log(directory: data.path)
        defer { writer.close() }
        let partition = try writer.createTopic("t", settings: PartitionSettings(segmentBytes: 300)).partitions[0]
        try await partition.append([record("first")])

        let reader = try Log(directory: data.path, readOnly: true)
        let follower = try reader.topic("t").partitions[0]
        #expect(try follower.read(from: 0).records.map(text) == ["first"])
        for index in 0..<10 { try await partition.append([record("more-\(index)-" + String(repeating: "r", count: 40))]) }
        #expect(follower.durableOffset == 1)
        #expect(try follower.refresh() == 11)
        #expect(follower.segmentCount > 1)
        #expect(try drain(follower).map(text).last?.hasPrefix("more-9") == true)
        var batch = RecordBatch.encode([record("nope")])
        #expect(throws: LogError.readOnly(follower.directory)) { try follower.appendBatch(&batch) }
        #expect(throws: LogError.self) { try reader.createTopic("u") }
    }

    @Test func aTornTailIsIgnoredButNotRepaired() async throws {
        let data = TemporaryDirectory()
        do {
            let log = try Log(directory: data.path)
            let partition = try log.createTopic("t").partitions[0]
            try await partition.append([record("whole")])
            try await partition.append([record("torn")])
            log.close()
        }
        let file = data.segmentFiles("t")[0]
        let size = try FileManager.default.attributesOfItem(atPath: file)[.size] as! Int64
        truncate(file, off_t(size - 5))
        let reader = try Log(directory: data.path, readOnly: true)
        #expect(try reader.topic("t").partitions[0].read(from: 0).records.map(text) == ["whole"])
        #expect(try FileManager.default.attributesOfItem(atPath: file)[.size] as! Int64 == size - 5)
    }

    @Test func aMissingDataDirectoryIsReportedNotCreated() {
        let missing = TemporaryDirectory().url.appendingPathComponent("never-created").path
        #expect(throws: LogError.noData(missing)) { try Log(directory: missing, readOnly: true) }
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test func damagedMetadataIsRefusedAndKeptNotSkipped() async throws {
        let data = TemporaryDirectory()
        do {
            let log = try Log(directory: data.path)
            _ = try await log.createTopic("t").partitions[0].append([record("kept")])
            try await log.consumerOffsets.commit(group: "effect-e", topic: "t", partition: 0, offset: 1)
            log.close()
        }
        let metadata = "\(data.path)/topics/t/topic.json"
        let good = try String(contentsOfFile: metadata, encoding: .utf8)
        try "{\"name\": \"t\", \"parti".write(toFile: metadata, atomically: true, encoding: .utf8)
        #expect {
            try Log(directory: data.path)
        } throws: { error in
            guard case .damagedFile(let path, _) = error as? LogError else { return false }
            return path == metadata
        }
        #expect(try String(contentsOfFile: metadata, encoding: .utf8) == "{\"name\": \"t\", \"parti", "left as it is")

        // Committed offsets too: forgetting them would make an effect resend everything.
        try good.write(toFile: metadata, atomically: true, encoding: .utf8)
        let offsets = "\(data.path)/groups/effect-e.json"
        try "[1,".write(toFile: offsets, atomically: true, encoding: .utf8)
        #expect {
            try Log(directory: data.path)
        } throws: { error in
            guard case .damagedFile(let path, _) = error as? LogError else { return false }
            return path == offsets
        }
        // A topic directory without its metadata is a creation cut short: opened without it.
        try FileManager.default.removeItem(atPath: offsets)
        try FileManager.default.createDirectory(atPath: "\(data.path)/topics/half", withIntermediateDirectories: true)
        let log = try Log(directory: data.path)
        defer { log.close() }
        #expect(log.topicNames == ["t"])
        #expect(try drain(log.topic("t").partitions[0]).map(text) == ["kept"])
    }
}
