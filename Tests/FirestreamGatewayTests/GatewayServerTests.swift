import FirestreamFormats
import FirestreamJSON
import FirestreamLog
import FirestreamTesting
import FirestreamWarehouse
import Foundation
import KafkaWire
import Testing

@testable import FirestreamGateway

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A log and a gateway on a free loopback port, for one test.
final class LiveGateway: Sendable {
    let directory = TemporaryDirectory("firestream-gw")
    let log: Log
    let task: Task<Void, any Error>
    let port: Int

    init(
        options: Gateway.Options = Gateway.Options(port: 0), keyPointers: [String: String] = [:], signatures: [String: WebhookSignature] = [:],
        access: AccessPolicy = AccessPolicy(), sql: Bool = true, catalog: CatalogBuilder? = nil
    ) async throws {
        log = try Log(directory: directory.path)
        let gateway = Gateway(
            log: log, options: options, keyPointers: keyPointers.compactMapValues(JSONPointer.init), signatures: signatures, access: access,
            queries: sql ? SQLiteQueryEngine(log: log) : nil, catalog: catalog)
        let bound = Locked<Int?>(nil)
        task = Task { try await gateway.run { port in bound.withLock { $0 = port } } }
        let deadline = ContinuousClock.now + .seconds(30)
        while bound.withLock({ $0 }) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        port = try #require(bound.withLock { $0 })
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
        log.close()
    }

    /// Sends a request over real HTTP; returns the status and the body.
    func send(_ method: String, _ path: String, body: String? = nil, contentType: String? = "application/json", headers: [String: String] = [:])
        async throws -> (status: Int, body: String)
    {
        let answer = try await exchange(method, path, body: body, contentType: contentType, headers: headers)
        return (answer.status, answer.body)
    }

    /// Like `send`, with the response's headers too.
    func exchange(_ method: String, _ path: String, body: String? = nil, contentType: String? = "application/json", headers: [String: String] = [:])
        async throws -> (status: Int, body: String, headers: [String: String])
    {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        if let body { request.httpBody = Data(body.utf8) }
        if let contentType, body != nil { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        let fields = Dictionary(http.allHeaderFields.map { ("\($0.key)".lowercased(), "\($0.value)") }) { first, _ in first }
        return (http.statusCode, String(decoding: data, as: UTF8.self), fields)
    }

    func json(_ text: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    }
}

@Suite(.serialized) struct GatewayServerTests {
    @Test func ingestIsAcknowledgedOnceDurableAndReadableBack() async throws {
        let gateway = try await LiveGateway()
        defer { Task { await gateway.stop() } }
        let topic = try gateway.log.createTopic("events", partitions: 3)
        let one = try await gateway.send("POST", "/topics/events?key=user-1", body: #"{"click": "/docs"}"#)
        #expect(one.status == 200)
        let placed = try gateway.json(one.body)["records"] as! [[String: Int]]
        let partition = Murmur2.partition(for: Array("user-1".utf8), partitions: 3)
        #expect(placed == [["partition": partition, "offset": 0]])
        #expect(topic.partitions[partition].durableOffset == 1)

        let many = try await gateway.send(
            "POST", "/topics/events", body: "{\"n\":1}\n{\"n\":2}\n", contentType: "application/x-ndjson", headers: ["X-Firestream-Key": "user-2"])
        #expect(many.status == 200)
        #expect((try gateway.json(many.body)["records"] as! [[String: Int]]).count == 2)

        let read = try await gateway.send("GET", "/topics/events/records?partition=\(partition)&from=0&limit=10")
        #expect(read.status == 200)
        let records = try gateway.json(read.body)["records"] as! [[String: Any]]
        #expect(records.first?["key"] as? String == "user-1")
        #expect((records.first?["value"] as? [String: String]) == ["click": "/docs"])
        let listed = try await gateway.send("GET", "/topics")
        #expect(listed.body.contains(#"{"name":"events","partitions":3,"records":3}"#))
    }

    @Test func everyRefusalHasItsStatusAndNothingIsPartiallyAppended() async throws {
        let gateway = try await LiveGateway(options: Gateway.Options(port: 0, maxBodyBytes: 64))
        defer { Task { await gateway.stop() } }
        let topic = try gateway.log.createTopic("t")
        let malformed = try await gateway.send("POST", "/topics/t", body: "{\"n\":1}\n{\"n\":2,}\n", contentType: "application/x-ndjson")
        #expect(malformed.status == 400)
        #expect(try gateway.json(malformed.body)["error"] as? String == "malformed JSON at line 2, column 8: trailing comma before '}'")
        #expect(topic.recordCount == 0)
        let tooLarge = try await gateway.send("POST", "/topics/t", body: "[" + String(repeating: "1,", count: 40) + "1]")
        #expect(tooLarge.status == 413)
        let wrongType = try await gateway.send("POST", "/topics/t", body: "hello", contentType: "text/plain")
        #expect(wrongType.status == 415)
        let unknown = try await gateway.send("POST", "/topics/missing", body: "{}")
        #expect(unknown.status == 404)
        #expect(topic.recordCount == 0)
        #expect(try await gateway.send("GET", "/topics/missing/records").status == 404)
        #expect(try await gateway.send("GET", "/topics/t/records?partition=3").status == 400)
        #expect(try await gateway.send("GET", "/topics/t/records?from=abc").status == 400)
        #expect(try await gateway.send("GET", "/healthz").body == "ok\n")
    }

    @Test func autoCreateAndKeyPointers() async throws {
        let gateway = try await LiveGateway(options: Gateway.Options(port: 0, autoCreateTopics: true), keyPointers: ["readings": "/device_id"])
        defer { Task { await gateway.stop() } }
        let created = try await gateway.send("POST", "/topics/readings", body: #"[{"device_id": "a"}, {"device_id": "b"}]"#)
        #expect(created.status == 200)
        let records = try gateway.log.topic("readings").partitions[0].read(from: 0).records
        #expect(records.map { String(decoding: $0.key!, as: UTF8.self) } == ["a", "b"])
        let missing = try await gateway.send("POST", "/topics/readings", body: #"{"other": 1}"#)
        #expect(missing.status == 400)
        #expect(try gateway.json(missing.body)["error"] as? String == "the body: no value at the key pointer /device_id")
    }

    @Test func consumeWindows() async throws {
        let gateway = try await LiveGateway()
        defer { Task { await gateway.stop() } }
        let partition = try gateway.log.createTopic("t").partitions[0]
        try await partition.append((0..<20).map { ProducerRecord(key: nil, value: Array("\($0)".utf8), timestamp: 1) })
        let last = try gateway.json(try await gateway.send("GET", "/topics/t/records?from=-3").body)
        #expect((last["records"] as! [[String: Any]]).map { $0["offset"] as! Int } == [17, 18, 19])
        #expect(last["next"] as? Int == 20)
        let page = try gateway.json(try await gateway.send("GET", "/topics/t/records?from=5&limit=4").body)
        #expect((page["records"] as! [[String: Any]]).map { $0["value"] as! Int } == [5, 6, 7, 8])
        #expect(page["next"] as? Int == 9)
        let latest = try gateway.json(try await gateway.send("GET", "/topics/t/records?from=latest").body)
        #expect((latest["records"] as! [Any]).isEmpty)
    }
}
