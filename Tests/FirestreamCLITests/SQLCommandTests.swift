import FirestreamLog
import FirestreamTesting
import Foundation
import KafkaWire
import Testing

/// `firestream sql`: the real binary over a log on disk.
@Suite struct SQLCommandTests {
    /// A log with topic `readings`: 12 records of 3 devices, reading i stamped at second i.
    func seeded() async throws -> TemporaryDirectory {
        let scratch = TemporaryDirectory("fs-sql")
        let log = try Log(directory: scratch.url.appendingPathComponent("data").path)
        defer { log.close() }
        let topic = try log.createTopic("readings")
        _ = try await topic.partitions[0].append(
            (0..<12).map { index in
                ProducerRecord(
                    key: Array("d\(index % 3)".utf8), value: Array(#"{"device":"d\#(index % 3)","value":\#(index)}"#.utf8),
                    timestamp: 1_795_000_000_000 + Int64(index) * 1000)
            })
        return scratch
    }

    func sql(_ arguments: [String], input: String = "", in scratch: TemporaryDirectory) async throws -> FirestreamProcess.Outcome {
        try await FirestreamProcess.run(["sql"] + arguments + ["--data-dir", "data"], in: scratch.url, input: input)
    }

    @Test func printsATableCSVAndJSON() async throws {
        let scratch = try await seeded()
        let query = "SELECT key AS device, count(*) AS n, max(value->>'$.value') AS top FROM records('readings') GROUP BY 1 ORDER BY 1"
        let table = try await sql([query, "--format", "table"], in: scratch)
        #expect(table.status == 0, "\(table.stderr)")
        let lines = table.stdout.split(separator: "\n").map(String.init)
        #expect(Array(lines.prefix(5)) == ["device | n | top", "-------+---+----", "d0     | 4 |   9", "d1     | 4 |  10", "d2     | 4 |  11"])
        #expect(lines.last?.hasPrefix("(3 rows, ") == true && lines.last?.hasSuffix(" ms, 12 records read)") == true)
        let csv = try await sql([query], in: scratch)
        #expect(csv.stdout == "device,n,top\r\nd0,4,9\r\nd1,4,10\r\nd2,4,11\r\n", "CSV when the output is not a terminal")
        let piped = try await sql(["--format", "ndjson", "--max-rows", "1"], input: query, in: scratch)
        #expect(piped.stdout == "{\"device\":\"d0\",\"n\":4,\"top\":9}\n")
        #expect(piped.stderr.contains("note: the result stops early: more than 1 rows (the row limit); raise --max-rows for more"))
    }

    @Test func pointsAtErrorsAndRefusesWrites() async throws {
        let scratch = try await seeded()
        let typo = try await sql(["SELECT device FROM records('readings')"], in: scratch)
        #expect(typo.status == 1)
        #expect(typo.stderr == "error: line 1, column 8: no such column: device\n  SELECT device FROM records('readings')\n         ^\n")
        let missing = try await sql(["SELECT * FROM records('reading')"], in: scratch)
        #expect(missing.stderr.contains("records('reading'): no such topic (topics: readings)"))
        let write = try await sql(["ATTACH DATABASE 'x.db' AS x"], in: scratch)
        #expect(write.status == 1)
        #expect(write.stderr.contains("ATTACH is not allowed"))
        #expect(!FileManager.default.fileExists(atPath: scratch.url.appendingPathComponent("x.db").path))
        let timeout = try await sql(["--timeout", "soon", "SELECT 1"], in: scratch)
        #expect(timeout.stderr.contains("--timeout must be a duration like 30s, 5m or 1500ms, not \"soon\""))
    }

    @Test func validateWarnsOfATableWhoseTopicNothingWrites() async throws {
        let scratch = TemporaryDirectory("fs-sql")
        try scratch.write(
            "firestream.json", #"{"name": "t", "tables": [{"name": "points", "from": "wienr", "columns": {"device_id": {}}}]}"#)
        let outcome = try await FirestreamProcess.run(["validate"], in: scratch.url)
        #expect(outcome.status == 0, "a warning, not an error")
        #expect(
            outcome.stderr.contains(
                #"firestream.json:1:53: warning: tables[0].from: no topic "wienr" is declared, and no app or source writes one"#),
            "\(outcome.stderr)")
        #expect(outcome.stderr.contains("(topics here: metronome, wiener, wiener.dlq)"))
    }
}
