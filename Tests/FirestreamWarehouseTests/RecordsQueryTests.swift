import FirestreamLog
import FirestreamTesting
import KafkaWire
import Testing

@testable import FirestreamWarehouse

/// A log with topic `wiener`: 2 partitions, 50 JSON readings each (keys device-0…4, stamped a
/// second apart from 1,000,000 ms), plus one binary record with headers at the end of partition 1.
final class SampleLog {
    let directory = TemporaryDirectory("firestream-sql")
    let log: Log
    static let readings = 100

    init() async throws {
        log = try Log(directory: directory.path)
        let topic = try log.createTopic("wiener", partitions: 2)
        _ = try log.createTopic("other")
        for partition in 0..<2 {
            let records = stride(from: partition, to: Self.readings, by: 2).map { index in
                ProducerRecord(
                    key: Array("device-\(index % 5)".utf8), value: Array(#"{"device_id":"device-\#(index % 5)","measurement":\#(index)}"#.utf8),
                    timestamp: 1_000_000 + Int64(index) * 1000)
            }
            _ = try await topic.partitions[partition].append(records)
        }
        let odd = ProducerRecord(
            key: nil, value: [0xff, 0x00, 0x41],
            headers: [
                RecordHeader(key: "trace", value: Array("a".utf8)), RecordHeader(key: "trace", value: Array("b".utf8)),
                RecordHeader(key: "x", value: nil),
            ],
            timestamp: 5)
        _ = try await topic.partitions[1].append([odd])
    }

    deinit { log.close() }

    func engine(maxConcurrent: Int = 4) -> SQLiteQueryEngine { SQLiteQueryEngine(log: log, maxConcurrent: maxConcurrent) }
}

func query(
    _ engine: SQLiteQueryEngine, _ sql: String, limits: QueryLimits = QueryLimits(), mayRead: @escaping @Sendable (String) -> Bool = { _ in true }
)
    async throws -> QueryResult
{
    try await engine.query(sql, limits: limits, mayRead: mayRead)
}

func failure(
    _ engine: SQLiteQueryEngine, _ sql: String, limits: QueryLimits = QueryLimits(), mayRead: @escaping @Sendable (String) -> Bool = { _ in true }
)
    async -> QueryError?
{
    do {
        _ = try await engine.query(sql, limits: limits, mayRead: mayRead)
        return nil
    } catch {
        return error
    }
}

@Suite struct RecordsQueryTests {
    @Test func groupsATopicByKeyWithJSONOperators() async throws {
        let sample = try await SampleLog()
        let result = try await query(
            sample.engine(),
            "SELECT value->>'$.device_id' AS device, count(*) AS n, max(value->>'$.measurement') AS top FROM records('wiener') WHERE key IS NOT NULL GROUP BY 1 ORDER BY 1"
        )
        #expect(result.columns.map(\.name) == ["device", "n", "top"])
        #expect(result.columns.map(\.type) == ["text", "integer", "integer"])
        let expected = (0..<5).map { device -> [SQLValue] in
            [.text("device-\(device)"), .integer(20), .integer(Int64(95 + device))]
        }
        #expect(result.rows == expected)
        #expect(result.recordsRead == SampleLog.readings + 1)
        #expect(result.truncated == nil)
    }

    @Test func exposesEveryPartOfARecord() async throws {
        let sample = try await SampleLog()
        let engine = sample.engine()
        let first = try await query(
            engine, "SELECT partition, offset, timestamp, key, value, headers, topic FROM records('wiener') WHERE partition = 1 AND offset = 0")
        #expect(
            first.rows == [
                [
                    .integer(1), .integer(0), .integer(1_001_000), .text("device-1"), .text(#"{"device_id":"device-1","measurement":1}"#),
                    .text("{}"), .text("wiener"),
                ]
            ])
        let odd = try await query(
            engine, "SELECT key, value, headers, headers->>'$.x' IS NULL FROM records('wiener') WHERE partition = 1 AND offset = 50")
        #expect(odd.rows == [[.null, .blob([0xff, 0x00, 0x41]), .text(#"{"trace":["a","b"],"x":null}"#), .integer(1)]])
    }

