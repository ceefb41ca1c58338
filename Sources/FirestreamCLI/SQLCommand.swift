import ArgumentParser
import FirestreamConfig
import FirestreamFormats
import FirestreamLog
import FirestreamWarehouse
import Foundation

/// `firestream sql`: read-only SQL over the project's topics and tables, printed as a table on a
/// terminal or as CSV, JSON or NDJSON for programs.
struct SQLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "Run read-only SQL over the project's topics and declared tables.",
        discussion: """
            A topic is a table through records('topic'), with the columns partition, offset, \
            timestamp (milliseconds since the epoch), key and value (text when they are UTF-8, else \
            blobs) and headers (a JSON object). SQLite's JSON operators read values: \
            value->>'$.device_id'. Conditions on partition and offset, and a lower bound on \
            timestamp, limit what is read from the log.

            Examples:
              firestream sql "SELECT value->>'$.device_id' AS device, max(value->>'$.measurement') \
            FROM records('wiener') GROUP BY 1"
              firestream sql --format csv "SELECT * FROM records('metronome') \
            WHERE timestamp >= (unixepoch() - 60) * 1000" > last-minute.csv
              echo "SELECT count(*) FROM records('wiener')" | firestream sql

            The log is read as it is on disk, also while `firestream up` runs; a query sees the \
            records committed when it starts. Only reading is allowed: no writes, ATTACH, PRAGMA or \
            transactions. The same queries run over HTTP: POST /sql.
            """)

    @Argument(help: "One SQL statement (default: read from standard input).")
    var sql: String?

    @Option(help: "table, csv, json or ndjson (default: table on a terminal, csv otherwise).")
    var format: OutputFormat?

    @Option(help: "Stop after this many rows, saying so.")
    var maxRows: Int = 100_000

    @Option(help: "Stop a query that runs longer, e.g. 30s or 5m.")
    var timeout: String = "60s"

    @Option(help: "sqlite: the log (records()) and the tables in warehouse.sqlite; postgres: the tables in PostgreSQL (default: warehouse.engine).")
    var warehouse: WarehouseConfig.Engine?

    @Option(help: "The project config file or directory (default: the current directory).")
    var config: String?

    @Option(help: "The log's directory (default: .firestream/ beside the config).")
    var dataDir: String?

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case table, csv, json, ndjson
    }

    func validate() throws {
        guard maxRows > 0 else { throw ValidationError("--max-rows must be at least 1") }
        guard let span = TimeSpan.parse(timeout), span.milliseconds > 0 else {
            throw ValidationError("--timeout must be a duration like 30s, 5m or 1500ms, not \"\(timeout)\"")
        }
    }

    func run() async throws {
        let statement = try readStatement()
        let project = try ProjectLocation.resolve(config: config, dataDir: dataDir)
        if (warehouse ?? project.config.warehouse.engine) == .postgres {
            return try await answer(statement, with: try project.postgresReader())
        }
        if dataDir == nil, !project.config.kafka.bootstrap.isEmpty {
            printError(
                "error: SQL reads the embedded log, and this project's topics are on a Kafka cluster (kafka.bootstrap); pass --data-dir to query a log"
            )
            throw ExitCode.failure
        }
        let log = try project.readOnlyLog()
        defer { log.close() }
        try await answer(statement, with: SQLiteQueryEngine(log: log, tablesPath: WarehouseFiles.tables(in: project.dataDirectory), maxConcurrent: 1))
    }

    private func answer(_ statement: String, with engine: any QueryEngine) async throws {
        let limits = QueryLimits(maxRows: maxRows, maxBytes: .max, timeout: .milliseconds(TimeSpan.parse(timeout)?.milliseconds ?? 60_000))
        let result: QueryResult
        do {
            result = try await engine.query(statement, limits: limits) { _ in true }
        } catch {
            printError("error: \(error.pointed)")
            throw ExitCode.failure
        }
        write(result)
    }

    private func readStatement() throws -> String {
        if let sql { return sql }
        guard isatty(STDIN_FILENO) != 1 else {
            throw ValidationError("give the SQL as an argument, or pipe it in: echo \"SELECT 1\" | firestream sql")
        }
        return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
    }

    private func write(_ result: QueryResult) {
        let chosen = format ?? (isatty(STDOUT_FILENO) == 1 ? .table : .csv)
        switch chosen {
        case .table:
            print(ResultTable.render(result), terminator: "")
            let rows = result.rows.count == 1 ? "1 row" : "\(result.rows.count) rows"
            print("(\(rows), \(String(format: "%.1f", result.elapsedMilliseconds)) ms, \(result.recordsRead) records read)")
        case .csv: FileHandle.standardOutput.write(Data(ResultFormat.csv.render(result).utf8))
        case .json: FileHandle.standardOutput.write(Data(ResultFormat.json.render(result).utf8))
        case .ndjson: FileHandle.standardOutput.write(Data(ResultFormat.ndjson.render(result).utf8))
        }
        if let truncated = result.truncated { printError("note: the result stops early: \(truncated); raise --max-rows for more") }
    }
}

/// A result as aligned text columns: numbers to the right, NULL spelled out, long or multi-line
/// text shortened to one line.
enum ResultTable {
    static let widest = 60

    static func render(_ result: QueryResult) -> String {
        let header = result.columns.map(\.name)
        let cells = result.rows.map { $0.map(cell) }
        let numeric = result.columns.indices.map { column in
            result.rows.allSatisfy { row in
                switch row[column] {
                case .integer, .real, .null: true
                default: false
                }
            }
        }
        let widths = header.indices.map { column in ([header] + cells).map { $0[column].count }.max() ?? 0 }
        func line(_ row: [String], numbersRight: Bool) -> String {
            row.indices.map { column in
                let pad = String(repeating: " ", count: widths[column] - row[column].count)
                return numbersRight && numeric[column] ? pad + row[column] : row[column] + pad
            }.joined(separator: " | ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "-+-")
        let lines = [line(header, numbersRight: false), rule] + cells.map { line($0, numbersRight: true) }
        return lines.map { $0.trimmingTrailingSpaces() + "\n" }.joined()
    }

    static func cell(_ value: SQLValue) -> String {
        let text: String
        switch value {
        case .null: return "NULL"
        case .integer(let number): return String(number)
        case .real(let number): return String(number)
        case .text(let string): text = string
        case .blob(let bytes): text = "\\x" + bytes.prefix(widest / 2).map { String(format: "%02x", $0) }.joined()
        }
        let oneLine = text.replacingOccurrences(of: "\r\n", with: "↵").replacingOccurrences(of: "\n", with: "↵")
        return oneLine.count > widest ? String(oneLine.prefix(widest - 1)) + "…" : oneLine
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
