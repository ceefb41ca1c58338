import FirestreamJSON
import FirestreamLog
import FirestreamStreams
import FirestreamTesting
import Foundation
import KafkaWire
import Synchronization
import Testing

@testable import FirestreamWarehouse

/// A log, a table store in its directory, and sinks run until they have read what is there.
final class TableBench {
    let directory = TemporaryDirectory("firestream-tables")
    let log: Log
    var tablesPath: String { WarehouseFiles.tables(in: directory.path) }

    init() throws { log = try Log(directory: directory.path) }
    deinit { log.close() }

    static func readings(_ range: Range<Int>, devices: Int = 3) -> [ProducerRecord] {
        range.map { index in
            ProducerRecord(
                key: Array("d\(index % devices)".utf8),
                value: Array(#"{"device":"d\#(index % devices)","n":\#(index),"reading":\#(Double(index) / 4),"ok":\#(index % 2 == 0)}"#.utf8),
                timestamp: 1_000_000 + Int64(index))
        }
    }

    /// Runs `sink` until it has read `records` records, then stops it.
    func fill(_ sink: TableSink, records: Int) async throws {
        let storage = EmbeddedStorage(log)
        let task = Task { try await sink.run(storage) }
        try await eventually("the table read \(records) records") { sink.counters.records.load(ordering: .relaxed) >= records }
        task.cancel()
        try await task.value
    }

    func query(_ sql: String) async throws -> [[SQLValue]] {
        try await SQLiteQueryEngine(log: log, tablesPath: tablesPath).query(sql, limits: QueryLimits()) { _ in true }.rows
    }

    func deadLetters(_ topic: String) throws -> [(reason: String, source: String)] {
        var found: [(String, String)] = []
        var reader = PartitionReader(try log.topic(topic).partitions[0], from: 0, whenRemoved: .skip)
        while case let batch = try reader.poll(), !batch.records.isEmpty {
            for record in batch.records {
                let header = { (name: String) in record.headers.first { $0.key == name }?.value.map { String(decoding: $0, as: UTF8.self) } ?? "" }
                found.append((header("firestream.error"), header("firestream.source")))
            }
        }
        return found
    }
}

let readingColumns = [
    TableDefinition.Column(name: "device", pointer: JSONPointer("/device")!, type: .text),
    TableDefinition.Column(name: "n", pointer: JSONPointer("/n")!, type: .integer),
    TableDefinition.Column(name: "reading", pointer: JSONPointer("/reading")!, type: .real),
    TableDefinition.Column(name: "ok", pointer: JSONPointer("/ok")!, type: .boolean),
]

@Suite struct TableSinkTests {
    @Test func appendsEachRecordOnceAcrossRestarts() async throws {
        let bench = try TableBench()
        let topic = try bench.log.createTopic("readings", partitions: 2)
        _ = try await topic.partitions[0].append(TableBench.readings(0..<40))
        _ = try await topic.partitions[1].append(TableBench.readings(40..<60))
        let table = TableDefinition(name: "readings_all", topic: "readings", columns: readingColumns)
        let store = SQLiteTableStore(path: bench.tablesPath)
        try await bench.fill(TableSink(table, store: store, report: { _ in }), records: 60)
        // A second run after more records: it resumes from the stored offsets.
        _ = try await topic.partitions[0].append(TableBench.readings(60..<70))
        let again = TableSink(table, store: store, report: { _ in })
        try await bench.fill(again, records: 10)
        #expect(again.counters.records.load(ordering: .relaxed) == 10, "only the new records are read")
        let rows = try await bench.query("SELECT count(*), count(DISTINCT n), sum(n), min(n), max(n) FROM readings_all")
        #expect(rows == [[.integer(70), .integer(70), .integer(Int64((0..<70).reduce(0, +))), .integer(0), .integer(69)]])
        let one = try await bench.query("SELECT device, n, reading, ok, _partition, _offset, _timestamp FROM readings_all WHERE n = 41")
        #expect(one == [[.text("d2"), .integer(41), .real(10.25), .integer(0), .integer(1), .integer(1), .integer(1_000_041)]])
        let offsets = try await bench.query("SELECT partition, next_offset FROM _firestream_offsets ORDER BY 1")
        #expect(offsets == [[.integer(0), .integer(50)], [.integer(1), .integer(20)]])
    }

