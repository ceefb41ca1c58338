import ArgumentParser
import FirestreamConfig
import FirestreamFormats
import FirestreamGateway
import FirestreamJSON
import FirestreamKafka
import FirestreamLog
import Foundation
import KafkaWire

/// `topics` on a Kafka cluster (`--kafka`, or `kafka.bootstrap` in the config): the same
/// commands, through the cluster's admin API and read_committed consumers.
enum ClusterTopics {
    /// The topic's partition count, or exits naming the topics there are.
    static func existing(_ name: String, on storage: KafkaStorage) async throws -> Int {
        if let count = try await storage.partitionCount(of: name) { return count }
        let names = try await storage.topicNames().filter { !$0.hasPrefix("_") }
        let guess = Suggestion.closest(to: name, in: names).map { " (did you mean \"\($0)\"?)" } ?? ""
        printError("error: no topic \"\(name)\" on \(storage.location)\(guess); topics: \(names.isEmpty ? "none" : names.joined(separator: ", "))")
        throw ExitCode.failure
    }

    /// Offsets per partition: (partition, start, end).
    static func offsets(of name: String, partitions: Int, on storage: KafkaStorage) async throws -> [(Int, Int64, Int64)] {
        var rows: [(Int, Int64, Int64)] = []
        for partition in 0..<partitions {
            let bounds = try await storage.bounds(of: name, partition: partition)
            rows.append((partition, bounds.lowerBound, bounds.upperBound))
        }
        return rows
    }

    static func list(on storage: KafkaStorage, all: Bool) async throws {
        // Kafka's own internal topics start with "__"; Firestream's changelogs end in ".changelog".
        let names = try await storage.topicNames().filter { all || (!$0.hasPrefix("_") && !$0.hasSuffix(".changelog")) }
        if names.isEmpty {
            print("no topics yet on \(storage.location)")
            return
        }
        var rows: [[String]] = []
        for name in names {
            let partitions = try await storage.partitionCount(of: name) ?? 0
            let span = try await offsets(of: name, partitions: partitions, on: storage).reduce(Int64(0)) { $0 + $1.2 - $1.1 }
            rows.append([name, String(partitions), String(span)])
        }
        printTable(["TOPIC", "PARTITIONS", "OFFSETS"], rows)
    }

    static func describe(_ name: String, on storage: KafkaStorage) async throws {
        let partitions = try await existing(name, on: storage)
        print("topic \(name) on \(storage.location)")
        print("  partitions: \(partitions)")
        let rows = try await offsets(of: name, partitions: partitions, on: storage).map { [String($0.0), String($0.1), String($0.2)] }
        printTable(["PARTITION", "START", "END (STABLE)"], rows)
    }

    static func create(_ name: String, partitions: Int, settings: PartitionSettings, on storage: KafkaStorage) async throws {
        if try await storage.partitionCount(of: name) != nil {
            printError("error: topic \"\(name)\" already exists on \(storage.location)")
            throw ExitCode.failure
        }
        var configs: [String: String] = ["retention.ms": settings.retentionMilliseconds.map(String.init) ?? "-1"]
        if let bytes = settings.retentionBytes { configs["retention.bytes"] = String(bytes) }
        do {
            _ = try await storage.ensureTopic(name, partitions: partitions, configs: configs)
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        print("created topic \(name) with \(partitions) partition\(partitions == 1 ? "" : "s") on \(storage.location)")
    }

    static func delete(_ name: String, on storage: KafkaStorage, confirmed: Bool) async throws {
        let partitions = try await existing(name, on: storage)
        guard
            try confirmed
                || FirestreamCLI.confirmed(
                    "Delete topic \(name) and its records from \(storage.location)?",
                    otherwise: "deleting \(name) removes its \(partitions) partition(s) from \(storage.location); pass --yes to confirm")
        else { return }
        do {
            try await storage.deleteTopic(name)
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        print("deleted topic \(name) from \(storage.location)")
    }

    /// Prints each partition's records from its start; with `follow`, keeps printing until
    /// interrupted (each partition read by a task of its own).
    static func tail(
        _ name: String, on storage: KafkaStorage, partition: Int?, start: StartPositions, follow: Bool,
        print line: @escaping @Sendable (Int, ConsumerRecord) -> Void
    ) async throws {
        let partitions = try await existing(name, on: storage)
        if let partition, !(0..<partitions).contains(partition) {
            printError("error: topic \"\(name)\" has partitions 0 to \(partitions - 1), not \(partition)")
            throw ExitCode.failure
        }
        let chosen = partition.map { [$0] } ?? Array(0..<partitions)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in chosen {
                let from = try await start.start(in: storage, topic: name, index: index, now: wallClockMilliseconds())
                let end = try await storage.bounds(of: name, partition: index).upperBound
                group.addTask {
                    let cursor = try await storage.cursor(on: name, partition: index, from: from, whenRemoved: .skip)
                    defer { cursor.close() }
                    while follow || cursor.position < end {
                        let batch = follow ? try await cursor.next() : try await cursor.poll()
                        if let skipped = batch.skipped {
                            printError(
                                "note: records \(skipped.lowerBound)..<\(skipped.upperBound) of \(name)/\(index) were removed by retention before they were read"
                            )
                        }
                        if batch.isEmpty && !follow { break }
                        for record in batch.records where follow || record.offset < end { line(index, record) }
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
