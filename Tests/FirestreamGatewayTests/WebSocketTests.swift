import FirestreamLog
import FirestreamTesting
import Foundation
import KafkaWire
import Logging
import NIOCore
import NIOWebSocket
import Testing
import WSClient

@testable import FirestreamGateway

/// Frames received by a test WebSocket client: kept as text, counted as they arrive.
final class Received: Sendable {
    private struct State {
        var texts: [String] = []
        var recordCount = 0
        var lastOffset = -1
        /// Per record: when it was appended (its timestamp) and when it arrived, wall-clock ms.
        var arrivals: [(appended: Int64, arrived: Int64)] = []
    }
    private let state = Locked(State())

    func append(_ text: String) {
        let arrived = wallClockMilliseconds()
        let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8))
        let records = Received.records(in: parsed)
        state.withLock { state in
            state.texts.append(text)
            state.recordCount += records.count
            if let last = records.last?["offset"] as? Int { state.lastOffset = last }
            for record in records { state.arrivals.append(((record["timestamp"] as? NSNumber)?.int64Value ?? 0, arrived)) }
        }
    }

    var arrivals: [(appended: Int64, arrived: Int64)] { state.withLock { $0.arrivals } }

    var recordCount: Int { state.withLock { $0.recordCount } }
    var lastOffset: Int { state.withLock { $0.lastOffset } }
    var all: [Any] { state.withLock { $0.texts }.map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) } }
    var records: [[String: Any]] { all.flatMap { Received.records(in: $0) } }
    var notices: [[String: Any]] { all.compactMap { $0 as? [String: Any] }.filter { $0["offset"] == nil } }
    var offsets: [Int] { records.map { $0["offset"] as! Int } }

    static func records(in frame: Any?) -> [[String: Any]] {
        if let batch = frame as? [[String: Any]] { return batch }
        if let one = frame as? [String: Any], one["offset"] != nil { return [one] }
        return []
    }
}

let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

extension LiveGateway {
    /// Connects to `path`, collects frames until `done` says so (or `timeout`), then closes.
    @discardableResult
    func subscribe(
        _ path: String, into received: Received = Received(), timeout: Duration = .seconds(20), until done: @escaping @Sendable (Received) -> Bool
    )
        async throws -> Received
    {
        try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)\(path)", configuration: .init(maxFrameSize: 1 << 22), logger: quietLogger) {
            inbound, outbound, _ in
            let deadline = ContinuousClock.now + timeout
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await message in inbound.messages(maxSize: 1 << 24) {
                        guard case .text(let text) = message else { continue }
                        received.append(text)
                        if done(received) { return }
                    }
                }
                group.addTask { try await Task.sleep(until: deadline) }
                try await group.next()
                group.cancelAll()
            }
            try await outbound.close(.normalClosure, reason: nil)
        }
        return received
    }
}

func appendNumbered(_ partition: PartitionLog, _ range: Range<Int>, padding: Int = 0) async throws {
    let filler = String(repeating: "x", count: padding)
    _ = try await partition.append(
        range.map {
            ProducerRecord(key: Array("k\($0)".utf8), value: Array("{\"n\":\($0),\"pad\":\"\(filler)\"}".utf8), timestamp: wallClockMilliseconds())
        })
}

@Suite(.serialized) struct WebSocketTests {
    @Test func replaysHistoryThenFollowsLiveInOrder() async throws {
        let gateway = try await LiveGateway()
        defer { Task { await gateway.stop() } }
        let topic = try gateway.log.createTopic("t", partitions: 2)
        for partition in topic.partitions { try await appendNumbered(partition, 0..<300) }
        let received = Received()
        // More records come once the client has had part of the history: they arrive live.
        let producer = Task {
            while received.recordCount < 100 { try await Task.sleep(for: .milliseconds(5)) }
            for partition in topic.partitions { try await appendNumbered(partition, 300..<400) }
        }
        try await gateway.subscribe("/ws/topics/t?from=earliest", into: received) { $0.recordCount >= 800 }
        try await producer.value
        let subscribed = try #require(received.notices.first?["subscribed"] as? [String: Any])
        #expect(subscribed["topic"] as? String == "t")
        for partition in 0..<2 {
            let offsets = received.records.filter { $0["partition"] as? Int == partition }.map { $0["offset"] as! Int }
            #expect(offsets == Array(0..<400), "partition \(partition) in order, complete, no duplicates")
        }
        #expect((received.records.first?["value"] as? [String: Any])?["n"] as? Int == 0)
    }

