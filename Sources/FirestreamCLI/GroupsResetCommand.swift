import ArgumentParser
import FirestreamEmbedded
import FirestreamLog
import Foundation
import KafkaBroker

extension GroupsCommand {
    struct ResetOffsets: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-offsets",
            abstract: "Move a group's committed offsets (a dry run unless --execute).",
            discussion: """
                Choose the partitions with --topic (repeatable; NAME for every partition, or
                NAME:0,2 for some) or --all-topics (every partition the group has committed to),
                and the new position with exactly one of --to-earliest, --to-latest, --to-offset,
                --to-datetime or --shift-by. New offsets are kept between each partition's first
                and end offsets. With --execute the log must not be in use (stop `firestream up`);
                members the broker remembers are forgotten, so when they come back they rejoin and
                read from the new offsets.
                """)

        @OptionGroup var location: TopicsCommand.Location

        @Argument(help: "The group.")
        var group: String

        @Option(name: .customLong("topic"), help: "A topic (NAME or NAME:0,1,…); repeatable.")
        var topics: [String] = []

        @Flag(help: "Every partition the group has committed to.")
        var allTopics = false

        @Flag(help: "To each partition's first offset.")
        var toEarliest = false

        @Flag(help: "To each partition's end (skip everything not read yet).")
        var toLatest = false

        @Option(help: "To this offset.")
        var toOffset: Int64?

        @Option(help: "To the first record at or after this time (ISO 8601, e.g. 2026-11-25T12:00:00Z).")
        var toDatetime: String?

        @Option(help: "Move by this many records from the committed offset (back: --shift-by=-100).")
        var shiftBy: Int64?

        @Flag(help: "Write the new offsets (without it, only show them).")
        var execute = false

        func validate() throws {
            let targets = [toEarliest, toLatest, toOffset != nil, toDatetime != nil, shiftBy != nil].filter { $0 }.count
            guard targets == 1 else {
                throw ValidationError("give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by (got \(targets))")
            }
            guard allTopics != !topics.isEmpty else { throw ValidationError("give either --topic (one or more) or --all-topics") }
            if let toDatetime, Self.timestamp(toDatetime) == nil {
                throw ValidationError("--to-datetime \"\(toDatetime)\" is not an ISO 8601 time like 2026-11-25T12:00:00Z")
            }
        }

        static func timestamp(_ text: String) -> Int64? {
            let formatter = ISO8601DateFormatter()
            let date = formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text + "Z")
            return date.map { Int64($0.timeIntervalSince1970 * 1000) }
        }

        func run() async throws {
            let (log, lock): (Log, DataDirectoryLock?) = execute ? try location.openExclusive() : (try location.openReadOnly(), nil)
            defer { withExtendedLifetime(lock) {} }
            let target = try existingGroup(group, in: log)
            var commits: [ConsumerOffsets.Commit] = []
            let rows = try partitions(in: log).map { topic, partition -> [String] in
                let current = log.consumerOffsets.committed(group: group, topic: topic.name, partition: partition)
                let next = try newOffset(topic.partitions[partition], current: current)
                commits.append(ConsumerOffsets.Commit(topic: topic.name, partition: partition, entry: .init(offset: next)))
                return [topic.name, String(partition), current.map(String.init) ?? "-", String(next)]
            }
            printTable(["TOPIC", "PARTITION", "CURRENT", "NEW"], rows)
            guard execute else {
                print("dry run: nothing changed (add --execute to write these offsets)")
                return
            }
            try await log.consumerOffsets.commit(group: group, commits)
            if !target.members.isEmpty {
                try await GroupDescription.forgetMembers(of: group, in: log)
                print("forgot \(target.members.count) member(s): when they return they rejoin and read from these offsets")
            }
            print("reset \(commits.count) partition(s) of group \(group)")
        }

        /// The partitions named, checked against the log.
        private func partitions(in log: Log) throws -> [(Topic, Int)] {
            if allTopics {
                return log.positions(of: group).compactMap { position in log.topicIfExists(position.topic).map { ($0, position.partition) } }
            }
            return try topics.flatMap { spec -> [(Topic, Int)] in
                let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
                guard let topic = log.topicIfExists(parts.first ?? "") else {
                    printError("error: --topic \(spec): no topic \"\(parts.first ?? "")\"; topics: \(log.topicNames.joined(separator: ", "))")
                    throw ExitCode.failure
                }
                guard parts.count == 2 else { return topic.partitions.indices.map { (topic, $0) } }
                return try parts[1].split(separator: ",").map { text in
                    guard let partition = Int(text), topic.partitions.indices.contains(partition) else {
                        printError("error: --topic \(spec): \"\(text)\" is not a partition of \(topic.name) (0…\(topic.partitions.count - 1))")
                        throw ExitCode.failure
                    }
                    return (topic, partition)
                }
            }
        }

        private func newOffset(_ partition: PartitionLog, current: Int64?) throws -> Int64 {
            let first = partition.startOffset
            let end = partition.durableOffset
            let wanted: Int64
            if toEarliest {
                wanted = first
            } else if toLatest {
                wanted = end
            } else if let toOffset {
                wanted = toOffset
            } else if let toDatetime, let time = Self.timestamp(toDatetime) {
                wanted = try partition.offset(forTimestamp: time) ?? end
            } else {
                let (shifted, overflow) = (current ?? first).addingReportingOverflow(shiftBy ?? 0)
                wanted = overflow ? ((shiftBy ?? 0) < 0 ? first : end) : shifted
            }
            return min(max(wanted, first), end)
        }
    }
}