    @Test func pushesOffsetPartitionAndTimeBoundsDownToTheLog() async throws {
        let sample = try await SampleLog()
        let engine = sample.engine()
        let window = try await query(engine, "SELECT offset FROM records('wiener') WHERE partition = 1 AND offset >= 40 AND offset < 45")
        #expect(window.rows == (40..<45).map { [.integer(Int64($0))] })
        #expect(window.recordsRead == 5)
        // The last 10 seconds of readings: the time index finds where each partition starts.
        let recent = try await query(engine, "SELECT count(*) FROM records('wiener') WHERE timestamp >= 1090000")
        #expect(recent.rows == [[.integer(10)]])
        // 10 readings, and the odd record stamped 5 after them in partition 1: timestamps need
        // not rise with offsets, so only the lower time bound can skip records.
        #expect(recent.recordsRead == 11)
        let plan = try await query(engine, "EXPLAIN QUERY PLAN SELECT * FROM records('wiener') WHERE partition = 0 AND offset > 3 AND timestamp >= 7")
        let detail = plan.rows.compactMap { row -> String? in if case .text(let text) = row.last { text } else { nil } }.joined()
        let bits = [RecordsIndex.Slot.topic, .partition, .offsetAbove, .timestampAtLeast].reduce(0) { $0 | 1 << $1.rawValue }
        #expect(detail.contains("VIRTUAL TABLE INDEX \(bits):"), "\(detail)")
    }

    /// Bounds of every kind give the rows SQLite finds itself in a materialized copy of the topic.
    @Test(arguments: [
        "offset > 40.5", "offset >= 40.5", "offset < 3.2", "offset <= 3.0", "offset = 7", "offset = 7.5", "offset >= '40'", "offset > NULL",
        "offset BETWEEN 10 AND 12 AND partition = 0", "partition = 1.0", "partition = '1'", "partition = 7", "timestamp > 1094000.5",
        "timestamp = 1002000", "timestamp >= -9e30", "offset > 9e30", "offset < -9e30", "offset >= 9223372036854775807",
        "offset > 2 AND offset > 40 AND offset < 45 AND offset <= 47",
    ])
    func boundsNeverChangeAResult(_ condition: String) async throws {
        let sample = try await SampleLog()
        let engine = sample.engine()
        let pushed = try await query(engine, "SELECT partition, offset FROM records('wiener') WHERE \(condition) ORDER BY 1, 2")
        let oracle = try await query(
            engine, "WITH m AS MATERIALIZED (SELECT * FROM records('wiener')) SELECT partition, offset FROM m WHERE \(condition) ORDER BY 1, 2")
        #expect(pushed.rows == oracle.rows)
    }

    @Test func readsALogThatAnotherProcessWrites() async throws {
        let sample = try await SampleLog()
        let reader = try Log(directory: sample.directory.path, readOnly: true)
        defer { reader.close() }
        let result = try await query(SQLiteQueryEngine(log: reader), "SELECT count(*), sum(offset) FROM records('wiener')")
        #expect(result.rows == [[.integer(101), .integer(2 * (0..<50).reduce(0, +) + 50)]])
    }

    @Test func namesTheTopicsWhenOneIsMissingOrForbidden() async throws {
        let sample = try await SampleLog()
        let engine = sample.engine()
        let missing = await failure(engine, "SELECT * FROM records('wiene')")
        #expect(missing?.kind == .invalid)
        #expect(missing?.message == "records('wiene'): no such topic (topics: other, wiener)")
        let bare = await failure(engine, "SELECT * FROM records")
        #expect(bare?.message == "records() needs a topic name, as in records('wiener')")
        let forbidden = await failure(engine, "SELECT * FROM records('wiener')", mayRead: { $0 == "other" })
        #expect(forbidden?.message == #"records('wiener'): this token may not read topic "wiener""#)
        let hidden = await failure(engine, "SELECT * FROM records('nope')", mayRead: { $0 == "other" })
        #expect(hidden?.message == "records('nope'): no such topic (topics: other)")
    }
}
