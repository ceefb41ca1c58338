import FirestreamLog
import FirestreamTesting
import Foundation
import KafkaWire
import Testing

@testable import FirestreamGateway

#if canImport(Glibc)
    import Glibc
#endif

/// A plain TCP connection to the gateway, for clients that misbehave on purpose.
final class RawConnection {
    let fd: Int32

    init(port: Int) throws {
        fd = try connectLoopback(port: port)
        var timeout = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func write(_ text: String) { _ = text.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }

    /// What arrived until now; nil once the server has closed the connection.
    func readAvailable() -> String? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &chunk, chunk.count, 0)
        if count == 0 { return nil }
        if count < 0 { return errno == EAGAIN || errno == EWOULDBLOCK ? "" : nil }
        return String(decoding: chunk[..<count], as: UTF8.self)
    }

    /// Reads until the server closes the connection (within `limit`); returns what it sent.
    func readUntilClosed(within limit: Duration = .seconds(20)) async throws -> String? {
        var text = ""
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            guard let piece = readAvailable() else { return text }
            text += piece
            if piece.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        }
        return nil
    }
}

@Suite(.serialized) struct LimitsTests {
    @Test func aClientThatTricklesItsHeadersIsClosed() async throws {
        let gateway = try await LiveGateway(options: Gateway.Options(port: 0, headerTimeout: .milliseconds(300)))
        defer { Task { await gateway.stop() } }
        let slow = try RawConnection(port: gateway.port)
        let started = ContinuousClock.now
        slow.write("GET /topics HTTP/1.1\r\nHost: loc")
        #expect(try await slow.readUntilClosed() != nil, "the connection stays open")
        #expect(ContinuousClock.now - started >= .milliseconds(300))
        // A client that finishes its request in time is served.
        #expect(try await gateway.send("GET", "/topics").status == 200)
        #expect(try await gateway.metricsText().contains("firestream_header_timeouts_total 1"))
    }

    /// After a response, a keep-alive connection that sends no new request head (or only part of
    /// one) is closed once idle for the timeout.
    @Test func anIdleKeepAliveConnectionIsClosed() async throws {
        let gateway = try await LiveGateway(options: Gateway.Options(port: 0, idleTimeout: .milliseconds(300)))
        defer { Task { await gateway.stop() } }
        let idle = try RawConnection(port: gateway.port)
        idle.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try await eventually("the first answer") { idle.readAvailable()?.contains("200 OK") ?? false }
        idle.write("GET /topics HTTP/1.1\r\nHo")
        #expect(try await idle.readUntilClosed() != nil, "the idle connection stays open")
        #expect(try await gateway.metricsText().contains("firestream_idle_timeouts_total 1"))
    }

    @Test func aBodyThatNeverArrivesGets408() async throws {
        let gateway = try await LiveGateway(options: Gateway.Options(port: 0, bodyTimeout: .milliseconds(300)))
        defer { Task { await gateway.stop() } }
        let topic = try gateway.log.createTopic("t")
        let slow = try RawConnection(port: gateway.port)
        slow.write("POST /topics/t HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":")
        let answer = try #require(try await slow.readUntilClosed())
        #expect(answer.hasPrefix("HTTP/1.1 408"))
        #expect(answer.contains("the body did not arrive within"))
        #expect(topic.recordCount == 0)
        #expect(try await gateway.metricsText().contains("firestream_body_timeouts_total 1"))
    }

    @Test func connectionsBeyondTheCapAreClosedAndCounted() async throws {
        let gateway = try await LiveGateway(options: Gateway.Options(port: 0, maxConnections: 3))
        defer { Task { await gateway.stop() } }
        var held = try (0..<3).map { _ in try RawConnection(port: gateway.port) }
        for connection in held { connection.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n") }
        for connection in held {
            try await eventually("an answer on a held connection") { connection.readAvailable().map { $0.contains("200 OK") } ?? false }
        }
        let fourth = try RawConnection(port: gateway.port)
        fourth.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try await fourth.readUntilClosed() == "", "closed on accept, unanswered")
        held.removeLast()
        // Once a place is free, connections are served again.
        try await eventually("a connection to be served after one closed") {
            let fresh = try RawConnection(port: gateway.port)
            fresh.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            // Refused connections close at once, unanswered; an admitted one answers, then closes.
            return try await fresh.readUntilClosed()?.contains("200 OK") ?? false
        }
        held.removeAll()
        try await eventually("the refusal to be counted") {
            (try? await gateway.metricsText())?.split(separator: "\n").contains {
                $0.hasPrefix("firestream_connections_refused_total ") && !$0.hasSuffix(" 0")
            } ?? false
        }
    }

    @Test func subscriptionsAndListingsAreBounded() async throws {
        let gateway = try await LiveGateway(options: Gateway.Options(port: 0, maxSubscriptionPartitions: 8, maxResponseBytes: 64 << 10))
        defer { Task { await gateway.stop() } }
        _ = try gateway.log.createTopic("wide", partitions: 9)
        let refused = try await gateway.send("GET", "/ws/topics/wide")
        #expect(refused.status == 400)
        #expect(
            try gateway.json(refused.body)["error"] as? String
                == "topic \"wide\" has 9 partitions, more than one subscription follows (8); subscribe per partition with ?partition=K")
        #expect(
            try await rawExchange(port: gateway.port, "GET /ws/topics/wide?partition=3 HTTP/1.1\nHost: localhost\n" + upgradeHeaders).status == 101)

