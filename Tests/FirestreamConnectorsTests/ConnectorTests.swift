import FirestreamFormats
import FirestreamJSON
import FirestreamLog
import FirestreamStreams
import FirestreamTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import KafkaWire
import NIOCore
import Synchronization
import Testing

@testable import FirestreamConnectors
@testable import FirestreamGateway

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A real HTTP (and WebSocket) server on a free loopback port, for one test.
final class TestServer: Sendable {
    let task: Task<Void, any Error>
    let port: Int

    init(_ build: (Router<BasicWebSocketRequestContext>) -> Void) async throws {
        let router = Router(context: BasicWebSocketRequestContext.self)
        build(router)
        let bound = Locked<Int?>(nil)
        let application = Application(
            router: router, server: .http1WebSocketUpgrade(webSocketRouter: router),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in bound.withLock { $0 = channel.localAddress?.port } })
        task = Task { try await application.run() }
        let deadline = ContinuousClock.now + .seconds(30)
        while bound.withLock({ $0 }) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        port = try #require(bound.withLock { $0 })
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}

/// What a test server saw.
final class Seen: Sendable {
    struct Request: Sendable {
        var body: String
        var headers: HTTPFields
        var at: ContinuousClock.Instant
    }
    private let requests = Locked<[Request]>([])
    func add(_ body: String, _ headers: HTTPFields) { requests.withLock { $0.append(Request(body: body, headers: headers, at: .now)) } }
    var all: [Request] { requests.withLock { $0 } }
    var count: Int { requests.withLock { $0.count } }
}

func appendValues(_ topic: Topic, _ range: Range<Int>) async throws {
    _ = try await topic.append(range.map { ProducerRecord(key: Array("k\($0)".utf8), value: Array("{\"n\":\($0)}".utf8), timestamp: 1) })
}

/// Waits for `condition`; the limit is a safety net for a machine loaded by the rest of the suite
/// (two CI runs saw these HTTP exchanges take over 20 s while many servers, workers and a browser
/// started), not an expectation.
func waitUntil(_ seconds: Int = 90, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
}

func effectConfig(_ url: String, _ configure: (inout WebhookEffect.Options) -> Void = { _ in }) -> WebhookEffect.Options {
    var options = WebhookEffect.Options(name: "hook", topic: "events", url: url)
    options.backoff = RetrySchedule(initialMilliseconds: 10, maxMilliseconds: 50)
    configure(&options)
    return options
}

func numbers(in bodies: [String]) -> [Int] {
    bodies.flatMap { body -> [Int] in
        let items = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [[String: Any]] ?? []
        return items.compactMap { ($0["value"] as? [String: Any])?["n"] as? Int ?? $0["n"] as? Int }
    }
}

@Suite(.serialized) struct WebhookEffectTests {
    @Test func deliversSignedBatchesAndCommitsAfterSuccess() async throws {
        let seen = Seen()
        let server = try await TestServer { router in
            router.post("hook") { request, _ -> HTTPResponse.Status in
                var request = request
                seen.add(String(buffer: try await request.collectBody(upTo: 1 << 22)), request.headers)
                return .noContent
            }
        }
        defer { Task { await server.stop() } }
        let scratch = try ScratchLog()
        let topic = try scratch.log.createTopic("events", partitions: 1)
        try await appendValues(topic, 0..<250)
        let signature = WebhookSignature(scheme: .hmacSHA256(header: "X-Signature"), secret: Array("k3y".utf8))
        // A generous per-request timeout: on a loaded CI machine a 10 s one once expired on a request
        // the server had received, and the retry (at least once, as documented) broke the exact count.
        let effect = WebhookEffect(
            effectConfig(server.url + "/hook") {
                $0.signature = signature
                $0.timeout = TimeSpan.parse("60s")!
            })
        let running = Task { try await effect.run(EmbeddedStorage(scratch.log)) }
        try await waitUntil { effect.counters.outputs.load(ordering: .relaxed) == 250 }
        running.cancel()
        _ = try? await running.value
        let requests = seen.all
        #expect(requests.count == 3)
        #expect(numbers(in: requests.map(\.body)) == Array(0..<250))
        for request in requests {
            #expect(request.headers[HTTPField.Name("X-Signature")!] == "sha256=" + Digests.hmacHex(Array(request.body.utf8), key: Array("k3y".utf8)))
        }
        #expect(scratch.log.consumerOffsets.committed(group: "effect-hook", topic: "events", partition: 0) == 250)

        // A new instance resumes after the committed offset: only new records are sent.
        try await appendValues(topic, 250..<260)
        let again = WebhookEffect(effectConfig(server.url + "/hook") { $0.signature = signature })
        let resumed = Task { try await again.run(EmbeddedStorage(scratch.log)) }
        try await waitUntil { again.counters.outputs.load(ordering: .relaxed) == 10 }
        resumed.cancel()
        _ = try? await resumed.value
        #expect(numbers(in: seen.all.dropFirst(3).map(\.body)) == Array(250..<260))
    }

