import ArgumentParser
import FirestreamConfig
import FirestreamEmbedded
import FirestreamFormats
import FirestreamGateway
import FirestreamJSON
import FirestreamKafka
import FirestreamLog
import Foundation
import KafkaWire

/// `firestream topics …`: look inside the log.
struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "List, create, describe, delete and tail the topics of the log or a Kafka cluster.",
        discussion: """
            Reading commands (list, describe, tail) open the log read-only and work while
            `firestream up` runs. create and delete need the log to themselves: stop `up` first.

            With --kafka host:port (or kafka.bootstrap in the config, unless --data-dir is
            given) every command works on that Kafka cluster instead, while anything runs:
            tail reads committed records only; list and describe show offsets (on Kafka,
            transaction markers take offsets too).

            Examples:
              firestream topics list
              firestream topics describe wiener
              firestream topics tail wiener --follow
              firestream topics tail metronome --from-beginning --format json | jq .value.magnitude
              firestream topics create clicks --partitions 4 --retention 3d
              firestream topics delete clicks --yes
              firestream topics list --kafka broker:9092
            """,
        subcommands: [List.self, Describe.self, Create.self, Delete.self, Tail.self]
    )

    /// Where the log is: shared by every topics subcommand.
    struct Location: ParsableArguments {
        @Option(help: "The project config file or directory (default: the current directory).")
        var config: String?

        @Option(help: "The log's directory (default: .firestream/ beside the config).")
        var dataDir: String?

        @OptionGroup var address: ClusterAddress

        /// The Kafka cluster to work on: `--kafka`, or the config's `kafka.bootstrap` unless
        /// `--data-dir` names a log; nil for the embedded log.
        func cluster() throws -> KafkaStorage? {
            if address.kafka == nil && dataDir != nil { return nil }
            let project = try ProjectLocation.resolve(config: config, dataDir: dataDir)
            do {
                return try address.storage(project.config)
            } catch let exit as ExitCode {
                throw exit
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
        }

        func openReadOnly() throws -> Log { try ProjectLocation.resolve(config: config, dataDir: dataDir).readOnlyLog() }

        /// Opens the log for writing, refusing while another process (`up`) holds it.
        func openExclusive() throws -> (Log, DataDirectoryLock) {
            let directory = try ProjectLocation.resolve(config: config, dataDir: dataDir).dataDirectory
            do {
                let lock = try DataDirectoryLock(directory: directory)
                return (try Log(directory: directory), lock)
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List topics with their partitions, records and size.")

        @OptionGroup var location: Location

        @Flag(help: "Include internal topics (app journals).")
        var all = false

        func run() async throws {
            if let storage = try location.cluster() { return try await ClusterTopics.list(on: storage, all: all) }
            let log = try location.openReadOnly()
            let names = log.topicNames.filter { all || !$0.hasPrefix("__") }
            if names.isEmpty {
                print("no topics yet")
                return
            }
            let rows = try names.map { name -> [String] in
                let topic = try log.topic(name)
                let bytes = topic.partitions.reduce(Int64(0)) { $0 + $1.sizeInBytes }
                return [name, String(topic.partitions.count), String(topic.recordCount), formatBytes(bytes)]
            }
            printTable(["TOPIC", "PARTITIONS", "RECORDS", "SIZE"], rows)
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a topic's settings and each partition's offsets and segments.")

        @OptionGroup var location: Location

        @Argument(help: "The topic.")
        var topic: String

        func run() async throws {
            if let storage = try location.cluster() { return try await ClusterTopics.describe(topic, on: storage) }
            let log = try location.openReadOnly()
            let target = try existing(topic, in: log)
            let settings = target.settings
            print("topic \(target.name)")
            print("  partitions: \(target.partitions.count)")
            print(
                "  retention:  \(settings.retentionMilliseconds.map(formatDuration) ?? "unlimited") or \(settings.retentionBytes.map(formatBytes) ?? "unlimited") per partition"
            )
            print("  segments:   roll at \(formatBytes(settings.segmentBytes)) or \(formatDuration(settings.segmentMilliseconds))")
            let rows = target.partitions.map { partition in
                [
                    String(partition.partition), String(partition.startOffset), String(partition.durableOffset),
                    String(partition.durableOffset - partition.startOffset), String(partition.segmentCount), formatBytes(partition.sizeInBytes),
                ]
            }
            printTable(["PARTITION", "START", "END", "RECORDS", "SEGMENTS", "SIZE"], rows)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a topic.")

        @OptionGroup var location: Location

        @Argument(help: "The topic name: ASCII letters, digits, '.', '_' and '-'.")
        var topic: String

        @Option(help: "Number of partitions.")
        var partitions: Int = 1

        @Option(help: "How long records are kept, e.g. 7d, 12h, or unlimited.")
        var retention: String = "7d"

        @Option(help: "Bytes kept per partition, e.g. 1Gi, or unlimited.")
        var retentionBytes: String = "unlimited"

        func run() async throws {
            var settings = PartitionSettings()
            if retention == "unlimited" {
                settings.retentionMilliseconds = nil
            } else if let duration = TimeSpan.parse(retention) {
                settings.retentionMilliseconds = duration.milliseconds
            } else {
                throw ValidationError("--retention \"\(retention)\" is not a duration (e.g. 7d, 12h, 30m) or \"unlimited\"")
            }
            if retentionBytes != "unlimited" {
                do {
                    settings.retentionBytes = try Quantity.parse(retentionBytes, as: .bytes).wholeUnits
                } catch {
                    throw ValidationError("--retention-bytes: \(error.message)\(error.hint.map { " (\($0))" } ?? "")")
                }
            }
            if let storage = try location.cluster() {
                return try await ClusterTopics.create(topic, partitions: partitions, settings: settings, on: storage)
            }
            let (log, lock) = try location.openExclusive()
            defer {
                log.close()
                withExtendedLifetime(lock) {}
            }
            do {
                try log.createTopic(topic, partitions: partitions, settings: settings)
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
            print("created topic \(topic) with \(partitions) partition\(partitions == 1 ? "" : "s")")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a topic and all its records.")

        @OptionGroup var location: Location

        @Argument(help: "The topic.")
        var topic: String

        @Flag(name: .shortAndLong, help: "Do not ask for confirmation.")
        var yes = false

        func run() async throws {
            if let storage = try location.cluster() { return try await ClusterTopics.delete(topic, on: storage, confirmed: yes) }
            let (log, lock) = try location.openExclusive()
            defer {
                log.close()
                withExtendedLifetime(lock) {}
            }
            let target = try existing(topic, in: log)
            guard
                try yes
                    || confirmed(
                        "Delete topic \(topic) and its \(target.recordCount) records?",
                        otherwise: "deleting \(topic) removes \(target.recordCount) records; pass --yes to confirm")
            else { return }
            try log.deleteTopic(topic)
            print("deleted topic \(topic)")
        }
    }

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a topic's records: the last ones, from an offset, or all; --follow for new ones.")

        @OptionGroup var location: Location

        @Argument(help: "The topic.")
        var topic: String

        @Option(help: "Only this partition.")
        var partition: Int?

        @Flag(help: "Start at the first record.")
        var fromBeginning = false

        @Option(help: "Start at this offset (in each partition).")
        var from: Int64?

        @Option(help: "Start with the last N records of each partition (default 10).")
        var last: Int?

        @Flag(name: .shortAndLong, help: "Keep printing records as they arrive, until Ctrl-C.")
        var follow = false

        @Option(help: "text, or json: one object per line {topic, partition, offset, key, timestamp, value}.")
        var format: DiagnosticFormat = .text

        func validate() throws {
            let starts = [fromBeginning, from != nil, last != nil].filter { $0 }.count
            if starts > 1 { throw ValidationError("choose one of --from-beginning, --from and --last") }
            if let last, last < 0 { throw ValidationError("--last must be 0 or more") }
            if let from, from < 0 { throw ValidationError("--from must be an offset, 0 or more") }
        }

        func run() async throws {
            if let storage = try location.cluster() {
                let rule: StartPositions.Rule = fromBeginning ? .earliest : from.map { .offset($0) } ?? .last(Int64(last ?? 10))
                let (topic, format) = (topic, format)
                return try await ClusterTopics.tail(topic, on: storage, partition: partition, start: StartPositions(rule: rule), follow: follow) {
                    partition, record in
                    printLine(format == .json ? RecordJSON.render(topic: topic, partition: partition, record) : textLine(topic, partition, record))
                }
            }
            let log = try location.openReadOnly()
            let target = try existing(topic, in: log)
            let start: TopicTail.Start = fromBeginning ? .beginning : from.map { .offset($0) } ?? .last(last ?? 10)
            var tail: TopicTail
            do {
                tail = try TopicTail(topic: target, partition: partition, start: start)
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
            while true {
                // Piece by piece: a topic of any size prints with bounded memory.
                while case let piece = try tail.next(), !piece.isEmpty {
                    for (partition, skipped) in piece.skipped {
                        printError(
                            "note: records \(skipped.lowerBound)..<\(skipped.upperBound) of \(topic)/\(partition) were removed by retention before they were read"
                        )
                    }
                    for (partition, record) in piece.records {
                        printLine(
                            format == .json ? RecordJSON.render(topic: topic, partition: partition, record) : textLine(topic, partition, record))
                    }
                }
                guard follow, await tail.waitForMore() else { break }
            }
        }
    }
}

private func existing(_ name: String, in log: Log) throws -> Topic {
    guard let topic = log.topicIfExists(name) else {
        let names = log.topicNames.filter { !$0.hasPrefix("__") }
        let guess = Suggestion.closest(to: name, in: names).map { " (did you mean \"\($0)\"?)" } ?? ""
        printError("error: no topic \"\(name)\"\(guess); topics: \(names.isEmpty ? "none" : names.joined(separator: ", "))")
        throw ExitCode.failure
    }
    return topic
}

/// Asks `question` on a terminal; without one, exits with `otherwise`. False (saying nothing was
/// deleted) unless the answer is yes.
func confirmed(_ question: String, otherwise refusal: String) throws -> Bool {
    guard isatty(STDIN_FILENO) == 1 else {
        printError("error: \(refusal)")
        throw ExitCode.failure
    }
    print("\(question) [y/N]: ", terminator: "")
    fflush(nil)
    guard ["y", "yes"].contains(readLine()?.lowercased() ?? "") else {
        print("nothing deleted")
        return false
    }
    return true
}

private func textLine(_ topic: String, _ partition: Int, _ record: ConsumerRecord) -> String {
    let key = record.key.map { String(decoding: $0, as: UTF8.self) } ?? "-"
    let value = record.value.map { String(decoding: $0, as: UTF8.self) } ?? "null"
    return "\(topic)/\(partition)@\(record.offset)  \(formatTimestamp(record.timestamp))  \(key)  \(value)"
}

private func formatTimestamp(_ milliseconds: Int64) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
}

func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

func formatDuration(_ milliseconds: Int64) -> String {
    for (size, unit) in [(604_800_000, "w"), (86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1000, "s")] as [(Int64, String)]
    where milliseconds % size == 0 {
        return "\(milliseconds / size)\(unit)"
    }
    return "\(milliseconds)ms"
}

func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    for row in [header] + rows {
        let padded = row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
        print(padded.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
    }
}
