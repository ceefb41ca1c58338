import FirestreamLog
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Declared tables in PostgreSQL, the managed one or any other (`warehouse.host`): rows go in
/// with COPY, and the partition's next offset is written in the same transaction. One
/// connection, used by one operation at a time: the actor is reentrant at every `await`, so
/// operations queue for ``exclusive(_:)`` rather than interleave their transactions.
public actor PostgresTableStore: TableStore {
    public nonisolated let location: String
    let configuration: PostgresConnection.Configuration
    private var connection: PostgresConnection?
    private var tables: [String: TableDefinition] = [:]
    private let logger = Logger(label: "firestream.tables.postgres") { _ in SwiftLogNoOpLogHandler() }
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// Runs `body` when no other operation runs, in arrival order.
    private func exclusive<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            busy = true
        }
        defer {
            if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
        }
        do {
            return try await body()
        } catch let error as PSQLError {
            // PSQLError's own description hides the server's words; a failed write must say them.
            let server = error.serverInfo
            let message = server?[.message].map { "\($0) (SQLSTATE \(server?[.sqlState] ?? "?"))" } ?? String(reflecting: error)
            throw WarehouseError("\(location): \(message)")
        }
    }

    public init(host: String, port: Int, user: String, password: String, database: String) {
        location = "PostgreSQL at \(host):\(port)/\(database)"
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: .disable)
        configuration.options.connectTimeout = .seconds(10)
        self.configuration = configuration
    }

    /// The connection, opened (again) when there is none; a server still starting is waited for.
    private func connected() async throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            do {
                let opened = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
                connection = opened
                return opened
            } catch {
                if ContinuousClock.now > deadline { throw WarehouseError("cannot connect to \(location): \(String(reflecting: error))") }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    private func run(_ sql: String) async throws {
        try await connected().query(PostgresQuery(unsafeSQL: sql), logger: logger)
    }

    /// Runs `body` inside BEGIN … COMMIT, rolling back when it throws.
    private func transaction(_ body: (PostgresConnection) async throws -> Void) async throws {
        let connection = try await connected()
        try await connection.query("BEGIN", logger: logger)
        do {
            try await body(connection)
            try await connection.query("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    public func prepare(_ table: TableDefinition, report: @escaping @Sendable (String) -> Void) async throws -> [Int: Int64] {
        try await exclusive { try await prepareAlone(table, report: report) }
    }

    private func prepareAlone(_ table: TableDefinition, report: @escaping @Sendable (String) -> Void) async throws -> [Int: Int64] {
        try await run("CREATE TABLE IF NOT EXISTS _firestream_tables (name TEXT PRIMARY KEY, definition TEXT NOT NULL)")
        try await run(
            "CREATE TABLE IF NOT EXISTS _firestream_offsets (table_name TEXT NOT NULL, partition INTEGER NOT NULL, next_offset BIGINT NOT NULL, PRIMARY KEY (table_name, partition))"
        )
        let connection = try await connected()
        var stored: String?
        for try await definition in try await connection.query("SELECT definition FROM _firestream_tables WHERE name = \(table.name)", logger: logger)
            .decode(String.self)
        {
            stored = definition
        }
        if stored != table.fingerprint {
            if stored != nil { report("table \(table.name): its declaration changed; rebuilding it from topic \(table.topic)") }
            try await transaction { connection in
                try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(quoted(table.name))"), logger: logger)
                try await connection.query("DELETE FROM _firestream_offsets WHERE table_name = \(table.name)", logger: logger)
                for statement in TableSQL.create(table, dialect: .postgresql).split(separator: ";\n") where !statement.isEmpty {
                    try await connection.query(PostgresQuery(unsafeSQL: String(statement)), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO _firestream_tables (name, definition) VALUES (\(table.name), \(table.fingerprint)) ON CONFLICT (name) DO UPDATE SET definition = excluded.definition",
                    logger: logger)
            }
        }
        tables[table.name] = table
        var offsets: [Int: Int64] = [:]
        for try await (partition, next) in try await connection.query(
            "SELECT partition, next_offset FROM _firestream_offsets WHERE table_name = \(table.name)", logger: logger
        ).decode((Int32, Int64).self) {
            offsets[Int(partition)] = next
        }
        return offsets
    }

    public func apply(_ batch: TableBatch) async throws {
        try await exclusive { try await applyAlone(batch) }
    }

    private func applyAlone(_ batch: TableBatch) async throws {
        guard let table = tables[batch.table] else { preconditionFailure("apply before prepare for table \(batch.table)") }
        let columns = table.columns.map { quoted($0.name) } + TableDefinition.metadataColumns
        try await transaction { connection in
            if !batch.rows.isEmpty {
                // An upsert table's rows go through a temporary table: COPY cannot update, and one
                // INSERT may not touch a row twice, so only each key's last record is kept.
                let target = table.mode == .upsert ? quoted("_stage_" + table.name) : quoted(table.name)
                if table.mode == .upsert {
                    try await connection.query(
                        PostgresQuery(unsafeSQL: "CREATE TEMP TABLE IF NOT EXISTS \(target) (LIKE \(quoted(table.name))) ON COMMIT DELETE ROWS"),
                        logger: logger)
                }
                // copyFrom quotes the names itself (they are checked identifiers, no quotes inside).
                let names = table.columns.map(\.name) + TableDefinition.metadataColumns
                let copyTarget = table.mode == .upsert ? "_stage_" + table.name : table.name
                let types = table.columns.map(\.type)
                try await connection.copyFrom(table: copyTarget, columns: names, logger: logger) { writer in
                    var buffer = ByteBuffer()
                    for row in batch.rows {
                        CopyText.append(row, types: types, to: &buffer)
                        if buffer.readableBytes > 1 << 20 {
                            try await writer.write(buffer)
                            buffer.clear()
                        }
                    }
                    if buffer.readableBytes > 0 { try await writer.write(buffer) }
                }
                if table.mode == .upsert {
                    let key = table.key.map(quoted).joined(separator: ", ")
                    let updates = columns.filter { !table.key.map(quoted).contains($0) }.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
                    try await connection.query(
                        PostgresQuery(
                            unsafeSQL: """
                                INSERT INTO \(quoted(table.name)) (\(columns.joined(separator: ", ")))
                                SELECT DISTINCT ON (\(key)) \(columns.joined(separator: ", ")) FROM \(target) ORDER BY \(key), _partition, _offset DESC
                                ON CONFLICT (\(key)) DO UPDATE SET \(updates)
                                """), logger: logger)
                }
            }
            try await connection.query(
                "INSERT INTO _firestream_offsets (table_name, partition, next_offset) VALUES (\(batch.table), \(Int32(batch.partition)), \(batch.next)) ON CONFLICT (table_name, partition) DO UPDATE SET next_offset = excluded.next_offset",
                logger: logger)
        }
    }

    public func expire(_ table: TableDefinition, before timestamp: Int64) async throws -> Int {
        try await exclusive { try await expireAlone(table, before: timestamp) }
    }

    private func expireAlone(_ table: TableDefinition, before timestamp: Int64) async throws -> Int {
        let connection = try await connected()
        var removed = 0
        for try await count in try await connection.query(
            PostgresQuery(
                unsafeSQL: "WITH gone AS (DELETE FROM \(quoted(table.name)) WHERE _timestamp < \(timestamp) RETURNING 1) SELECT count(*) FROM gone"),
            logger: logger
        ).decode(Int64.self) {
            removed = Int(count)
        }
        return removed
    }

    /// Closes the connection.
    public func close() async {
        _ = try? await exclusive {
            try? await connection?.close()
            connection = nil
        }
    }
}

/// Rows in COPY's text format: tab-separated, `\N` for NULL, backslash escapes.
enum CopyText {
    static func append(_ row: TableBatch.Row, types: [TableDefinition.ColumnType], to buffer: inout ByteBuffer) {
        for (index, value) in row.values.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
            field(value, type: index < types.count ? types[index] : .text, to: &buffer)
        }
        buffer.writeString("\t\(row.partition)\t\(row.offset)\t\(row.timestamp)\n")
    }

    static func field(_ value: SQLValue, type: TableDefinition.ColumnType, to buffer: inout ByteBuffer) {
        switch value {
        case .null: buffer.writeString("\\N")
        case .integer(let number) where type == .boolean: buffer.writeString(number == 0 ? "f" : "t")
        case .integer(let number): buffer.writeString(String(number))
        case .real(let number): buffer.writeString(number.isFinite ? String(number) : "\\N")
        case .text(let text): escaped(Array(text.utf8), to: &buffer)
        case .blob(let bytes): escaped(bytes, to: &buffer)
        }
    }

    private static func escaped(_ bytes: [UInt8], to buffer: inout ByteBuffer) {
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"): buffer.writeString("\\\\")
            case UInt8(ascii: "\t"): buffer.writeString("\\t")
            case UInt8(ascii: "\n"): buffer.writeString("\\n")
            case UInt8(ascii: "\r"): buffer.writeString("\\r")
            case 0: continue  // PostgreSQL text cannot hold NUL
            default: buffer.writeInteger(byte)
            }
        }
    }
}