    @Test func retriesHonourRetryAfterAndRecoverFromErrors() async throws {
        let seen = Seen()
        let server = try await TestServer { router in
            router.post("hook") { request, _ -> Response in
                var request = request
                seen.add(String(buffer: try await request.collectBody(upTo: 1 << 22)), request.headers)
                switch seen.count {
                case 1: return Response(status: .tooManyRequests, headers: [.retryAfter: "1"])
                case 2, 3: return Response(status: .internalServerError)
                default: return Response(status: .ok)
                }
            }
        }
        defer { Task { await server.stop() } }
        let scratch = try ScratchLog()
        let topic = try scratch.log.createTopic("events")
        try await appendValues(topic, 0..<5)
        let effect = WebhookEffect(effectConfig(server.url + "/hook") { $0.body = .values })
        let running = Task { try await effect.run(EmbeddedStorage(scratch.log)) }
        try await waitUntil { effect.counters.outputs.load(ordering: .relaxed) == 5 }
        running.cancel()
        _ = try? await running.value
        let requests = seen.all
        #expect(requests.count == 4)
        #expect(requests[1].at - requests[0].at >= .milliseconds(950), "waited as Retry-After asked")
        #expect(requests.allSatisfy { $0.body == #"[{"n":0},{"n":1},{"n":2},{"n":3},{"n":4}]"# })
        #expect(effect.counters.deadLetters.load(ordering: .relaxed) == 0)
    }

    @Test func slowServersTimeOutAndAreRetried() async throws {
        let seen = Seen()
        let server = try await TestServer { router in
            router.post("hook") { request, _ -> HTTPResponse.Status in
                var request = request
                seen.add(String(buffer: try await request.collectBody(upTo: 1 << 22)), request.headers)
                if seen.count == 1 { try await Task.sleep(for: .seconds(20)) }
                return .ok
            }
        }
        defer { Task { await server.stop() } }
        let scratch = try ScratchLog()
        try await appendValues(try scratch.log.createTopic("events"), 0..<3)
        // A timeout long enough that the fast second answer makes it on a loaded machine.
        let effect = WebhookEffect(effectConfig(server.url + "/hook") { $0.timeout = .parse("1s")! })
        let started = ContinuousClock.now
        let running = Task { try await effect.run(EmbeddedStorage(scratch.log)) }
        try await waitUntil { effect.counters.outputs.load(ordering: .relaxed) == 3 }
        running.cancel()
        _ = try? await running.value
        #expect(seen.count == 2)
        #expect(ContinuousClock.now - started < .seconds(20), "the retry did not wait for the slow answer")
    }