    @Test func startPositionsAndResumeWithoutGapsOrDuplicates() async throws {
        let gateway = try await LiveGateway()
        defer { Task { await gateway.stop() } }
        let partition = try gateway.log.createTopic("t").partitions[0]
        try await appendNumbered(partition, 0..<100)
        let last = try await gateway.subscribe("/ws/topics/t?from=-10") { $0.recordCount >= 10 }
        #expect(last.records.map { $0["offset"] as! Int } == Array(90..<100))
        let fromOffset = try await gateway.subscribe("/ws/topics/t?from=42") { $0.recordCount >= 3 }
        #expect(fromOffset.records.prefix(3).map { $0["offset"] as! Int } == [42, 43, 44])

        // A client reads part of the stream, goes away while records keep coming, and comes back
        // with the next offset it wants: together it sees every record exactly once.
        let first = try await gateway.subscribe("/ws/topics/t?from=earliest") { $0.recordCount >= 60 }
        let next = (first.records.last!["offset"] as! Int) + 1
        try await appendNumbered(partition, 100..<150)
        let second = try await gateway.subscribe("/ws/topics/t?from=0:\(next)") { $0.lastOffset == 149 }
        let seen = (first.records + second.records).map { $0["offset"] as! Int }
        #expect(seen == Array(0..<150))

        let since = try await gateway.subscribe("/ws/topics/t?since=1h") { $0.recordCount >= 150 }
        #expect(since.records.count == 150)
    }

