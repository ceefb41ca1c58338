import FirestreamLog
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Read-only SQL on PostgreSQL (`firestream sql` and `POST /sql` when the warehouse is
/// PostgreSQL): each query on its own connection as the read-only user, with the time limit as
/// `statement_timeout`. `records()` is SQLite's: here only the tables exist.
public final class PostgresQueryEngine: QueryEngine {
    public let name = "postgresql"
    let configuration: PostgresConnection.Configuration
    private let running = Locked(0)
    private let maxConcurrent: Int
    private let logger = Logger(label: "firestream.sql.postgres") { _ in SwiftLogNoOpLogHandler() }

    public init(host: String, port: Int, user: String, password: String, database: String, maxConcurrent: Int = 4) {
        configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: .disable)
        self.maxConcurrent = maxConcurrent
    }

    public func query(_ sql: String, limits: QueryLimits, mayRead: @escaping @Sendable (String) -> Bool) async throws(QueryError) -> QueryResult {
        let admitted = running.withLock { count in
            guard count < maxConcurrent else { return false }
            count += 1
            return true
        }
        guard admitted else { throw QueryError(.busy, "\(maxConcurrent) queries are running already; try again when one ends") }
        defer { running.withLock { $0 -= 1 } }
        let started = ContinuousClock.now
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: 2, logger: logger)
        } catch {
            throw QueryError(.unavailable, "cannot connect to PostgreSQL: \(String(reflecting: error))")
        }
        defer { Task { try? await connection.close() } }
        do {
            let milliseconds = max(1, limits.timeout.components.seconds * 1000 + limits.timeout.components.attoseconds / 1_000_000_000_000_000)
            try await connection.query(PostgresQuery(unsafeSQL: "SET statement_timeout = \(milliseconds)"), logger: logger)
            var result = try await collect(connection.query(PostgresQuery(unsafeSQL: sql), logger: logger), limits: limits)
            result.elapsed = ContinuousClock.now - started
            return result
        } catch let error as PSQLError {
            throw Self.failure(error, sql: sql)
        } catch {
            throw QueryError(.invalid, String(describing: error))
        }
    }

    private func collect(_ sequence: PostgresRowSequence, limits: QueryLimits) async throws -> QueryResult {
        let columns = sequence.columns.map { QueryColumn(name: $0.name, type: Self.typeName($0.dataType)) }
        var rows: [[SQLValue]] = []
        var bytes = 0
        var truncated: String?
        for try await row in sequence {
            if rows.count == limits.maxRows {
                truncated = "more than \(limits.maxRows) rows (the row limit)"
                break
            }
            let values = row.map(Self.value)
            bytes += values.reduce(0) { $0 + $1.size }
            if bytes > limits.maxBytes {
                truncated = "more than \(limits.maxBytes) bytes (the size limit)"
                break
            }
            rows.append(values)
        }
        return QueryResult(columns: columns, rows: rows, truncated: truncated, elapsed: .zero, engine: "postgresql")
    }

    static func typeName(_ type: PostgresDataType) -> String {
        switch type {
        case .int2, .int4, .int8: return "integer"
        case .float4, .float8: return "real"
        case .bool: return "boolean"
        case .json, .jsonb: return "json"
        case .numeric: return "numeric"
        case .timestamp, .timestamptz: return "timestamp"
        case .bytea: return "blob"
        default: return "text"
        }
    }

    static func value(_ cell: PostgresCell) -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return (try? cell.decode(Int64.self)).map(SQLValue.integer) ?? .null
        case .float4, .float8: return (try? cell.decode(Double.self)).map(SQLValue.real) ?? .null
        case .bool: return (try? cell.decode(Bool.self)).map { .integer($0 ? 1 : 0) } ?? .null
        case .timestamp, .timestamptz:
            return (try? cell.decode(Date.self)).map { .text(ISO8601DateFormatter().string(from: $0)) } ?? .null
        case .bytea: return cell.bytes.map { .blob(Array($0.readableBytesView)) } ?? .null
        default:
            if let text = try? cell.decode(String.self) { return .text(text) }
            return cell.bytes.map { .text(String(decoding: $0.readableBytesView, as: UTF8.self)) } ?? .null
        }
    }

    /// PostgreSQL's error, at its position (a 1-based character index in the SQL).
    static func failure(_ error: PSQLError, sql: String) -> QueryError {
        let message = error.serverInfo?[.message] ?? String(describing: error.code)
        let state = error.serverInfo?[.sqlState] ?? ""
        let kind: QueryError.Kind
        switch state {
        case "57014": return QueryError(.timeout, "the query ran past its time limit (statement_timeout)")
        case "25006", "42501": kind = .forbidden
        default: kind = .invalid
        }
        guard let position = error.serverInfo?[.position].flatMap(Int.init), position >= 1 else { return QueryError(kind, message) }
        let offset = sql.prefix(position - 1).utf8.count
        return QueryError(kind, message, at: offset, in: sql)
    }
}
