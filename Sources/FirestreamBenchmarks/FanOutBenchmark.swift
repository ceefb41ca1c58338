import FirestreamGateway
import FirestreamLog
import Foundation
import KafkaWire
import Logging
import NIOWebSocket
import Synchronization
import WSClient

/// WebSocket fan-out: `clients` subscribers of one topic while a producer appends `rate` events/s
/// (durably, in 10 ms batches). Prints deliveries/s and the event → client latency percentiles
/// (append timestamp to the moment the client has parsed the frame), all in this one process.
enum FanOutBenchmark {
    /// Per-client tallies merged at the end.
    final class Tally: Sendable {
        private struct State {
            var received = 0
            var gaps = 0
            var latency = [Int](repeating: 0, count: 10_001)  // milliseconds, last bucket = 10 s or more
        }
        private let state = Locked(State())

        func merge(received: Int, gaps: Int, latency: [Int]) {
            state.withLock { state in
                state.received += received
                state.gaps += gaps
                for (index, count) in latency.enumerated() where count > 0 { state.latency[index] += count }
            }
        }

        var received: Int { state.withLock { $0.received } }
        var gaps: Int { state.withLock { $0.gaps } }

        func percentile(_ fraction: Double) -> Int {
            state.withLock { state in
                let total = state.latency.reduce(0, +)
                guard total > 0 else { return -1 }
                var seen = 0
                for (milliseconds, count) in state.latency.enumerated() {
                    seen += count
                    if Double(seen) >= fraction * Double(total) { return milliseconds }
                }
                return state.latency.count - 1
            }
        }
    }

    final class Flags: Sendable {
        let connected = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
    }

    static func run(clients: Int, rate: Int, seconds: Int, in base: String) async throws {
        let path = Benchmarks.scratch(base)
        defer { try? FileManager.default.removeItem(atPath: path) }
        print("\n== fan-out: \(clients) WebSocket clients, \(rate) events/s for \(seconds) s, durable appends in 10 ms batches")
        let log = try Log(directory: path)
        defer { log.close() }
        let partition = try log.createTopic("ticks").partitions[0]
        let bound = Locked<Int?>(nil)
        let gateway = Gateway(log: log, options: Gateway.Options(port: 0))
        let server = Task { try await gateway.run { port in bound.withLock { $0 = port } } }
        defer { server.cancel() }
        while bound.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
        let port = bound.withLock { $0 }!

        let tally = Tally()
        let flags = Flags()
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        var clientTasks: [Task<Void, Never>] = []
        for _ in 0..<clients {
            clientTasks.append(
                Task {
                    _ = try? await WebSocketClient.connect(
                        url: "ws://127.0.0.1:\(port)/ws/topics/ticks", configuration: .init(maxFrameSize: 1 << 22), logger: logger
                    ) { inbound, outbound, _ in
                        var received = 0
                        var gaps = 0
                        var latency = [Int](repeating: 0, count: 10_001)
                        defer { tally.merge(received: received, gaps: gaps, latency: latency) }
                        for try await message in inbound.messages(maxSize: 1 << 22) {
                            guard case .text(let text) = message else { continue }
                            let now = wallClockMilliseconds()
                            var utf8 = text.utf8
                            if utf8.starts(with: "{\"subscribed\"".utf8) {
                                flags.connected.add(1, ordering: .relaxed)
                                continue
                            }
                            if utf8.starts(with: "{\"gap\"".utf8) {
                                gaps += 1
                                continue
                            }
                            // Timestamp 0 marks the wake-up record appended after `stop`: not an event.
                            for timestamp in timestamps(in: &utf8) where timestamp > 0 {
                                received += 1
                                latency[Int(min(max(now - timestamp, 0), 10_000))] += 1
                            }
                            if flags.stop.load(ordering: .relaxed) { break }
                        }
                        try? await outbound.close(.normalClosure, reason: nil)
                    }
                })
        }
        let connectDeadline = ContinuousClock.now + .seconds(60)
        while flags.connected.load(ordering: .relaxed) < clients, ContinuousClock.now < connectDeadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        print("connected: \(flags.connected.load(ordering: .relaxed)) of \(clients)")

        let perBatch = max(1, rate / 100)
        var produced = 0
        let clock = ContinuousClock()
        let started = clock.now
        var next = started
        while clock.now - started < .seconds(seconds) {
            let now = wallClockMilliseconds()
            let batch = (0..<perBatch).map { index in
                ProducerRecord(
                    key: Array("device-\(index % 5)".utf8), value: Array("{\"seq\":\(produced + index),\"reading\":0.5}".utf8), timestamp: now)
            }
            _ = try await partition.append(batch)
            produced += perBatch
            next = next.advanced(by: .milliseconds(10))
            if next > clock.now { try await Task.sleep(until: next) }
        }
        let produceSeconds = Benchmarks.seconds(clock.now - started)
        // Let the clients drain what was sent, then stop them.
        let expected = produced * clients
        let drainDeadline = clock.now + .seconds(10)
        while clock.now < drainDeadline {
            try await Task.sleep(for: .milliseconds(200))
            if partition.durableOffset >= Int64(produced) { break }
        }
        try await Task.sleep(for: .seconds(2))
        flags.stop.store(true, ordering: .relaxed)
        // Every client sees `stop` on its next frame; one more record (timestamp 0, not counted) wakes them all.
        _ = try await partition.append([ProducerRecord(key: nil, value: Array("{}".utf8), timestamp: 0)])
        for task in clientTasks { await task.value }
        let received = tally.received
        print(
            String(
                format: "produced %d events in %.1f s (%.0f events/s); delivered %d of %d (%.2f%%) = %.0f deliveries/s; gap notices %d",
                produced, produceSeconds, Double(produced) / produceSeconds, received, expected,
                100 * Double(received) / Double(max(expected, 1)), Double(received) / produceSeconds, tally.gaps))
        print(
            "event → client latency: p50 \(tally.percentile(0.5)) ms, p99 \(tally.percentile(0.99)) ms, p99.9 \(tally.percentile(0.999)) ms, max \(tally.percentile(1.0)) ms"
        )
    }

    /// The `"timestamp":` values of the records in one frame.
    static func timestamps(in utf8: inout String.UTF8View) -> [Int64] {
        let marker = Array("\"timestamp\":".utf8)
        var result: [Int64] = []
        let bytes = Array(utf8)
        var index = 0
        while index + marker.count < bytes.count {
            if bytes[index] == marker[0], bytes[index..<index + marker.count].elementsEqual(marker) {
                index += marker.count
                var value: Int64 = 0
                while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57, value < Int64.max / 10 - 9 {
                    value = value * 10 + Int64(bytes[index] - 48)
                    index += 1
                }
                result.append(value)
            } else {
                index += 1
            }
        }
        return result
    }
}
