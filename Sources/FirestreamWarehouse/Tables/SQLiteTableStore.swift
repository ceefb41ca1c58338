import Dispatch
import FirestreamLog
import FirestreamStreams
import Foundation
import VaporCSQLite

/// Declared tables in a SQLite file (`warehouse.sqlite` in the data directory), written by one
/// connection on a queue of its own. WAL mode with `synchronous=FULL`: each transaction is on
/// disk (fsync) when `apply` returns, and readers (`firestream sql`, `POST /sql`) read beside
/// the writer.
public final class SQLiteTableStore: TableStore {
    public let path: String
    public var location: String { path }
    private let queue = DispatchQueue(label: "firestream.tables")
    // Used only on `queue`.
    nonisolated(unsafe) private var database: SQLiteDatabase?
    nonisolated(unsafe) private var tables: [String: TableDefinition] = [:]

    /// How long a commit waits for a lock another connection holds before the sink starts again.
    let busyTimeout: Duration

    public init(path: String) {
        self.path = path
        self.busyTimeout = .seconds(5)
    }

    init(path: String, busyTimeout: Duration) {
        self.path = path
        self.busyTimeout = busyTimeout
    }

    /// Runs `body` with the connection on the store's queue (opened on first use).
    private func onQueue<T: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(
                    with: Result {
                        do {
                            let database = try self.database ?? self.open()
                            return try body(database)
                        } catch let error as SQLiteError where error.code & 0xff == SQLITE_BUSY || error.code & 0xff == SQLITE_LOCKED {
                            throw TablesLocked(path: self.path, error: error)
                        }
                    })
            }
        }
    }

    private func open() throws -> SQLiteDatabase {
        // On a Kafka cluster nothing else writes the data directory: the tables may be first.
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let database = try SQLiteDatabase(path: path, readOnly: false, busyTimeout: busyTimeout)
        try database.execute(
            """
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            CREATE TABLE IF NOT EXISTS _firestream_tables (name TEXT PRIMARY KEY, definition TEXT NOT NULL) STRICT;
            CREATE TABLE IF NOT EXISTS _firestream_offsets (
              table_name TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
              PRIMARY KEY (table_name, partition)) STRICT;
            """)
        self.database = database
        return database
    }

    public func prepare(_ table: TableDefinition, report: @escaping @Sendable (String) -> Void) async throws -> [Int: Int64] {
        try await onQueue { database in
            let stored = try database.rows("SELECT definition FROM _firestream_tables WHERE name = ?", [.text(table.name)]).first?.first
            try database.execute("BEGIN IMMEDIATE")
            do {
                if stored != .text(table.fingerprint) {
                    if stored != nil { report("table \(table.name): its declaration changed; rebuilding it from topic \(table.topic)") }
                    try database.execute("DROP TABLE IF EXISTS \(quoted(table.name))")
                    try database.run("DELETE FROM _firestream_offsets WHERE table_name = ?", [.text(table.name)])
                    try database.execute(TableSQL.create(table, dialect: .sqlite))
                    try database.run(
                        "INSERT INTO _firestream_tables (name, definition) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET definition = excluded.definition",
                        [.text(table.name), .text(table.fingerprint)])
                }
                try database.execute("COMMIT")
            } catch {
                try? database.execute("ROLLBACK")
                throw error
            }
            self.tables[table.name] = table
            let offsets = try database.rows("SELECT partition, next_offset FROM _firestream_offsets WHERE table_name = ?", [.text(table.name)])
            var result: [Int: Int64] = [:]
            for row in offsets {
                if case .integer(let partition) = row[0], case .integer(let next) = row[1] { result[Int(partition)] = next }
            }
            return result
        }
    }

    public func apply(_ batch: TableBatch) async throws {
        try await onQueue { database in
            guard let table = self.tables[batch.table] else { preconditionFailure("apply before prepare for table \(batch.table)") }
            try database.execute("BEGIN IMMEDIATE")
            do {
                if !batch.rows.isEmpty {
                    let (insert, _) = try database.prepare(TableSQL.insert(table, dialect: .sqlite))
                    guard let insert else { preconditionFailure("the insert statement compiles to nothing") }
                    for row in batch.rows {
                        insert.reset()
                        var index: Int32 = 1
                        for value in row.values + [.integer(Int64(row.partition)), .integer(row.offset), .integer(row.timestamp)] {
                            try insert.bind(value, at: index)
                            index += 1
                        }
                        _ = try insert.step()
                    }
                }
                try database.run(
                    "INSERT INTO _firestream_offsets (table_name, partition, next_offset) VALUES (?, ?, ?) ON CONFLICT (table_name, partition) DO UPDATE SET next_offset = excluded.next_offset",
                    [.text(batch.table), .integer(Int64(batch.partition)), .integer(batch.next)])
                try database.execute("COMMIT")
            } catch {
                try? database.execute("ROLLBACK")
                throw error
            }
        }
    }

    public func expire(_ table: TableDefinition, before timestamp: Int64) async throws -> Int {
        try await onQueue { database in
            try database.run("DELETE FROM \(quoted(table.name)) WHERE _timestamp < ?", [.integer(timestamp)])
            return Int(sqlite_nio_sqlite3_changes(database.handle))
        }
    }

    /// The connection's journal mode and synchronous level, as SQLite reports them.
    func durabilitySettings() async throws -> [SQLValue] {
        try await onQueue { database in
            try database.rows("PRAGMA journal_mode", []).flatMap { $0 } + database.rows("PRAGMA synchronous", []).flatMap { $0 }
        }
    }

    /// Closes the connection (after the writers stopped).
    public func close() async {
        queue.sync {
            database?.close()
            database = nil
        }
    }
}

/// Another process held the tables' database longer than the busy timeout (a long write through
/// the sqlite3 CLI, say). The transaction was rolled back, so the table sink starts again from
/// its stored offsets after a pause rather than stopping `up`.
struct TablesLocked: RestartableFailure {
    let path: String
    let error: SQLiteError
    var description: String { "\(path) stayed locked by another connection: \(error.message)" }
}

extension SQLiteDatabase {
    /// Runs one statement with parameters, ignoring any rows.
    func run(_ sql: String, _ parameters: [SQLValue]) throws(SQLiteError) {
        _ = try rows(sql, parameters)
    }

    /// One statement's rows.
    func rows(_ sql: String, _ parameters: [SQLValue]) throws(SQLiteError) -> [[SQLValue]] {
        guard let statement = try prepare(sql).statement else { return [] }
        for (index, value) in parameters.enumerated() { try statement.bind(value, at: Int32(index + 1)) }
        let count = Int32(statement.columnNames.count)
        var rows: [[SQLValue]] = []
        while try statement.step() { rows.append((0..<count).map { statement.value($0) }) }
        return rows
    }
}
