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

/// The `airflow` effect against a stand-in for Airflow's API (the real one runs in
/// `AirflowTests`): sign-in, the asset lookup, expired tokens, an asset Airflow does not know.
@Suite(.serialized) struct AirflowEffectTests {
    /// Answers like Airflow 3: `POST /auth/token`, `GET /api/v2/assets`, `POST /api/v2/assets/events`.
    final class FakeAirflow: Sendable {
        let signIns = Locked<[String]>([])
        let lookups = Locked(0)
        let events = Locked<[(authorization: String, body: String)]>([])
        /// Lookups answered with no asset before the asset shows up (a DAG not parsed yet).
        let unknownFor: Int
        let server: TestServer

        init(unknownFor: Int = 0, expireFirstToken: Bool = false) async throws {
            let signIns = self.signIns
            let lookups = self.lookups
            let events = self.events
            self.unknownFor = unknownFor
            server = try await TestServer { router in
                router.post("auth/token") { request, _ -> Response in
                    var request = request
                    let body = String(buffer: try await request.collectBody(upTo: 1 << 16))
                    let count = signIns.withLock {
                        $0.append(body)
                        return $0.count
                    }
                    guard body.contains("\"password\":\"pw\"") || body.contains("\"password\" : \"pw\"") else {
                        return Response(status: .unauthorized)
                    }
                    return Response(
                        status: .created, headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: "{\"access_token\":\"token-\(count)\"}")))
                }
                router.get("api/v2/assets") { request, _ -> Response in
                    let seen = lookups.withLock {
                        $0 += 1
                        return $0
                    }
                    let known = seen > unknownFor && request.uri.queryParameters["uri_pattern"] == "firestream://topics/events"
                    let assets = known ? #"[{"id": 7, "name": "events", "uri": "firestream://topics/events"}]"# : "[]"
                    return Response(
                        status: .ok, headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: "{\"assets\":\(assets),\"total_entries\":0}")))
                }
                router.post("api/v2/assets/events") { request, _ -> HTTPResponse.Status in
                    var request = request
                    let authorization = request.headers[.authorization] ?? ""
                    let body = String(buffer: try await request.collectBody(upTo: 1 << 22))
                    events.withLock { $0.append((authorization, body)) }
                    return expireFirstToken && authorization == "Bearer token-1" ? .unauthorized : .ok
                }
            }
        }
    }

    func options(_ url: String, _ configure: (inout WebhookEffect.Options) -> Void = { _ in }) -> WebhookEffect.Options {
        var options = effectConfig(url)
        options.airflow = AirflowTarget(asset: "firestream://topics/events", username: "firestream", password: "pw")
        configure(&options)
        return options
    }

    @Test func eachBatchIsOneAssetEventAndAnExpiredTokenIsRenewed() async throws {
        let airflow = try await FakeAirflow(unknownFor: 1, expireFirstToken: true)
        defer { Task { await airflow.server.stop() } }
        let scratch = try ScratchLog()
        let topic = try scratch.log.createTopic("events", partitions: 1)
        try await appendValues(topic, 0..<5)
        let effect = WebhookEffect(options(airflow.server.url) { $0.batch = 3 })
        #expect(effect.summary.contains("(airflow) events → Airflow at \(airflow.server.url), asset firestream://topics/events"))
        let running = Task { try await effect.run(EmbeddedStorage(scratch.log)) }
        try await waitUntil { effect.counters.outputs.load(ordering: .relaxed) == 5 }
        running.cancel()
        _ = try? await running.value
        #expect(effect.counters.deadLetters.load(ordering: .relaxed) == 0)
        // Signed in, refused once (token-1 "expired"), signed in again; the asset was unknown at first.
        #expect(airflow.signIns.withLock { $0 }.count == 2)
        #expect(airflow.lookups.withLock { $0 } == 2)
        let events = airflow.events.withLock { $0 }
        #expect(events.map(\.authorization) == ["Bearer token-1", "Bearer token-2", "Bearer token-2"])
        let delivered = events.dropFirst().map { try? JSONSerialization.jsonObject(with: Data($0.body.utf8)) as? [String: Any] }
        #expect(delivered.map { $0?["asset_id"] as? Int } == [7, 7])
        let extras = delivered.map { $0?["extra"] as? [String: Any] }
        #expect(extras.map { ($0?["firestream"] as? [String: Any])?["from"] as? Int } == [0, 3])
        #expect(extras.map { ($0?["firestream"] as? [String: Any])?["count"] as? Int } == [3, 2])
        #expect(extras.flatMap { ($0?["values"] as? [[String: Int]] ?? []).compactMap { $0["n"] } } == [0, 1, 2, 3, 4])
        #expect(scratch.log.consumerOffsets.committed(group: "effect-hook", topic: "events", partition: 0) == 5)
    }

    @Test func anAssetAirflowNeverKnowsSendsTheBatchToTheDeadLetterTopicWithTheReason() async throws {
        let airflow = try await FakeAirflow(unknownFor: .max)
        defer { Task { await airflow.server.stop() } }
        let scratch = try ScratchLog()
        let topic = try scratch.log.createTopic("events", partitions: 1)
        try await appendValues(topic, 0..<2)
        let effect = WebhookEffect(options(airflow.server.url) { $0.maxAttempts = 3 })
        let running = Task { try await effect.run(EmbeddedStorage(scratch.log)) }
        try await waitUntil { effect.counters.deadLetters.load(ordering: .relaxed) == 2 }
        running.cancel()
        _ = try? await running.value
        #expect(airflow.lookups.withLock { $0 } == 3)
        #expect(airflow.events.withLock { $0 }.isEmpty)
        let dead = try scratch.log.topic("hook.dlq").partitions[0].read(from: 0).records
        let reason = dead.first?.headers.first { $0.key == "firestream.error" }.map { String(decoding: $0.value!, as: UTF8.self) } ?? ""
        #expect(reason.contains("Airflow knows no asset firestream://topics/events yet"), "\(reason)")
    }

    @Test func aWrongPasswordIsNamedInTheDeadLetter() async throws {
        let airflow = try await FakeAirflow()
        defer { Task { await airflow.server.stop() } }
        let scratch = try ScratchLog()
        let topic = try scratch.log.createTopic("events", partitions: 1)
        try await appendValues(topic, 0..<1)
        let effect = WebhookEffect(
            options(airflow.server.url) {
                $0.maxAttempts = 2
                $0.airflow?.password = "wrong"
            })
        let running = Task { try await effect.run(EmbeddedStorage(scratch.log)) }
        try await waitUntil { effect.counters.deadLetters.load(ordering: .relaxed) == 1 }
        running.cancel()
        _ = try? await running.value
        let dead = try scratch.log.topic("hook.dlq").partitions[0].read(from: 0).records
        let reason = dead.first?.headers.first { $0.key == "firestream.error" }.map { String(decoding: $0.value!, as: UTF8.self) } ?? ""
        #expect(reason.contains("Airflow refused to sign in as firestream: HTTP 401"), "\(reason)")
    }
}
