import FirestreamLog
import FirestreamTesting
import Foundation
import KafkaWire
import Testing

/// `firestream groups`: list and describe what consumer groups committed, and reset it.
@Suite struct GroupsCommandTests {
    /// A log with topic `events` (2 partitions × 10 records, record i written at second i) and
    /// group `plots` at offsets 4 and 10.
    func seeded() async throws -> TemporaryDirectory {
        let scratch = TemporaryDirectory("fs-groups")
        let log = try Log(directory: scratch.url.appendingPathComponent("data").path)
        defer { log.close() }
        let topic = try log.createTopic("events", partitions: 2)
        for partition in topic.partitions {
            _ = try await partition.append(
                (0..<10).map { ProducerRecord(key: nil, value: Array("r\($0)".utf8), timestamp: 1_795_000_000_000 + $0 * 1000) })
        }
        try await log.consumerOffsets.commit(group: "plots", topic: "events", partition: 0, offset: 4)
        try await log.consumerOffsets.commit(group: "plots", topic: "events", partition: 1, offset: 10)
        return scratch
    }

    func run(_ arguments: [String], in scratch: TemporaryDirectory) async throws -> FirestreamProcess.Outcome {
        try await FirestreamProcess.run(["groups"] + arguments + ["--data-dir", "data"], in: scratch.url)
    }

    @Test func listAndDescribeShowCommittedOffsetsAndLag() async throws {
        let scratch = try await seeded()
        let list = try await run(["list"], in: scratch)
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.split(separator: "\n").last?.split(separator: " ", omittingEmptySubsequences: true) == ["plots", "Empty", "0", "-", "6"])
        let describe = try await run(["describe", "plots"], in: scratch)
        #expect(describe.status == 0, "\(describe.stderr)")
        #expect(describe.stdout.contains("state:      Empty (generation 0)"))
        let rows = describe.stdout.split(separator: "\n").filter { $0.hasPrefix("events") }
            .map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(rows == [["events", "0", "4", "10", "6", "-"], ["events", "1", "10", "10", "0", "-"]])
        let unknown = try await run(["describe", "plot"], in: scratch)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("no consumer group \"plot\" (did you mean \"plots\"?)"))
    }

    @Test func resetOffsetsShowsThePlanThenWritesItWithExecute() async throws {
        let scratch = try await seeded()
        let dry = try await run(["reset-offsets", "plots", "--topic", "events", "--to-earliest"], in: scratch)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("dry run: nothing changed"))
        await #expect(try run(["describe", "plots"], in: scratch).stdout.contains("events  0          4"))

        let shifted = try await run(["reset-offsets", "plots", "--topic", "events:1", "--shift-by=-3", "--execute"], in: scratch)
        #expect(shifted.status == 0, "\(shifted.stderr)")
        let byTime = try await run(
            ["reset-offsets", "plots", "--topic", "events:0", "--to-datetime", "2026-11-18T11:06:45Z", "--execute"], in: scratch)
        #expect(byTime.status == 0, "\(byTime.stderr)")
        let beyond = try await run(["reset-offsets", "plots", "--all-topics", "--to-offset", "99", "--execute"], in: scratch)
        #expect(beyond.stdout.contains("reset 2 partition(s)"))
        let log = try Log(directory: scratch.url.appendingPathComponent("data").path, readOnly: true)
        #expect(log.consumerOffsets.committed(group: "plots", topic: "events", partition: 1) == 10, "kept at the partition's end")

        // Each step on its own: shift back 3 from 10, then the record written at second 5.
        let second = try await seeded()
        _ = try await run(["reset-offsets", "plots", "--topic", "events:1", "--shift-by=-3", "--execute"], in: second)
        _ = try await run(["reset-offsets", "plots", "--topic", "events:0", "--to-datetime", "2026-11-18T11:06:45Z", "--execute"], in: second)
        let reopened = try Log(directory: second.url.appendingPathComponent("data").path, readOnly: true)
        #expect(reopened.consumerOffsets.committed(group: "plots", topic: "events", partition: 1) == 7)
        #expect(reopened.consumerOffsets.committed(group: "plots", topic: "events", partition: 0) == 5)

        let two = try await run(["reset-offsets", "plots", "--topic", "events", "--to-earliest", "--to-latest"], in: scratch)
        #expect(two.status != 0 && two.stderr.contains("give exactly one of"))
        let missing = try await run(["reset-offsets", "plots", "--topic", "event", "--to-earliest"], in: scratch)
        #expect(missing.status != 0 && missing.stderr.contains("no topic \"event\""))
        let badTime = try await run(["reset-offsets", "plots", "--all-topics", "--to-datetime", "yesterday"], in: scratch)
        #expect(badTime.status != 0 && badTime.stderr.contains("not an ISO 8601 time"))
    }
}