    @Test func persistentFailuresGoToTheDeadLetterTopic() async throws {
        let server = try await TestServer { router in
            router.post("down") { _, _ -> HTTPResponse.Status in .badGateway }
            router.post("refuses") { _, _ -> HTTPResponse.Status in .unprocessableContent }
        }
        defer { Task { await server.stop() } }
        let scratch = try ScratchLog()
        try await appendValues(try scratch.log.createTopic("events"), 0..<4)
        let attempts = Atomic<Int>(0)
        let effect = WebhookEffect(
            effectConfig(server.url + "/down") {
                $0.maxAttempts = 3
                $0.batch = 2
            },
            sleep: { _ in attempts.add(1, ordering: .relaxed) })
        let running = Task { try await effect.run(EmbeddedStorage(scratch.log)) }
        try await waitUntil { effect.counters.deadLetters.load(ordering: .relaxed) == 4 }
        running.cancel()
        _ = try? await running.value
        #expect(attempts.load(ordering: .relaxed) == 4, "two sleeps between three attempts, for each of two batches")
        let dead = try scratch.log.topic("hook.dlq").partitions[0].read(from: 0).records
        #expect(dead.map { String(decoding: $0.value!, as: UTF8.self) } == (0..<4).map { "{\"n\":\($0)}" })
        let error = dead[0].headers.first { $0.key == "firestream.error" }.map { String(decoding: $0.value!, as: UTF8.self) }
        #expect(error == "3 attempts failed, the last with HTTP 502")
        #expect(dead[0].headers.contains(RecordHeader(key: "firestream.source", value: Array("events/0/0".utf8))))
        #expect(scratch.log.consumerOffsets.committed(group: "effect-hook", topic: "events", partition: 0) == 4)

        // A 4xx other than 408/429 is not retried.
        let refused = WebhookEffect(
            effectConfig(server.url + "/refuses") {
                $0.name = "strict"
                $0.deadLetter = "strict.dlq"
            })
        let second = Task { try await refused.run(EmbeddedStorage(scratch.log)) }
        try await waitUntil { refused.counters.deadLetters.load(ordering: .relaxed) == 4 }
        second.cancel()
        _ = try? await second.value
        let strict = try scratch.log.topic("strict.dlq").partitions[0].read(from: 0).records
        #expect(strict.first?.headers.first?.value.map { String(decoding: $0, as: UTF8.self) }?.hasPrefix("HTTP 422") == true)
    }

    @Test func backoffDoublesWithJitterAndReadsRetryAfter() {
        let schedule = RetrySchedule(initialMilliseconds: 100, maxMilliseconds: 1000)
        #expect((1...6).map { schedule.ceiling(afterAttempt: $0) } == [100, 200, 400, 800, 1000, 1000])
        #expect(schedule.delay(afterAttempt: 3, random: 0) == 200)
        #expect(schedule.delay(afterAttempt: 3, random: 1) == 400)
        #expect(RetrySchedule.retryAfter("7") == 7000)
        let now = Date(timeIntervalSince1970: 1_445_412_480)
        #expect(RetrySchedule.retryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now: now) == 30_000)
        #expect(RetrySchedule.retryAfter("soon") == nil)
        // A server cannot make us wait forever, or overflow the arithmetic.
        #expect(RetrySchedule.retryAfter("9223372036854775807") == RetrySchedule.maxRetryAfterMilliseconds)
        #expect(RetrySchedule.retryAfter("99999999999999999999999") == RetrySchedule.maxRetryAfterMilliseconds)
        #expect(RetrySchedule.retryAfter("Fri, 31 Dec 9999 23:59:59 GMT", now: now) == RetrySchedule.maxRetryAfterMilliseconds)
        #expect(RetrySchedule.retryAfter("-5") == nil)
    }
}