        let big = try gateway.log.createTopic("big")
        let value = Array(("{\"pad\":\"" + String(repeating: "x", count: 10_000) + "\"}").utf8)
        for _ in 0..<4 { _ = try await big.append((0..<10).map { _ in ProducerRecord(key: nil, value: value, timestamp: 1) }) }
        let page = try await gateway.send("GET", "/topics/big/records?limit=10000")
        #expect(page.body.utf8.count <= 64 << 10 + 100)
        let json = try gateway.json(page.body)
        let count = (json["records"] as? [Any])?.count ?? 0
        #expect(count == 6)
        #expect(json["truncated"] as? Bool == true)
        #expect(json["next"] as? Int == count)
        // A record larger than the limit still comes, alone.
        let huge = try gateway.log.createTopic("huge")
        _ = try await huge.append([ProducerRecord(key: nil, value: Array(("\"" + String(repeating: "y", count: 100_000) + "\"").utf8), timestamp: 1)])
        #expect((try gateway.json(try await gateway.send("GET", "/topics/huge/records").body)["records"] as? [Any])?.count == 1)
    }

    /// A watched partition's ring stays within its budget, and is released once nobody watches.
    @Test func feedsStayWithinTheirBudgetAndAreReleasedWhenIdle() async throws {
        let gateway = try await LiveGateway(options: Gateway.Options(port: 0, feedBufferBytes: 1 << 20, feedIdleTimeout: .milliseconds(200)))
        defer { Task { await gateway.stop() } }
        let topic = try gateway.log.createTopic("t")
        func gauge(_ name: String) async throws -> Int {
            let line = try await gateway.metricsText().split(separator: "\n").first { $0.hasPrefix(name + " ") }
            // Gauges are rendered as floating point (`12.0`).
            return Double(line?.split(separator: " ").last ?? "").map { Int($0) } ?? -1
        }
        do {
            let port = gateway.port
            let subscriber = try await blocking { try RawWebSocket(port: port, path: "/ws/topics/t") }
            _ = try await blocking { try subscriber.nextFrame() }  // subscribed
            let value = Array(("{\"pad\":\"" + String(repeating: "z", count: 1000) + "\"}").utf8)
            for _ in 0..<160 { _ = try await topic.append((0..<50).map { _ in ProducerRecord(key: nil, value: value, timestamp: 1) }) }
            try await eventually("the feed to hold data") { (try? await gauge("firestream_ws_feed_bytes")) ?? 0 > 0 }
            #expect(try await gauge("firestream_ws_feeds") == 1)
            let held = try await gauge("firestream_ws_feed_bytes")
            // 8 MB were appended: the ring keeps its budget, plus at most the newest chunk's buffer.
            #expect(held <= 1 << 20 + 256 << 10, "the ring holds \(held) bytes")
            #expect(held >= 512 << 10, "the ring holds what its budget allows (\(held) bytes)")
            withExtendedLifetime(subscriber) {}
        }
        try await eventually("the idle feed to be released") { (try? await gauge("firestream_ws_feeds")) == 0 }
        #expect(try await gauge("firestream_ws_feed_bytes") == 0)
    }
}
