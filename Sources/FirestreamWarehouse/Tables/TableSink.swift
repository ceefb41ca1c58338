public import FirestreamLog
public import FirestreamStreams
import Foundation
import KafkaWire
import Synchronization

/// Keeps one declared table up to date from its topic, exactly once: each partition's records
/// become rows, written with the partition's next offset in one transaction of the store, so a
/// crash at any point leaves the table as if it stopped between two transactions, and reading
/// resumes after the last one. Records that cannot become rows go to the table's dead-letter
/// topic (before the transaction that passes them commits: after a crash a dead letter may
/// repeat, a row never).
public struct TableSink: Runnable {
    public let table: TableDefinition
    public let store: any TableStore
    public let counters = AppCounters()
    let report: @Sendable (String) -> Void
    /// How often rows past the table's retention are deleted.
    let expiryInterval: Duration

    public init(
        _ table: TableDefinition, store: any TableStore, expiryInterval: Duration = .seconds(60), report: @escaping @Sendable (String) -> Void
    ) {
        self.table = table
        self.store = store
        self.expiryInterval = expiryInterval
        self.report = report
    }

    public var name: String { table.name }
    public var role: RunnableRole { .effect }
    public var summary: String {
        let mode = table.mode == .upsert ? "upsert by \(table.key.joined(separator: ", "))" : "append"
        return "\(table.name) (table, \(mode)) \(table.topic) → \(store.location), dead letters → \(table.deadLetter)"
    }
    public var status: String {
        "\(name): \(counters.records.load(ordering: .relaxed)) in, \(counters.outputs.load(ordering: .relaxed)) rows, \(counters.deadLetters.load(ordering: .relaxed)) dead letters"
    }
    public var ownedTopics: [String: String] { [table.deadLetter: "the dead-letter topic of table \"\(table.name)\""] }
    public var usedTopics: [String: String] { ownedTopics.merging([table.topic: "read by table \"\(table.name)\""]) { first, _ in first } }

    public func prepare(_ storage: any RecordStorage) async throws {
        _ = try await storage.ensureTopic(table.topic, partitions: 1)
        _ = try await storage.ensureTopic(table.deadLetter, partitions: 1)
    }

    public func run(_ storage: any RecordStorage) async throws {
        try await prepare(storage)
        let offsets = try await store.prepare(table, report: report)
        let partitions = try await storage.partitionCount(of: table.topic) ?? 1
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<partitions {
                group.addTask { try await fill(from: index, at: offsets[index], storage: storage) }
            }
            if let retention = table.retentionMilliseconds {
                group.addTask { try await expire(olderThan: retention) }
            }
            try await group.waitForAll()
        }
    }

    /// Reads the partition from `stored` and commits its rows batch by batch. One batch commits
    /// while the next is read and decoded (decoding JSON and writing the database take about as
    /// long each); the store still receives the batches one at a time, in order.
    private func fill(from partition: Int, at stored: Int64?, storage: any RecordStorage) async throws {
        var start = stored ?? 0
        if stored == nil { start = try await storage.bounds(of: table.topic, partition: partition).lowerBound }
        let reader = try await storage.cursor(on: table.topic, partition: partition, from: start, whenRemoved: .skip)
        defer { reader.close() }
        var committing: Task<Void, any Error>?
        do {
            while !Task.isCancelled {
                let batch = try await reader.next(maxBytes: 4 << 20, maxRecords: 10_000)
                if batch.isEmpty { break }
                if let skipped = batch.skipped {
                    report(
                        "table \(table.name): records \(skipped.lowerBound)..<\(skipped.upperBound) of \(table.topic)/\(partition) were removed by retention before they were read"
                    )
                }
                let (rows, deadLetters) = decode(batch.records, partition: partition)
                if !deadLetters.isEmpty {
                    report(
                        "table \(table.name): \(deadLetters.count) record(s) of \(table.topic)/\(partition) go to \(table.deadLetter): \(deadLetterReason(deadLetters[0]))"
                    )
                    _ = try await storage.append(deadLetters, to: table.deadLetter)
                }
                let next = batch.records.last.map { $0.offset + 1 } ?? reader.position
                let commit = TableBatch(table: table.name, partition: partition, rows: rows, next: next)
                let (read, passed, refused) = (batch.records.count, rows.count, deadLetters.count)
                try await committing?.value
                committing = Task { [store, counters, table] in
                    try await store.apply(commit)
                    counters.records.add(read, ordering: .relaxed)
                    counters.outputs.add(passed, ordering: .relaxed)
                    counters.deadLetters.add(refused, ordering: .relaxed)
                    counters.record(position: next, topic: table.topic, partition: partition)
                }
            }
            try await committing?.value
        } catch {
            // A commit under way finishes (or fails) before the store may be closed.
            _ = try? await committing?.value
            throw error
        }
    }

    /// The records' rows, and dead letters for those that cannot become one.
    private func decode(_ records: [ConsumerRecord], partition: Int) -> ([TableBatch.Row], [ProducerRecord]) {
        var rows: [TableBatch.Row] = []
        var deadLetters: [ProducerRecord] = []
        rows.reserveCapacity(records.count)
        for record in records {
            switch RowDecoder.row(record, for: table) {
            case .success(let values):
                rows.append(TableBatch.Row(values: values, partition: partition, offset: record.offset, timestamp: record.timestamp))
            case .failure(let problem):
                deadLetters.append(deadLetter(record, partition: partition, reason: problem.description))
            }
        }
        return (rows, deadLetters)
    }

    private func expire(olderThan retention: Int64) async throws {
        while !Task.isCancelled {
            let removed = try await store.expire(table, before: wallClockMilliseconds() - retention)
            if removed > 0 { report("table \(table.name): \(removed) row(s) older than its retention deleted") }
            do { try await Task.sleep(for: expiryInterval) } catch { return }
        }
    }

    private func deadLetter(_ record: ConsumerRecord, partition: Int, reason: String) -> ProducerRecord {
        .deadLetter(of: record, topic: table.topic, partition: partition, reason: reason)
    }

    private func deadLetterReason(_ record: ProducerRecord) -> String {
        record.headers.last { $0.key == "firestream.error" }?.value.map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}
