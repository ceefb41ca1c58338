import FirestreamJSON
import FirestreamLog
import FirestreamStreams
import FirestreamWarehouse
import Foundation
import KafkaWire
import Synchronization

/// `firestream-bench tables`: maintaining declared tables from 1,000,000 Wiener records, exactly
/// once (rows and offsets in one transaction per batch), in SQLite and in PostgreSQL, beside the
/// physical reference on the same rows in the same run: one big transaction of INSERTs through
/// the sqlite3 CLI, and COPY through psql.
enum TableBenchmark {
    static let columns = [
        TableDefinition.Column(name: "device_id", pointer: JSONPointer("/device_id")!, type: .text),
        TableDefinition.Column(name: "event_time", pointer: JSONPointer("/event_time")!, type: .integer),
        TableDefinition.Column(name: "measurement", pointer: JSONPointer("/measurement")!, type: .real),
        TableDefinition.Column(name: "increment", pointer: JSONPointer("/increment")!, type: .real),
    ]

    static func run(records: Int, in base: String) async throws {
        let path = Benchmarks.scratch(base)
        defer { try? FileManager.default.removeItem(atPath: path) }
        chmod(path, 0o755)  // PostgreSQL, run as the postgres user when this runs as root, must reach it
        let outputs = try SQLBenchmark.wienerOutputs(records)
        print("\n== tables: \(outputs.count) Wiener records into declared tables, exactly once")
        let log = try Log(directory: path + "/log")
        defer { log.close() }
        let topic = try log.createTopic("wiener")
        for start in stride(from: 0, to: outputs.count, by: 5000) {
            _ = try await topic.partitions[0].append(Array(outputs[start..<min(start + 5000, outputs.count)]))
        }
        let storage = EmbeddedStorage(log)
        let rows = try outputs.enumerated().map { offset, record in
            try RowDecoder.row(
                ConsumerRecord(offset: Int64(offset), timestamp: record.timestamp, key: record.key, value: record.value),
                for: TableDefinition(name: "r", topic: "wiener", columns: columns)
            ).get()
        }

        let sqlite = SQLiteTableStore(path: path + "/warehouse.sqlite")
        let (sqliteAppend, sqliteUpsert) = try await fillBoth(columns: columns, store: sqlite, storage: storage, count: outputs.count)
        let sqliteReference = try sqliteCLI(rows, in: path)
        report(
            "SQLite", append: sqliteAppend, upsert: sqliteUpsert, reference: sqliteReference, what: "sqlite3 CLI, one transaction of INSERTs",
            count: outputs.count)

        let server = try ManagedPostgres(dataDirectory: path, port: 54_329)
        let credentials = try await server.start { _ in }
        defer { server.stop() }
        let postgres = PostgresTableStore(
            host: credentials.host, port: credentials.port, user: credentials.user, password: credentials.password, database: credentials.database)
        let (postgresAppend, postgresUpsert) = try await fillBoth(columns: columns, store: postgres, storage: storage, count: outputs.count)
        let postgresReference = try psqlCopy(rows, credentials: credentials, binaries: server.binaries, in: path)
        report(
            "PostgreSQL", append: postgresAppend, upsert: postgresUpsert, reference: postgresReference, what: "COPY through psql",
            count: outputs.count)
    }

    /// Seconds to fill an append table (`points`) and an upsert table by device (`latest`) from
    /// the topic, one after the other; the store is closed afterwards.
    private static func fillBoth(
        columns: [TableDefinition.Column], store: any TableStore, storage: EmbeddedStorage, count: Int
    ) async throws -> (append: Double, upsert: Double) {
        let append = try await fill(TableDefinition(name: "points", topic: "wiener", columns: columns), store: store, storage: storage, count: count)
        let upsert = try await fill(
            TableDefinition(name: "latest", topic: "wiener", mode: .upsert, key: ["device_id"], columns: columns), store: store, storage: storage,
            count: count)
        await store.close()
        return (append, upsert)
    }

