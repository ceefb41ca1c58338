/// One value of a result: SQL's types as SQLite stores them.
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// The type's name as results report it.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .integer: return "integer"
        case .real: return "real"
        case .text: return "text"
        case .blob: return "blob"
        }
    }

    /// About how many bytes the value takes in a result (for the size limit).
    var size: Int {
        switch self {
        case .null: return 4
        case .integer, .real: return 8
        case .text(let text): return text.utf8.count
        case .blob(let bytes): return bytes.count
        }
    }
}

/// A column of a result: its name and type (declared by a table, else that of its first value).
public struct QueryColumn: Sendable, Hashable {
    public var name: String
    public var type: String

    public init(name: String, type: String) {
        self.name = name
        self.type = type
    }
}

/// What a query returned, up to the limits it ran under.
public struct QueryResult: Sendable {
    public var columns: [QueryColumn]
    public var rows: [[SQLValue]]
    /// Why rows are missing at the end, when a limit cut the result short.
    public var truncated: String?
    public var elapsed: Duration
    /// Which engine answered ("sqlite", "postgresql").
    public var engine: String
    /// Records read from topics by `records()`: fewer than a topic holds when bounds were pushed down.
    public var recordsRead: Int

    /// How long the query ran, in milliseconds (to the microsecond).
    public var elapsedMilliseconds: Double { (Double(elapsed.nanoseconds) / 1000).rounded() / 1000 }

    public init(columns: [QueryColumn], rows: [[SQLValue]], truncated: String? = nil, elapsed: Duration, engine: String, recordsRead: Int = 0) {
        self.columns = columns
        self.rows = rows
        self.truncated = truncated
        self.elapsed = elapsed
        self.engine = engine
        self.recordsRead = recordsRead
    }
}

/// How far one query may go. A result past `maxRows` or `maxBytes` is cut and marked truncated;
/// a query past `timeout` is stopped with an error.
public struct QueryLimits: Sendable, Equatable {
    public var maxRows: Int
    public var maxBytes: Int
    public var timeout: Duration

    public init(maxRows: Int = 10_000, maxBytes: Int = 16 << 20, timeout: Duration = .seconds(10)) {
        self.maxRows = maxRows
        self.maxBytes = maxBytes
        self.timeout = timeout
    }
}

/// Why a query gave no result, with the place in the SQL when the engine knows it.
public struct QueryError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The SQL does not compile or fails while running.
        case invalid
        /// It would write, attach a file or do something else a read-only query may not.
        case forbidden
        /// It ran past the time limit, or its caller went away.
        case timeout
        /// Too many queries are running; try again shortly.
        case busy
        /// The engine cannot run queries (no database, a broken connection).
        case unavailable
    }

    public var kind: Kind
    public var message: String
    /// 1-based line and column (in characters) of the error in the SQL.
    public var line: Int?
    public var column: Int?
    /// The line of SQL the position is on.
    public var sourceLine: String?

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// Locates a byte offset of `sql` as line and column.
    public init(_ kind: Kind, _ message: String, at offset: Int?, in sql: String) {
        self.init(kind, message)
        guard let offset, offset >= 0 else { return }
        let bytes = Array(sql.utf8)
        let before = bytes.prefix(offset)
        let lineStart = (before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
        line = before.count(where: { $0 == UInt8(ascii: "\n") }) + 1
        column = String(decoding: bytes[lineStart..<min(offset, bytes.count)], as: UTF8.self).count + 1
        let lineEnd = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
        sourceLine = String(decoding: bytes[lineStart..<lineEnd], as: UTF8.self)
    }

    public var description: String {
        guard let line, let column else { return message }
        return "line \(line), column \(column): \(message)"
    }

    /// The description, then the SQL line with a caret under the position (for terminals).
    public var pointed: String {
        guard let column, let sourceLine else { return description }
        return description + "\n  " + sourceLine + "\n  " + String(repeating: " ", count: column - 1) + "^"
    }
}

/// Something that answers read-only SQL: SQLite over the log and the tables, or PostgreSQL.
public protocol QueryEngine: Sendable {
    /// "sqlite" or "postgresql".
    var name: String { get }
    /// Runs one read-only statement. `mayRead` says which topics the caller may read.
    func query(_ sql: String, limits: QueryLimits, mayRead: @escaping @Sendable (String) -> Bool) async throws(QueryError) -> QueryResult
}