@Suite(.serialized) struct SourceTests {
    @Test func restPollingUsesETagsAndSkipsSeenItems() async throws {
        let seen = Seen()
        let server = try await TestServer { router in
            router.get("items") { request, _ -> Response in
                seen.add("", request.headers)
                let version = seen.count < 3 ? "\"v1\"" : "\"v2\""
                if request.headers[.ifNoneMatch] == version { return Response(status: .notModified) }
                let body =
                    seen.count < 3
                    ? #"{"data": [{"id": 1, "dev": "a"}, {"id": 2, "dev": "b"}]}"# : #"{"data": [{"id": 2, "dev": "b"}, {"id": 3, "dev": "c"}]}"#
                return Response(
                    status: .ok, headers: [.eTag: version, .contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
            }
        }
        defer { Task { await server.stop() } }
        let scratch = try ScratchLog()
        var config = RestPollingSource.Options(name: "poller", topic: "items", url: server.url + "/items")
        config.interval = .parse("50ms")!
        config.items = JSONPointer("/data")
        config.dedupe = JSONPointer("/id")
        config.key = JSONPointer("/dev")
        let source = RestPollingSource(config)
        let running = Task { try await source.run(EmbeddedStorage(scratch.log)) }
        try await waitUntil { seen.count >= 5 }
        running.cancel()
        _ = try? await running.value
        #expect(seen.all[1].headers[.ifNoneMatch] == "\"v1\"")
        let records = try scratch.log.topic("items").partitions[0].read(from: 0).records
        #expect(
            records.map { String(decoding: $0.value!, as: UTF8.self) } == [#"{"id":1,"dev":"a"}"#, #"{"id":2,"dev":"b"}"#, #"{"id":3,"dev":"c"}"#])
        #expect(records.map { String(decoding: $0.key!, as: UTF8.self) } == ["a", "b", "c"])

        // Restarted, it remembers what the topic already holds.
        let restarted = RestPollingSource(config)
        let again = Task { try await restarted.run(EmbeddedStorage(scratch.log)) }
        try await waitUntil { restarted.counters.records.load(ordering: .relaxed) >= 2 }
        again.cancel()
        _ = try? await again.value
        #expect(try scratch.log.topic("items").recordCount == 3)
    }

    @Test func webSocketSourceAppendsMessagesAndReconnects() async throws {
        let connections = Atomic<Int>(0)
        let server = try await TestServer { router in
            router.ws("feed") { inbound, outbound, _ in
                let number = connections.add(1, ordering: .relaxed).newValue
                // Waits for the client's subscription, answers with two readings and a bad message, then hangs up.
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message, text == #"{"subscribe":"all"}"# else { continue }
                    try await outbound.write(.text(#"{"dev": "a", "v": \#(number)}"#))
                    try await outbound.write(.text(#"[{"dev": "b", "v": \#(number)}]"#))
                    try await outbound.write(.text("not json"))
                    return
                }
            }
        }
        defer { Task { await server.stop() } }
        let scratch = try ScratchLog()
        var config = WebSocketSource.Options(name: "feed", topic: "readings", url: "ws://127.0.0.1:\(server.port)/feed")
        config.subscribe = #"{"subscribe":"all"}"#
        config.key = JSONPointer("/dev")
        config.reconnect = RetrySchedule(initialMilliseconds: 20, maxMilliseconds: 100)
        let lines = Locked<[String]>([])
        let source = WebSocketSource(config) { line in lines.withLock { $0.append(line) } }
        let running = Task { try await source.run(EmbeddedStorage(scratch.log)) }
        try await waitUntil { source.counters.deadLetters.load(ordering: .relaxed) >= 2 }
        running.cancel()
        _ = try? await running.value
        #expect(connections.load(ordering: .relaxed) >= 2)
        let records = try scratch.log.topic("readings").partitions[0].read(from: 0).records.prefix(4)
        #expect(
            records.map { String(decoding: $0.value!, as: UTF8.self) } == [
                #"{"dev":"a","v":1}"#, #"{"dev":"b","v":1}"#, #"{"dev":"a","v":2}"#, #"{"dev":"b","v":2}"#,
            ])
        let dead = try scratch.log.topic("feed.dlq").partitions[0].read(from: 0).records
        #expect(dead.first.map { String(decoding: $0.value!, as: UTF8.self) } == "not json")
        #expect(lines.withLock { $0 }.contains { $0.contains("reconnecting in") })
    }
}

@Suite(.serialized) struct ResponseLimitTests {
    /// A remote server cannot make a connector buffer more than it accepts: the answer is cut
    /// off, with the reason, whether or not it says how large it is.
    @Test func remoteResponsesAreReadUpToALimit() async throws {
        let big = String(repeating: "x", count: 2 << 20)
        let server = try await TestServer { router in
            router.get("sized") { _, _ in big }
            router.get("streamed") { _, _ in
                Response(
                    status: .ok,
                    body: ResponseBody { writer in
                        for _ in 0..<64 { try await writer.write(ByteBuffer(string: String(repeating: "y", count: 32 << 10))) }
                        try await writer.finish(nil)
                    })
            }
            router.get("small") { _, _ in "fine" }
        }
        let exchange = HTTPExchange()
        for path in ["sized", "streamed"] {
            let request = URLRequest(url: URL(string: "\(server.url)/\(path)")!)
            switch await exchange.send(request, timeout: .seconds(20), maxBodyBytes: 64 << 10) {
            case .success(let reply): Issue.record("\(path): a \(reply.body.count)-byte body was accepted")
            case .failure(let problem): #expect(problem.description.contains("than the 65536"), "\(path): \(problem)")
            }
        }
        switch await exchange.send(URLRequest(url: URL(string: "\(server.url)/small")!), timeout: .seconds(20), maxBodyBytes: 64 << 10) {
        case .success(let reply): #expect(String(decoding: reply.body, as: UTF8.self) == "fine")
        case .failure(let problem): Issue.record("\(problem)")
        }
        await server.stop()
    }
}
