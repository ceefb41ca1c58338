import FirestreamTesting
import Foundation
import Testing

@testable import FirestreamLog

@Suite struct ConsumerOffsetsTests {
    @Test func offsetsWithAndWithoutMetadataReadBackAfterReopening() async throws {
        let data = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: "\(data.path)/groups", withIntermediateDirectories: true)
        // The format before metadata existed: bare numbers.
        try Data(#"{"t":{"0":5}}"#.utf8).write(to: URL(fileURLWithPath: "\(data.path)/groups/old.json"))
        var log = try Log(directory: data.path)
        #expect(log.consumerOffsets.committed(group: "old", topic: "t", partition: 0) == 5)
        try await log.consumerOffsets.commit(
            group: "old",
            [
                .init(topic: "t", partition: 1, entry: .init(offset: 9, metadata: "note")),
                .init(topic: "u", partition: 0, entry: .init(offset: 3)),
            ])
        log.close()
        let text = try String(contentsOfFile: "\(data.path)/groups/old.json", encoding: .utf8)
        #expect(text == #"{"t":{"0":5,"1":{"metadata":"note","offset":9}},"u":{"0":3}}"#)
        log = try Log(directory: data.path)
        defer { log.close() }
        #expect(log.consumerOffsets.committed(group: "old")["t"]?[1] == .init(offset: 9, metadata: "note"))
        #expect(log.consumerOffsets.committed(group: "old")["u"]?[0] == .init(offset: 3))
    }

    @Test func groupNamesThatAreNotFileNamesAreRefused() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        for name in ["", "../x", ".hidden", String(repeating: "g", count: 250)] {
            await #expect(throws: LogError.self, "\(name)") { try await log.consumerOffsets.commit(group: name, topic: "t", partition: 0, offset: 1) }
        }
    }
}
