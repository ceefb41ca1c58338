import Dispatch
public import FirestreamLog
import Foundation
import VaporCSQLite

/// Read-only SQL on the SQLite compiled into Firestream: `records('topic')` reads a topic from the
/// log, and the declared tables' database (when there is one) is the main schema, opened read-only.
///
/// Each query gets its own connection on its own thread (never the cooperative pool), behind the
/// ``ReadOnlyGuard``, with SQLite's size limits lowered; a watchdog interrupts it at the time limit
/// or when the caller's task is cancelled. At most `maxConcurrent` run at once; more are refused
/// as busy rather than queued.
public final class SQLiteQueryEngine: QueryEngine {
    public let name = "sqlite"
    let log: Log
    let tablesPath: String?
    private let maxConcurrent: Int
    private let running = Locked(0)
    /// Queries running now.
    var runningCount: Int { running.withLock { $0 } }

    /// `tablesPath`: the declared tables' SQLite file, read when it exists.
    public init(log: Log, tablesPath: String? = nil, maxConcurrent: Int = 4) {
        self.log = log
        self.tablesPath = tablesPath
        self.maxConcurrent = maxConcurrent
    }

    public func query(_ sql: String, limits: QueryLimits, mayRead: @escaping @Sendable (String) -> Bool) async throws(QueryError)
        -> QueryResult
    {
        let admitted = running.withLock { count in
            guard count < maxConcurrent else { return false }
            count += 1
            return true
        }
        guard admitted else { throw QueryError(.busy, "\(maxConcurrent) queries are running already; try again when one ends") }
        defer { running.withLock { $0 -= 1 } }
        let run = QueryRun(sql: sql, limits: limits, catalog: RecordsCatalog(log: log, mayRead: mayRead), tablesPath: tablesPath)
        let watchdog = DispatchWorkItem { run.stop("the query ran past its time limit of \(limits.timeout)") }
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(min(limits.timeout, .seconds(86_400)).nanoseconds)), execute: watchdog)
        defer { watchdog.cancel() }
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<QueryResult, QueryError>, Never>) in
                let thread = Thread { continuation.resume(returning: run.execute()) }
                // SQLite recurses on deeply nested expressions; its limits are sized for this stack.
                thread.stackSize = 8 << 20
                thread.start()
            }
        } onCancel: {
            run.stop("the query was cancelled")
        }
        return try outcome.get()
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}

/// One query from connection to result, on the thread that runs it.
final class QueryRun: @unchecked Sendable {
    // Set on the query's thread; read by `stop` from the watchdog or a cancelling task, under `state`.
    private let state = Locked<(database: SQLiteDatabase?, stopped: String?)>((nil, nil))
    let sql: String
    let limits: QueryLimits
    let catalog: RecordsCatalog
    let tablesPath: String?

    init(sql: String, limits: QueryLimits, catalog: RecordsCatalog, tablesPath: String?) {
        self.sql = sql
        self.limits = limits
        self.catalog = catalog
        self.tablesPath = tablesPath
    }

    /// Interrupts the query (or keeps it from starting), with `reason` as its error.
    func stop(_ reason: String) {
        state.withLock { state in
            if state.stopped == nil { state.stopped = reason }
            state.database?.interrupt()
        }
    }

    func execute() -> Result<QueryResult, QueryError> {
        let started = ContinuousClock.now
        let database: SQLiteDatabase
        do {
            database = try open()
        } catch {
            return .failure(QueryError(.unavailable, error.message))
        }
        defer {
            state.withLock { $0.database = nil }
            database.close()
        }
        let guardian = ReadOnlyGuard()
        guardian.install(on: database)
        if let stopped = state.withLock({ state -> String? in
            state.database = database
            return state.stopped
        }) {
            return .failure(QueryError(.timeout, stopped))
        }
        do {
            var result = try collect(from: database)
            result.elapsed = ContinuousClock.now - started
            result.recordsRead = catalog.recordsRead.withLock { $0 }
            return .success(result)
        } catch {
            if let reason = state.withLock({ $0.stopped }), error.isInterrupt { return .failure(QueryError(.timeout, reason)) }
            if let refused = guardian.refused { return .failure(QueryError(.forbidden, refused, at: error.offset, in: sql)) }
            if error.code & 0xff == SQLITE_AUTH { return .failure(QueryError(.forbidden, error.message, at: error.offset, in: sql)) }
            if error.code & 0xff == SQLITE_BUSY { return .failure(QueryError(.busy, "the tables' database stayed locked: \(error.message)")) }
            return .failure(QueryError(.invalid, error.message, at: error.offset, in: sql))
        }
    }

    private func open() throws(SQLiteError) -> SQLiteDatabase {
        let path = tablesPath.flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
        let database = try SQLiteDatabase(path: path ?? ":memory:", readOnly: path != nil)
        try RecordsTable.register(on: database, catalog: catalog)
        database.limit(SQLITE_LIMIT_LENGTH, to: 64 << 20)
        database.limit(SQLITE_LIMIT_SQL_LENGTH, to: 1 << 20)
        database.limit(SQLITE_LIMIT_ATTACHED, to: 0)
        database.limit(SQLITE_LIMIT_EXPR_DEPTH, to: 200)
        database.limit(SQLITE_LIMIT_COMPOUND_SELECT, to: 64)
        database.limit(SQLITE_LIMIT_LIKE_PATTERN_LENGTH, to: 1000)
        return database
    }

    /// Compiles the one statement, checks it reads only, and steps it up to the limits.
    private func collect(from database: SQLiteDatabase) throws(SQLiteError) -> QueryResult {
        let (compiled, tail) = try database.prepare(sql)
        guard let statement = compiled else { throw SQLiteError(message: "no SQL statement given", code: SQLITE_ERROR) }
        if try database.prepare(tail).statement != nil {
            let blanks = tail.utf8.count - tail.drop(while: \.isWhitespace).utf8.count
            let offset = sql.utf8.count - tail.utf8.count + blanks
            throw SQLiteError(message: "one statement at a time: this is a second one", code: SQLITE_ERROR, offset: offset)
        }
        guard statement.isReadOnly else {
            throw SQLiteError(message: "this statement is not allowed: SQL here is read-only (SELECT, WITH … SELECT, VALUES)", code: SQLITE_AUTH)
        }
        let names = statement.columnNames
        var rows: [[SQLValue]] = []
        var bytes = 0
        var truncated: String?
        while try statement.step() {
            if rows.count == limits.maxRows {
                truncated = "more than \(limits.maxRows) rows (the row limit)"
                break
            }
            let row = (0..<Int32(names.count)).map { statement.value($0) }
            bytes += row.reduce(0) { $0 + $1.size }
            if bytes > limits.maxBytes {
                truncated = "more than \(limits.maxBytes) bytes (the size limit)"
                break
            }
            rows.append(row)
        }
        let columns = names.indices.map { index in
            let declared = statement.declaredType(Int32(index))?.lowercased()
            let seen = rows.lazy.map { $0[index] }.first { $0 != .null }?.typeName
            return QueryColumn(name: names[index], type: declared ?? seen ?? "null")
        }
        return QueryResult(columns: columns, rows: rows, truncated: truncated, elapsed: .zero, engine: "sqlite")
    }
}
