import FirestreamDemo
import FirestreamLog
import FirestreamStreams
import FirestreamWarehouse
import Foundation
import KafkaWire

/// `firestream-bench sql`: read-only SQL over a topic of Wiener outputs, as `firestream sql` and
/// `POST /sql` run it, beside reading the same records from the log with no SQL at all.
enum SQLBenchmark {
    static func run(records: Int, in base: String) async throws {
        let path = Benchmarks.scratch(base)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let outputs = try wienerOutputs(records)
        print("\n== sql: \(outputs.count) Wiener records in topic wiener (1 partition), queried through records('wiener')")
        let log = try Log(directory: path)
        defer { log.close() }
        let topic = try log.createTopic("wiener")
        for start in stride(from: 0, to: outputs.count, by: 5000) {
            _ = try await topic.partitions[0].append(Array(outputs[start..<min(start + 5000, outputs.count)]))
        }
        let megabytes = Double(topic.partitions[0].sizeInBytes) / 1e6
        let clock = ContinuousClock()
        let read = clock.measure {
            var reader = PartitionReader(topic.partitions[0], from: 0, whenRemoved: .skip)
            var count = 0
            while let batch = try? reader.poll(maxBytes: 1 << 20), !batch.records.isEmpty { count += batch.records.count }
            precondition(count == outputs.count)
        }
        report("reading the log, no SQL", Benchmarks.seconds(read), rows: outputs.count, megabytes: megabytes)
        let engine = SQLiteQueryEngine(log: log)
        let limits = QueryLimits(maxRows: 1000, timeout: .seconds(600))
        let queries = [
            ("count(*)", "SELECT count(*) FROM records('wiener')"),
            (
                "GROUP BY device over JSON",
                "SELECT value->>'$.device_id' AS device, count(*), max(value->>'$.measurement'), avg(value->>'$.increment') FROM records('wiener') GROUP BY 1"
            ),
            (
                "the same JSON, no GROUP BY",
                "SELECT count(*), max(value->>'$.device_id'), max(value->>'$.measurement'), avg(value->>'$.increment') FROM records('wiener')"
            ),
            ("GROUP BY key", "SELECT key, count(*) FROM records('wiener') GROUP BY 1"),
            ("the last 10,000 offsets", "SELECT max(value->>'$.measurement') FROM records('wiener') WHERE offset >= \(outputs.count - 10_000)"),
        ]
        for (name, sql) in queries {
            var times: [Double] = []
            var read = 0
            for _ in 0..<3 {
                let result = try await engine.query(sql, limits: limits) { _ in true }
                times.append(result.elapsedMilliseconds / 1000)
                read = result.recordsRead
            }
            times.sort()
            print(
                String(
                    format: "  %@: median %.3f s (best %.3f s) of 3 = %.0f records/s read; %d records read", name, times[1], times[0],
                    Double(read) / times[1], read))
        }
    }

    private static func report(_ name: String, _ seconds: Double, rows: Int, megabytes: Double) {
        print(String(format: "  %@: %.3f s = %.0f records/s, %.0f MB/s", name, seconds, Double(rows) / seconds, megabytes / seconds))
    }

    /// The Wiener app's outputs for the demo's readings: what topic `wiener` holds after `up`.
    static func wienerOutputs(_ count: Int) throws -> [ProducerRecord] {
        let (readings, _) = Benchmarks.metronomeReadings(count + 5)
        let app = WienerApp()
        var states: [String: WienerApp.State] = [:]
        var outputs: [ProducerRecord] = []
        outputs.reserveCapacity(count)
        for reading in readings where outputs.count < count {
            let decoded = try app.decode(reading.value!)
            var state = states[decoded.deviceID]
            var context = ProcessingContext(now: reading.timestamp, timestamp: reading.timestamp)
            for point in app.process(decoded, state: &state, context: &context) {
                outputs.append(ProducerRecord(key: Array(point.deviceID.utf8), value: try app.encode(point), timestamp: reading.timestamp))
            }
            states[decoded.deviceID] = state
        }
        return outputs
    }
}
