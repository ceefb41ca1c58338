import ArgumentParser
import FirestreamConfig
import FirestreamLog
import Foundation
import KafkaBroker

/// `firestream groups …`: consumer groups (Kafka clients' and Firestream's effects'), read from
/// the log directory.
struct GroupsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "groups",
        abstract: "List and describe consumer groups, and reset their committed offsets.",
        discussion: """
            A consumer group is a name under which consumers commit how far they have read:
            Kafka clients' groups (subscribe(), kcat -G) and the positions of Firestream's own
            effects. list and describe open the log read-only and work while `firestream up`
            runs; members are shown as the broker last wrote them down (when the group last
            settled). reset-offsets needs the log to itself: stop `up` first. It shows the plan
            and changes nothing unless given --execute.

            Examples:
              firestream groups list
              firestream groups describe plots
              firestream groups reset-offsets plots --topic wiener --to-earliest
              firestream groups reset-offsets plots --topic wiener:0,1 --shift-by=-100 --execute
              firestream groups reset-offsets plots --all-topics --to-datetime 2026-11-25T12:00:00Z --execute
            """,
        subcommands: [List.self, Describe.self, ResetOffsets.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List consumer groups with their state, members and lag.")

        @OptionGroup var location: TopicsCommand.Location

        func run() throws {
            let log = try location.openReadOnly()
            let groups = GroupDescription.stored(in: log)
            if groups.isEmpty {
                print("no consumer groups yet")
                return
            }
            printTable(
                ["GROUP", "STATE", "MEMBERS", "PROTOCOL", "LAG"],
                groups.map { group in
                    let lag = log.positions(of: group.id).reduce(Int64(0)) { $0 + $1.lag }
                    let kind = [group.protocolType, group.protocolName].filter { !$0.isEmpty }.joined(separator: "/")
                    return [group.id, group.state, String(group.members.count), kind.isEmpty ? "-" : kind, String(lag)]
                })
        }
    }

    struct Describe: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a group's members and, per partition, its committed offset and lag.")

        @OptionGroup var location: TopicsCommand.Location

        @Argument(help: "The group.")
        var group: String

        func run() throws {
            let log = try location.openReadOnly()
            let target = try existingGroup(group, in: log)
            print("group \(target.id)")
            print("  state:      \(target.state) (generation \(target.generation))")
            let kind = [target.protocolType, target.protocolName].filter { !$0.isEmpty }.joined(separator: "/")
            if !kind.isEmpty { print("  protocol:   \(kind)") }
            var owners: [String: String] = [:]
            for member in target.members {
                let assigned = (member.assignedPartitions ?? [:]).sorted { $0.key < $1.key }
                for (topic, partitions) in assigned {
                    for partition in partitions { owners["\(topic)/\(partition)"] = member.clientID }
                }
                let shown = assigned.map { "\($0.key)[\($0.value.sorted().map(String.init).joined(separator: ","))]" }.joined(separator: " ")
                print("  member:     \(member.id) (client \(member.clientID) at \(member.clientHost)) \(shown.isEmpty ? "nothing assigned" : shown)")
            }
            let positions = log.positions(of: target.id)
            guard !positions.isEmpty else {
                print("  no committed offsets")
                return
            }
            printTable(
                ["TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "OWNER"],
                positions.map { position in
                    [
                        position.topic, String(position.partition), String(position.committed), String(position.end), String(position.lag),
                        owners["\(position.topic)/\(position.partition)"] ?? "-",
                    ]
                })
        }
    }
}

/// The group, or a clear error naming the groups there are.
func existingGroup(_ name: String, in log: Log) throws -> GroupDescription {
    let groups = GroupDescription.stored(in: log)
    guard let group = groups.first(where: { $0.id == name }) else {
        let names = groups.map(\.id)
        let guess = Suggestion.closest(to: name, in: names).map { " (did you mean \"\($0)\"?)" } ?? ""
        printError("error: no consumer group \"\(name)\"\(guess); groups: \(names.isEmpty ? "none" : names.joined(separator: ", "))")
        throw ExitCode.failure
    }
    return group
}
