import FirestreamDemo
import FirestreamFormats
import FirestreamGateway
import FirestreamLog
import FirestreamStreams
import Foundation
import KafkaWire
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// HTTP ingest of large NDJSON bodies, end to end: `records` metronome readings are POSTed as
/// NDJSON bodies of up to 1 MiB to a gateway on loopback (each acknowledged once durable),
/// while the Wiener app consumes them. Prints the ingest rate (records and MB acknowledged per
/// second), the end-to-end rate (until Wiener's outputs are durable), and the body parser alone.
enum IngestBenchmark {
    static func run(records: Int, in base: String) async throws {
        let path = Benchmarks.scratch(base)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (readings, devices) = Benchmarks.metronomeReadings(records)
        let total = readings.count
        print("\n== ingest: \(total) metronome readings as NDJSON bodies of up to 1 MiB over HTTP, acknowledged when durable; wiener consuming")

        // The bodies, built before anything is timed.
        var bodies: [Data] = []
        var body = Data()
        body.reserveCapacity(1 << 20)
        for reading in readings {
            let line = reading.value! + [0x0A]
            if body.count + line.count > 1 << 20 {
                bodies.append(body)
                body = Data()
                body.reserveCapacity(1 << 20)
            }
            body.append(contentsOf: line)
        }
        if !body.isEmpty { bodies.append(body) }
        let bytes = bodies.reduce(0) { $0 + $1.count }
        let clock = ContinuousClock()

        // The parser alone, one core.
        var parsed = 0
        let parseTime = try clock.measure {
            for body in bodies {
                parsed += try body.withUnsafeBytes { raw in
                    try Result(catching: { () throws(IngestBody.Refusal) in try IngestBody.parse(raw, framing: .ndjson) }).get().count
                }
            }
        }
        print(
            String(
                format: "  body parser alone: %.2f M records/s, %.0f MB/s (%d records in %d bodies, %.1f MB)",
                Double(parsed) / Benchmarks.seconds(parseTime) / 1e6,
                Double(bytes) / Benchmarks.seconds(parseTime) / 1e6, parsed, bodies.count, Double(bytes) / 1e6))

        let log = try Log(directory: path)
        defer { log.close() }
        let input = try log.createTopic("metronome")
        let runner = AppRunner(WienerApp())
        try runner.prepare(log)
        let bound = Locked<Int?>(nil)
        let gateway = Gateway(log: log, options: Gateway.Options(port: 0))
        let server = Task { try await gateway.run { port in bound.withLock { $0 = port } } }
        while bound.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(5)) }
        let port = bound.withLock { $0 } ?? 0

        let session = URLSession(configuration: .ephemeral)
        let started = clock.now
        let app = Task { try await runner.run(log) }
        let next = NextBody()
        let shared = bodies
        // Four connections posting one body after another.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    while true {
                        let index = next.take()
                        guard index < shared.count else { return }
                        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/topics/metronome")!)
                        request.httpMethod = "POST"
                        request.setValue("application/x-ndjson", forHTTPHeaderField: "Content-Type")
                        request.httpBody = shared[index]
                        let (_, response) = try await session.data(for: request)
                        guard (response as? HTTPURLResponse)?.statusCode == 200 else {
                            throw IngestFailure(description: "POST answered \((response as? HTTPURLResponse)?.statusCode ?? 0)")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let ingested = clock.now - started
        let output = try log.topic("wiener")
        let expected = Int64(total - devices.count)
        while output.recordCount < expected { try await Task.sleep(for: .milliseconds(2)) }
        let endToEnd = clock.now - started
        app.cancel()
        try await app.value
        server.cancel()
        _ = try? await server.value
        print(
            String(
                format: "  ingest: %d records acknowledged in %.3f s = %.0f records/s, %.0f MB/s of bodies", Int(input.recordCount),
                Benchmarks.seconds(ingested),
                Double(total) / Benchmarks.seconds(ingested), Double(bytes) / Benchmarks.seconds(ingested) / 1e6))
        print(
            String(
                format: "  end to end (POST → durable → wiener outputs durable): %.3f s = %.0f events/s", Benchmarks.seconds(endToEnd),
                Double(total) / Benchmarks.seconds(endToEnd)))
    }

    /// Hands out body indexes to the posting tasks.
    final class NextBody: Sendable {
        private let next = Atomic<Int>(0)
        func take() -> Int { next.add(1, ordering: .relaxed).oldValue }
    }

    struct IngestFailure: Error, CustomStringConvertible {
        var description: String
    }
}