    @Test func badSubscriptionsAreRefusedWithStatus() async throws {
        let gateway = try await LiveGateway()
        defer { Task { await gateway.stop() } }
        _ = try gateway.log.createTopic("t")
        let unknown = try await gateway.send("GET", "/ws/topics/nope")
        #expect(unknown.status == 404)
        let badFrom = try await gateway.send("GET", "/ws/topics/t?from=yesterday")
        #expect(badFrom.status == 400)
        #expect(
            try gateway.json(badFrom.body)["error"] as? String
                == "from must be latest, earliest, -N, an offset or partition:offset pairs, got \"yesterday\"")
        #expect(try await gateway.send("GET", "/ws/topics/t?partition=4").status == 400)
        #expect(try await gateway.send("GET", "/ws/topics/t?since=soon").status == 400)
        await #expect(throws: (any Error).self) {
            try await WebSocketClient.connect(url: "ws://127.0.0.1:\(gateway.port)/ws/topics/nope", logger: quietLogger) { _, _, _ in }
        }
    }

    /// One client never reads; another reads everything. While the stalled client is still
    /// connected (its socket full, its writes stuck), the reader's records keep arriving within
    /// moments of their append; then the watchdog closes the stalled one.
    @Test func aStalledClientNeverSlowsTheOthers() async throws {
        let options = Gateway.Options(port: 0, feedBufferBytes: 4 << 20, stallTimeout: .seconds(6))
        let gateway = try await LiveGateway(options: options)
        defer { Task { await gateway.stop() } }
        let partition = try gateway.log.createTopic("t").partitions[0]
        let total = 40_000
        let stalled = Task {
            try await WebSocketClient.connect(
                url: "ws://127.0.0.1:\(gateway.port)/ws/topics/t", configuration: .init(maxFrameSize: 1 << 22), logger: quietLogger
            ) { inbound, _, _ in
                // Never reads: its socket fills up. Waits (reading nothing) until the server closes.
                try await Task.sleep(for: .seconds(60))
                _ = inbound
            }
        }
        let reader = Task { try await gateway.subscribe("/ws/topics/t", timeout: .seconds(60)) { $0.lastOffset >= total - 1 } }
        try await eventually("both subscribers to be connected") { try await gateway.metricsText().contains("firestream_ws_clients 2") }
        // When the watchdog closes the stalled client (seen through /metrics, within ~50 ms).
        let watcher = Task { () -> Int64 in
            while !(try await gateway.metricsText().contains("firestream_ws_slow_clients_closed_total 1")) {
                try await Task.sleep(for: .milliseconds(50))
            }
            return wallClockMilliseconds()
        }
        for batch in stride(from: 0, to: total, by: 500) {
            try await appendNumbered(partition, batch..<batch + 500, padding: 400)
        }
        let received = try await reader.value
        let offsets = received.offsets
        #expect(offsets.count == total && offsets == Array(0..<total), "the reader got \(offsets.count) records")
        #expect(received.notices.filter { $0["gap"] != nil }.isEmpty)
        // The stalled client is closed by the watchdog.
        let closedAt = try await withThrowingTaskGroup(of: Int64?.self) { group in
            group.addTask { try await watcher.value }
            group.addTask {
                try await Task.sleep(for: .seconds(30))
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        watcher.cancel()
        let closed = try #require(closedAt, "the watchdog never closed the stalled client")
        // While it was connected, the reader's records arrived promptly.
        let meanwhile = received.arrivals.filter { $0.arrived < closed }.map { $0.arrived - $0.appended }.sorted()
        #expect(meanwhile.count >= total / 2, "only \(meanwhile.count) records arrived while the stalled client was connected")
        let p99 = meanwhile.isEmpty ? Int64.max : meanwhile[meanwhile.count * 99 / 100]
        #expect(p99 < 1000, "the reader's p99 delay while the stalled client was connected: \(p99) ms")
        // Its connection is really gone: no subscriber is left once the reader has left too.
        try await eventually("no subscriber to be left") { try await gateway.metricsText().contains("firestream_ws_clients 0") }
        stalled.cancel()
    }

    /// A client that does not read while records keep coming falls out of the server's buffer:
    /// when it reads again it gets a `gap` notice and continues from the newest records.
    @Test func aSlowReaderGetsGapNotices() async throws {
        let options = Gateway.Options(port: 0, feedBufferBytes: 64 << 10, maxFrameBytes: 8 << 10, stallTimeout: .seconds(60))
        let gateway = try await LiveGateway(options: options)
        defer { Task { await gateway.stop() } }
        let partition = try gateway.log.createTopic("t").partitions[0]
        let total = 20_000
        // A subscriber with an 8 KiB receive buffer that reads nothing while 10 MB are appended.
        let port = gateway.port
        let client = try await blocking { try RawWebSocket(port: port, path: "/ws/topics/t") }
        let received = Received()
        received.append(try await blocking { try client.nextText() })
        // One record read first: the server's stream for this client is live, not replaying.
        try await appendNumbered(partition, 0..<1)
        received.append(try await blocking { try client.nextText() })
        for batch in stride(from: 1, to: total, by: 500) {
            try await appendNumbered(partition, batch..<min(total, batch + 500), padding: 400)
        }
        // The server's feed renders all of it (far past what the socket buffers hold) before the
        // client reads on.
        try await eventually("the feed to render every record") {
            try await gateway.metricsText().contains("firestream_ws_feed_end_offset{topic=\"t\",partition=\"0\"} \(total)")
        }
        while received.lastOffset < total - 1 { received.append(try await blocking { try client.nextText() }) }
        let gaps = received.notices.compactMap { $0["gap"] as? [String: Any] }
        #expect(!gaps.isEmpty)
        // Records and gaps together account for every offset exactly once, in order.
        var expected = 0
        for frame in received.all {
            if let gap = (frame as? [String: Any])?["gap"] as? [String: Any] {
                #expect(gap["from"] as? Int == expected)
                expected = gap["to"] as! Int
                continue
            }
            let records = (frame as? [[String: Any]]) ?? ((frame as? [String: Any])?["offset"] != nil ? [frame as! [String: Any]] : [])
            for record in records {
                #expect(record["offset"] as? Int == expected)
                expected += 1
            }
        }
        #expect(expected == total)
        #expect(try await gateway.metricsText().contains("firestream_ws_gaps_total \(gaps.count)"))
    }

    /// The server pings; a peer that never answers with a pong is disconnected.
    @Test func pingsAndClosesAPeerThatNeverAnswers() async throws {
        let gateway = try await LiveGateway(options: Gateway.Options(port: 0, pingInterval: .milliseconds(300)))
        defer { Task { await gateway.stop() } }
        _ = try gateway.log.createTopic("t")
        let port = gateway.port
        let started = ContinuousClock.now
        let opcodes = try await blocking { () -> [UInt8] in
            let client = try RawWebSocket(port: port, path: "/ws/topics/t")
            var seen: [UInt8] = []
            while seen.last != 0x8 {
                guard let frame = try? client.nextFrame() else { break }
                seen.append(frame.opcode)
            }
            return seen
        }
        #expect(opcodes.first == 0x1, "the subscribed notice")
        #expect(opcodes.contains(0x9), "a ping: \(opcodes)")
        #expect(opcodes.last == 0x8, "then a close frame: \(opcodes)")
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func webSocketIngestAcknowledgesEachMessageOnceDurable() async throws {
        let gateway = try await LiveGateway(keyPointers: ["t": "/id"])
        defer { Task { await gateway.stop() } }
        let topic = try gateway.log.createTopic("t", partitions: 2)
        let acks = Received()
        try await WebSocketClient.connect(url: "ws://127.0.0.1:\(gateway.port)/ws/ingest/t", logger: quietLogger) { inbound, outbound, _ in
            try await outbound.write(.text(#"{"id": "a", "v": 1}"#))
            try await outbound.write(.text(#"{"id": "a", "v": 2,}"#))
            try await outbound.write(.text(#"[{"id": "b"}, {"id": "c"}]"#))
            try await outbound.write(.binary(ByteBuffer(string: "{}")))
            for try await message in inbound.messages(maxSize: 1 << 20) {
                guard case .text(let text) = message else { continue }
                acks.append(text)
                if acks.all.count == 4 { break }
            }
            try await outbound.close(.normalClosure, reason: nil)
        }
        let answers = acks.all.map { $0 as! [String: Any] }
        #expect(answers.map { $0["seq"] as? Int } == [1, 2, 3, 4])
        #expect((answers[0]["records"] as? [[String: Int]])?.count == 1)
        #expect(answers[1]["status"] as? Int == 400)
        #expect((answers[1]["error"] as? String)?.contains("trailing comma") == true)
        #expect((answers[2]["records"] as? [[String: Int]])?.count == 2)
        #expect(answers[3]["status"] as? Int == 415)
        #expect(topic.recordCount == 3)
        let first = (answers[0]["records"] as! [[String: Int]])[0]
        #expect(first["partition"] == Murmur2.partition(for: Array("a".utf8), partitions: 2))
        #expect(try await gateway.send("GET", "/ws/ingest/missing").status == 404)
    }
}

extension LiveGateway {
    func metricsText() async throws -> String { try await send("GET", "/metrics").body }
}