    /// A transaction is on disk when `apply` returns: WAL, and an fsync at every commit (FULL = 2).
    @Test func commitsAreSyncedToDisk() async throws {
        let bench = try TableBench()
        let store = SQLiteTableStore(path: bench.tablesPath)
        #expect(try await store.durabilitySettings() == [.text("wal"), .integer(2)])
    }

    /// Another process holding the database's write lock past the busy timeout rolls the batch
    /// back with a restartable failure (the sink starts again from its offsets; `up` goes on).
    @Test func aLockedDatabaseIsARestartableFailureThatLosesNothing() async throws {
        let bench = try TableBench()
        let topic = try bench.log.createTopic("readings")
        _ = try await topic.partitions[0].append(TableBench.readings(0..<20))
        let table = TableDefinition(name: "locked", topic: "readings", columns: readingColumns)
        let store = SQLiteTableStore(path: bench.tablesPath, busyTimeout: .milliseconds(50))
        try await bench.fill(TableSink(table, store: store, report: { _ in }), records: 20)
        _ = try await topic.partitions[0].append(TableBench.readings(20..<30))

        let other = try SQLiteDatabase(path: bench.tablesPath, readOnly: false, busyTimeout: .zero)
        try other.execute("BEGIN IMMEDIATE")
        await #expect(throws: TablesLocked.self) { try await TableSink(table, store: store, report: { _ in }).run(EmbeddedStorage(bench.log)) }
        try other.execute("ROLLBACK")
        other.close()

        try await bench.fill(TableSink(table, store: store, report: { _ in }), records: 10)
        let rows = try await bench.query("SELECT count(*), count(DISTINCT n), max(n) FROM locked")
        #expect(rows == [[.integer(30), .integer(30), .integer(29)]])
    }

    @Test func upsertKeepsTheLatestRowPerKey() async throws {
        let bench = try TableBench()
        let topic = try bench.log.createTopic("readings")
        _ = try await topic.partitions[0].append(TableBench.readings(0..<30))
        let table = TableDefinition(name: "latest", topic: "readings", mode: .upsert, key: ["device"], columns: readingColumns)
        try await bench.fill(TableSink(table, store: SQLiteTableStore(path: bench.tablesPath), report: { _ in }), records: 30)
        let rows = try await bench.query("SELECT device, n, _offset FROM latest ORDER BY device")
        #expect(
            rows == [
                [.text("d0"), .integer(27), .integer(27)], [.text("d1"), .integer(28), .integer(28)], [.text("d2"), .integer(29), .integer(29)],
            ])
    }

