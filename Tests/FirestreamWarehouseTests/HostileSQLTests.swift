import FirestreamTesting
import Foundation
import Testing

@testable import FirestreamWarehouse

/// SQL from outside may read and compute, nothing else, and never for longer than its limit.
@Suite struct HostileSQLTests {
    @Test(arguments: [
        ("CREATE TABLE t(x)", "changing the schema (CREATE, DROP, ALTER) is not allowed"),
        ("ATTACH DATABASE '/tmp/evil.db' AS evil", "ATTACH is not allowed"),
        ("PRAGMA writable_schema = 1", "PRAGMA writable_schema is not allowed"),
        ("PRAGMA table_info('sqlite_schema')", "PRAGMA table_info is not allowed"),
        ("BEGIN", "a transaction is not allowed"),
        ("SELECT load_extension('/tmp/x.so')", "no such function: load_extension"),
        ("SELECT fts3_tokenizer('simple')", "the function fts3_tokenizer() is not allowed here"),
        ("CREATE VIRTUAL TABLE v USING fts5(x)", "changing the schema"),
        ("VACUUM INTO '/tmp/copy.db'", "not allowed"),
        ("SELECT 1; DROP TABLE sqlite_schema", "changing the schema"),
        ("SELECT 1; SELECT 2", "one statement at a time"),
    ])
    func refusesAnythingButReading(_ sql: String, _ expected: String) async throws {
        let sample = try await SampleLog()
        let error = try #require(await failure(sample.engine(), sql))
        #expect(error.message.contains(expected), "\(error)")
        #expect(error.kind != .timeout)
    }

    @Test func pointsAtTheErrorInTheSQL() async throws {
        let sample = try await SampleLog()
        let error = try #require(await failure(sample.engine(), "SELECT key,\n  count(*) FROM records('wiener') GROUP key"))
        #expect(error.kind == .invalid)
        #expect(error.message == #"near "key": syntax error"#)
        #expect(error.line == 2)
        #expect(error.column == 41)
        #expect(error.pointed.hasSuffix("\n    count(*) FROM records('wiener') GROUP key\n" + String(repeating: " ", count: 42) + "^"))
        let second = try #require(await failure(sample.engine(), "SELECT 1;\n  SELECT 2"))
        #expect(second.line == 2 && second.column == 3)
        let empty = try #require(await failure(sample.engine(), "  -- nothing\n"))
        #expect(empty.message == "no SQL statement given")
    }

    @Test func stopsAQueryAtItsTimeLimit() async throws {
        let sample = try await SampleLog()
        let started = ContinuousClock.now
        let forever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
        let error = try #require(await failure(sample.engine(), forever, limits: QueryLimits(timeout: .milliseconds(300))))
        #expect(error.kind == .timeout)
        #expect(error.message == "the query ran past its time limit of 0.3 seconds")
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    @Test func stopsAQueryWhoseCallerGoesAway() async throws {
        let sample = try await SampleLog()
        let engine = sample.engine()
        let forever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
        let task = Task { await failure(engine, forever, limits: QueryLimits(timeout: .seconds(600))) }
        while engine.runningCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
        task.cancel()
        let error = try #require(await task.value)
        #expect(error.kind == .timeout)
        #expect(error.message == "the query was cancelled")
    }

    @Test func refusesQueriesBeyondTheConcurrencyLimit() async throws {
        let sample = try await SampleLog()
        let engine = sample.engine(maxConcurrent: 1)
        let forever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
        let task = Task { await failure(engine, forever, limits: QueryLimits(timeout: .seconds(600))) }
        while engine.runningCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let busy = await failure(engine, "SELECT 1")
        #expect(busy?.kind == .busy)
        task.cancel()
        _ = await task.value
        #expect(try await query(engine, "SELECT 1").rows == [[.integer(1)]])
    }

    @Test func cutsLongResultsAtTheRowAndSizeLimits() async throws {
        let sample = try await SampleLog()
        let engine = sample.engine()
        let rows = try await query(engine, "SELECT offset FROM records('wiener')", limits: QueryLimits(maxRows: 7))
        #expect(rows.rows.count == 7)
        #expect(rows.truncated == "more than 7 rows (the row limit)")
        let bytes = try await query(engine, "SELECT value FROM records('wiener')", limits: QueryLimits(maxBytes: 200))
        #expect(bytes.rows.count == 5)
        #expect(bytes.truncated == "more than 200 bytes (the size limit)")
        let huge = try #require(await failure(engine, "SELECT length(zeroblob(100000000))"))
        #expect(huge.message == "string or blob too big")
    }
}

@Suite struct ResultFormatTests {
    let result = QueryResult(
        columns: [QueryColumn(name: "a", type: "text"), QueryColumn(name: "a", type: "real"), QueryColumn(name: "b", type: "blob")],
        rows: [[.text("x,\"y\"\nz"), .real(.infinity), .blob([1, 2, 3])], [.null, .real(0.5), .integer(-3)]],
        truncated: "more than 2 rows (the row limit)", elapsed: .milliseconds(12), engine: "sqlite", recordsRead: 9)

    @Test func writesCSVWithQuotingAndAHeader() {
        #expect(ResultFormat.csv.render(result) == "a,a,b\r\n\"x,\"\"y\"\"\nz\",,AQID\r\n,0.5,-3\r\n")
    }

    @Test func writesOneObjectPerRowWithDistinctKeys() {
        #expect(ResultFormat.ndjson.render(result) == "{\"a\":\"x,\\\"y\\\"\\nz\",\"a_2\":null,\"b\":\"AQID\"}\n{\"a\":null,\"a_2\":0.5,\"b\":-3}\n")
    }

    @Test func writesJSONThatParsesBack() throws {
        let text = ResultFormat.json.render(result)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["rowCount"] as? Int == 2)
        #expect(object["truncated"] as? String == "more than 2 rows (the row limit)")
        #expect(object["recordsRead"] as? Int == 9)
        #expect(object["elapsedMs"] as? Double == 12)
        #expect((object["rows"] as? [[Any]])?.first?.count == 3)
    }
}
