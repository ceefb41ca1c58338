import FirestreamLog
import VaporCSQLite

/// One connection to the SQLite that sqlite-nio compiles in (3.54, no system library), used by
/// one thread at a time: the query engine's and the table writers' own threads, never the
/// cooperative pool.
///
/// `@unchecked Sendable` because the handle moves between the thread that opens it and the
/// one that uses it; only ``interrupt()`` may be called from elsewhere, under ``guardLock``.
final class SQLiteDatabase: @unchecked Sendable {
    private(set) var handle: OpaquePointer?
    /// Held while the handle is closed or interrupted, so an interrupt never meets a freed handle.
    private let guardLock = Locked(())

    /// Opens `path` (`:memory:` for a private in-memory database). A lock held by another
    /// connection (a writer's commit, the recovery of a WAL left by a killed process) is waited
    /// for up to `busyTimeout` before SQLite answers "database is locked".
    init(path: String, readOnly: Bool, busyTimeout: Duration = .seconds(5)) throws(SQLiteError) {
        let flags =
            (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        var opened: OpaquePointer?
        let code = sqlite_nio_sqlite3_open_v2(path, &opened, flags, nil)
        handle = opened
        guard code == SQLITE_OK else {
            let message = opened.map { String(cString: sqlite_nio_sqlite3_errmsg($0)) } ?? "out of memory"
            close()
            throw SQLiteError(message: "cannot open \(path): \(message)", code: code)
        }
        let milliseconds = busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds / 1_000_000_000_000_000
        sqlite_nio_sqlite3_busy_timeout(handle, Int32(clamping: milliseconds))
    }

    deinit { close() }

    func close() {
        guardLock.withLock { _ in
            if let handle { sqlite_nio_sqlite3_close_v2(handle) }
            handle = nil
        }
    }

    /// Stops the statement running on this connection as soon as it can (thread-safe).
    func interrupt() {
        guardLock.withLock { _ in
            if let handle { sqlite_nio_sqlite3_interrupt(handle) }
        }
    }

    /// Runs SQL without results (several statements may be given).
    func execute(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite_nio_sqlite3_exec(handle, sql, nil, nil, &message)
        guard code == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? lastMessage
            sqlite_nio_sqlite3_free(message)
            throw SQLiteError(message: text, code: code)
        }
    }

    /// Compiles the first statement of `sql` (nil when it holds only blanks and comments); `tail`
    /// is the text after it.
    func prepare(_ sql: String) throws(SQLiteError) -> (statement: SQLiteStatement?, tail: String) {
        var statement: OpaquePointer?
        var tail = ""
        let code = sql.withCString { text -> Int32 in
            var rest: UnsafePointer<CChar>?
            let code = sqlite_nio_sqlite3_prepare_v2(handle, text, -1, &statement, &rest)
            if let rest { tail = String(cString: rest) }
            return code
        }
        guard code == SQLITE_OK else {
            let offset = Int(sqlite_nio_sqlite3_error_offset(handle))
            throw SQLiteError(message: lastMessage, code: code, offset: offset >= 0 ? offset : nil)
        }
        return (statement.map { SQLiteStatement($0, database: self) }, tail)
    }

    var lastMessage: String { handle.map { String(cString: sqlite_nio_sqlite3_errmsg($0)) } ?? "closed" }

    /// Sets one of SQLite's run-time limits (`SQLITE_LIMIT_*`).
    func limit(_ which: Int32, to value: Int32) { sqlite_nio_sqlite3_limit(handle, which, value) }
}

/// A compiled statement; finalized when released.
final class SQLiteStatement {
    let handle: OpaquePointer
    let database: SQLiteDatabase

    init(_ handle: OpaquePointer, database: SQLiteDatabase) {
        self.handle = handle
        self.database = database
    }

    deinit { sqlite_nio_sqlite3_finalize(handle) }

    /// True when the statement changes nothing (SQLite's own judgement).
    var isReadOnly: Bool { sqlite_nio_sqlite3_stmt_readonly(handle) != 0 }

    var columnNames: [String] {
        (0..<sqlite_nio_sqlite3_column_count(handle)).map { index in
            sqlite_nio_sqlite3_column_name(handle, index).map { String(cString: $0) } ?? "column\(index + 1)"
        }
    }

    /// The declared type of a result column that comes straight from a table, else nil.
    func declaredType(_ column: Int32) -> String? {
        sqlite_nio_sqlite3_column_decltype(handle, column).map { String(cString: $0) }
    }

    /// Advances to the next row: true for a row, false at the end.
    func step() throws(SQLiteError) -> Bool {
        switch sqlite_nio_sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw SQLiteError(message: database.lastMessage, code: code)
        }
    }

    func value(_ column: Int32) -> SQLValue {
        switch sqlite_nio_sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER: return .integer(sqlite_nio_sqlite3_column_int64(handle, column))
        case SQLITE_FLOAT: return .real(sqlite_nio_sqlite3_column_double(handle, column))
        case SQLITE_TEXT:
            let count = Int(sqlite_nio_sqlite3_column_bytes(handle, column))
            guard let text = sqlite_nio_sqlite3_column_text(handle, column) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite_nio_sqlite3_column_bytes(handle, column))
            guard let blob = sqlite_nio_sqlite3_column_blob(handle, column), count > 0 else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: blob, count: count)))
        default: return .null
        }
    }

    func bind(_ value: SQLValue, at index: Int32) throws(SQLiteError) {
        let code: Int32
        switch value {
        case .null: code = sqlite_nio_sqlite3_bind_null(handle, index)
        case .integer(let number): code = sqlite_nio_sqlite3_bind_int64(handle, index, number)
        case .real(let number): code = sqlite_nio_sqlite3_bind_double(handle, index, number)
        case .text(let text): code = sqlite_nio_sqlite3_bind_text(handle, index, text, -1, sqliteTransient)
        case .blob(let bytes):
            code = bytes.withUnsafeBytes { sqlite_nio_sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), sqliteTransient) }
        }
        guard code == SQLITE_OK else { throw SQLiteError(message: database.lastMessage, code: code) }
    }

    func reset() {
        sqlite_nio_sqlite3_reset(handle)
        sqlite_nio_sqlite3_clear_bindings(handle)
    }
}

/// SQLite's `SQLITE_TRANSIENT`: it copies the bytes before the call returns.
let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A failure SQLite reported, with the byte offset in the SQL where it knows one.
struct SQLiteError: Error, CustomStringConvertible {
    var message: String
    var code: Int32
    var offset: Int?

    init(message: String, code: Int32, offset: Int? = nil) {
        self.message = message
        self.code = code
        self.offset = offset
    }

    var isInterrupt: Bool { code & 0xff == SQLITE_INTERRUPT }
    var description: String { message }
}