    /// Seconds until a sink has written every record of the topic.
    static func fill(_ table: TableDefinition, store: any TableStore, storage: EmbeddedStorage, count: Int) async throws -> Double {
        let sink = TableSink(table, store: store, report: { print("  \($0)") })
        let started = ContinuousClock.now
        let task = Task { try await sink.run(storage) }
        while sink.counters.outputs.load(ordering: .relaxed) < count { try await Task.sleep(for: .milliseconds(2)) }
        let elapsed = Benchmarks.seconds(ContinuousClock.now - started)
        task.cancel()
        try await task.value
        return elapsed
    }

    static func report(_ engine: String, append: Double, upsert: Double, reference: Double, what: String, count: Int) {
        let rate = { (seconds: Double) in Double(count) / seconds }
        print(
            String(
                format:
                    "  %@: append %.3f s = %.0f rows/s; upsert (5 keys) %.3f s = %.0f records/s; reference (%@) %.3f s = %.0f rows/s; append / reference = %.2f×",
                engine, append, rate(append), upsert, rate(upsert), what, reference, rate(reference), append / reference))
    }

    /// The rows as one transaction of INSERTs into an identical table, through the sqlite3 CLI.
    static func sqliteCLI(_ rows: [[SQLValue]], in path: String) throws -> Double {
        var script = """
            PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
            CREATE TABLE points (device_id TEXT, event_time INTEGER, measurement REAL, increment REAL, _partition INTEGER NOT NULL,
              _offset INTEGER NOT NULL, _timestamp INTEGER NOT NULL, PRIMARY KEY (_partition, _offset)) STRICT;
            BEGIN;

            """
        for (offset, row) in rows.enumerated() {
            script += "INSERT INTO points VALUES (\(row.map(literal).joined(separator: ", ")), 0, \(offset), 0);\n"
        }
        script += "COMMIT;\n"
        let file = path + "/reference.sql"
        try script.write(toFile: file, atomically: false, encoding: .utf8)
        return try timed("/usr/bin/sqlite3", [path + "/reference.sqlite", ".read \(file)"])
    }

    /// The rows as tab-separated text, copied into an identical table by psql.
    static func psqlCopy(_ rows: [[SQLValue]], credentials: ManagedPostgres.Credentials, binaries: String, in path: String) throws -> Double {
        var text = ""
        for (offset, row) in rows.enumerated() { text += row.map(tsv).joined(separator: "\t") + "\t0\t\(offset)\t0\n" }
        let file = path + "/reference.tsv"
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        let url = credentials.ownerURL
        _ = try timed(
            binaries + "/psql",
            [
                url, "-X", "-q", "-c",
                "CREATE TABLE points_reference (device_id TEXT, event_time BIGINT, measurement DOUBLE PRECISION, increment DOUBLE PRECISION, _partition BIGINT NOT NULL, _offset BIGINT NOT NULL, _timestamp BIGINT NOT NULL, PRIMARY KEY (_partition, _offset))",
            ])
        return try timed(binaries + "/psql", [url, "-X", "-q", "-c", "\\copy points_reference FROM '\(file)'"])
    }

    private static func literal(_ value: SQLValue) -> String {
        switch value {
        case .null: return "NULL"
        case .integer(let number): return String(number)
        case .real(let number): return String(number)
        case .text(let text): return "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
        case .blob: return "NULL"
        }
    }

    private static func tsv(_ value: SQLValue) -> String {
        switch value {
        case .null, .blob: return "\\N"
        case .integer(let number): return String(number)
        case .real(let number): return String(number)
        case .text(let text): return text
        }
    }

    private static func timed(_ executable: String, _ arguments: [String]) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let started = ContinuousClock.now
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { Benchmarks.fail("\(executable) \(arguments.prefix(2)) failed") }
        return Benchmarks.seconds(ContinuousClock.now - started)
    }
}