    @Test func sendsRecordsThatDoNotFitToTheDeadLetterTopic() async throws {
        let bench = try TableBench()
        let topic = try bench.log.createTopic("readings")
        let bad = [
            #"{"device":"d9","n":"seven"}"#, "not json", #"{"device":"d9","n":1.5}"#, #"{"n":3}"#, #"{"device":"d8","n":4,"reading":"x"}"#,
        ]
        _ = try await topic.partitions[0].append(
            TableBench.readings(0..<3) + bad.map { ProducerRecord(key: nil, value: Array($0.utf8), timestamp: 5) } + [
                ProducerRecord(key: nil, value: nil, timestamp: 6)
            ])
        let table = TableDefinition(name: "strict", topic: "readings", mode: .upsert, key: ["device"], columns: readingColumns)
        let lines = Locked<[String]>([])
        let sink = TableSink(table, store: SQLiteTableStore(path: bench.tablesPath), report: { line in lines.withLock { $0.append(line) } })
        try await bench.fill(sink, records: 9)
        #expect(try await bench.query("SELECT count(*) FROM strict") == [[.integer(3)]])
        let letters = try bench.deadLetters("strict.dlq")
        #expect(
            letters.map(\.reason) == [
                #"column n (integer) at /n: a string is not an integer"#, "the value is not JSON",
                "column n (integer) at /n: 1.5 is not an integer that fits 64 bits", "the key column device has no value at /device",
                "column reading (real) at /reading: a string is not a number", "the record has no value",
            ])
        #expect(letters.map(\.source) == (3..<9).map { "readings/0/\($0)" })
        #expect(lines.withLock { $0 }.contains { $0.hasPrefix("table strict: 6 record(s) of readings/0 go to strict.dlq: column n (integer)") })
    }

    @Test func rebuildsATableWhoseDeclarationChanged() async throws {
        let bench = try TableBench()
        let topic = try bench.log.createTopic("readings")
        _ = try await topic.partitions[0].append(TableBench.readings(0..<12))
        let store = SQLiteTableStore(path: bench.tablesPath)
        let narrow = TableDefinition(name: "t", topic: "readings", columns: Array(readingColumns.prefix(2)))
        try await bench.fill(TableSink(narrow, store: store, report: { _ in }), records: 12)
        let lines = Locked<[String]>([])
        let wide = TableDefinition(name: "t", topic: "readings", columns: readingColumns)
        try await bench.fill(TableSink(wide, store: store, report: { line in lines.withLock { $0.append(line) } }), records: 12)
        #expect(lines.withLock { $0 } == ["table t: its declaration changed; rebuilding it from topic readings"])
        #expect(try await bench.query("SELECT count(*), sum(reading) FROM t") == [[.integer(12), .real(16.5)]])
    }

    @Test func deletesRowsPastTheTablesRetention() async throws {
        let bench = try TableBench()
        let topic = try bench.log.createTopic("readings")
        let now = wallClockMilliseconds()
        let old = TableBench.readings(0..<5).map { ProducerRecord(key: $0.key, value: $0.value, timestamp: now - 3_600_000) }
        let fresh = TableBench.readings(5..<8).map { ProducerRecord(key: $0.key, value: $0.value, timestamp: now) }
        _ = try await topic.partitions[0].append(old + fresh)
        let table = TableDefinition(name: "recent", topic: "readings", columns: readingColumns, retentionMilliseconds: 60_000)
        let sink = TableSink(table, store: SQLiteTableStore(path: bench.tablesPath), expiryInterval: .milliseconds(20), report: { _ in })
        let storage = EmbeddedStorage(bench.log)
        let task = Task { try await sink.run(storage) }
        try await eventually("old rows are deleted") {
            // Until the sink has created the table, the query fails: wait on.
            (try? await bench.query("SELECT count(*), min(n) FROM recent")) == [[.integer(3), .integer(5)]]
        }
        task.cancel()
        try await task.value
    }
}

@Suite struct RowDecoderTests {
    func row(_ json: String, _ columns: [TableDefinition.Column]) -> Result<[SQLValue], RowDecoder.Problem> {
        RowDecoder.row(
            ConsumerRecord(offset: 0, timestamp: 0, key: nil, value: Array(json.utf8)), for: TableDefinition(name: "t", topic: "x", columns: columns))
    }

    @Test func convertsEachTypeAndKeepsNullsNull() throws {
        let columns: [TableDefinition.Column] = [
            .init(name: "a", pointer: JSONPointer("/a")!, type: .text), .init(name: "b", pointer: JSONPointer("/b/0")!, type: .integer),
            .init(name: "c", pointer: JSONPointer("/c")!, type: .real), .init(name: "d", pointer: JSONPointer("/d")!, type: .json),
            .init(name: "e", pointer: JSONPointer("/e")!, type: .boolean), .init(name: "f", pointer: JSONPointer("/missing")!, type: .real),
            .init(name: "g", pointer: JSONPointer("/g")!, type: .text), .init(name: "h", pointer: JSONPointer("/h")!, type: .integer),
        ]
        let values = try row(#"{"a": "x\u00e9\n", "b": [2e3], "c": -1, "d": {"k": [1, 2] }, "e": true, "g": 12.50, "h": null}"#, columns).get()
        #expect(values == [.text("xé\n"), .integer(2000), .real(-1), .text(#"{"k":[1,2]}"#), .integer(1), .null, .text("12.50"), .null])
    }

    @Test(arguments: [
        (#"{"b": 9223372036854775808}"#, "9223372036854775808 is not an integer that fits 64 bits"),
        (#"{"b": true}"#, "a boolean is not an integer"),
        (#"{"c": "1.5"}"#, "a string is not a number"),
        (#"{"e": 1}"#, "a number is not true or false"),
    ])
    func refusesValuesThatDoNotFit(_ json: String, _ expected: String) {
        let columns: [TableDefinition.Column] = [
            .init(name: "b", pointer: JSONPointer("/b")!, type: .integer), .init(name: "c", pointer: JSONPointer("/c")!, type: .real),
            .init(name: "e", pointer: JSONPointer("/e")!, type: .boolean),
        ]
        guard case .failure(let problem) = row(json, columns) else {
            Issue.record("\(json) became a row")
            return
        }
        #expect(problem.description.hasSuffix(expected), "\(problem)")
    }
}
