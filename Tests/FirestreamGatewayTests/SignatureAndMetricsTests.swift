import FirestreamFormats
import FirestreamLog
import FirestreamTesting
import Foundation
import HTTPTypes
import Testing

@testable import FirestreamGateway

@Suite struct HMACTests {
    @Test func sha256AndHMACMatchPublishedVectors() {
        #expect(Hex.string(Digests.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hex.string(Digests.sha256([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(Hex.string(Digests.sha256(long)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // RFC 4231 test cases 1, 2 and 6.
        #expect(
            Digests.hmacHex(Array("Hi There".utf8), key: [UInt8](repeating: 0x0b, count: 20))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(
            Digests.hmacHex(Array("what do ya want for nothing?".utf8), key: Array("Jefe".utf8))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(
            Digests.hmacHex(Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8), key: [UInt8](repeating: 0xaa, count: 131))
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }
}

@Suite struct WebhookSignatureTests {
    let secret = Array("s3cret".utf8)
    let body = Array(#"{"id":1}"#.utf8)

    func fields(_ pairs: [String: String]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in pairs { fields[HTTPField.Name(name)!] = value }
        return fields
    }

    @Test func customHeadersAreTheOnlyOnesRead() {
        let check = WebhookSignature(scheme: .hmacSHA256(header: "X-Acme-Sig"), secret: secret)
        let signature = "sha256=" + Digests.hmacHex(body, key: secret)
        #expect(check.problem(body: body, headers: fields(["X-Acme-Sig": signature]), nowSeconds: 0) == nil)
        #expect(
            check.problem(
                body: body, headers: fields(["x-acme-sig": signature.uppercased().replacingOccurrences(of: "SHA256=", with: "sha256=")]),
                nowSeconds: 0) == nil)
        // The default header, or GitHub's, does not count for a topic configured with its own.
        #expect(
            check.problem(body: body, headers: fields(["X-Firestream-Signature": signature]), nowSeconds: 0)
                == "missing X-Acme-Sig header: this topic only accepts signed requests")
        #expect(check.problem(body: body, headers: fields(["X-Hub-Signature-256": signature]), nowSeconds: 0) != nil)
        #expect(
            check.problem(body: body, headers: fields(["X-Acme-Sig": "md5=" + signature.dropFirst(7)]), nowSeconds: 0)
                == "X-Acme-Sig must be sha256=<hex digest>")
    }

    @Test(arguments: [
        WebhookSignature.Scheme.github, .hmacSHA256(header: "X-Firestream-Signature"), .stripe(toleranceSeconds: 300),
    ])
    func whatTheEffectSignsTheGatewayAccepts(scheme: WebhookSignature.Scheme) {
        let signature = WebhookSignature(scheme: scheme, secret: secret)
        let now: Int64 = 1_800_000_000
        let value = signature.headerValue(signing: body, nowSeconds: now)
        #expect(signature.problem(body: body, headers: fields([signature.headerName: value]), nowSeconds: now) == nil)
        #expect(signature.problem(body: body + [0x20], headers: fields([signature.headerName: value]), nowSeconds: now) != nil)
        let other = WebhookSignature(scheme: scheme, secret: Array("other".utf8))
        #expect(other.problem(body: body, headers: fields([signature.headerName: value]), nowSeconds: now) != nil)
    }

    @Test func stripeTimestampsAreCheckedBothWaysWithoutOverflow() {
        let check = WebhookSignature(scheme: .stripe(toleranceSeconds: 300), secret: secret)
        func header(_ t: Int64) -> HTTPFields {
            fields(["Stripe-Signature": "t=\(t),v1=" + Digests.hmacHex(Array("\(t).".utf8) + body, key: secret)])
        }
        let now: Int64 = 1_800_000_000
        #expect(check.problem(body: body, headers: header(now + 299), nowSeconds: now) == nil)
        #expect(check.problem(body: body, headers: header(now - 300), nowSeconds: now) == nil)
        #expect(
            check.problem(body: body, headers: header(now + 301), nowSeconds: now)
                == "Stripe-Signature timestamp is 301 s away from now (tolerance 300 s)")
        #expect(
            check.problem(body: body, headers: header(now - 3600), nowSeconds: now)
                == "Stripe-Signature timestamp is 3600 s away from now (tolerance 300 s)")
        // What trapped before the HMAC was even checked.
        for extreme in [Int64.min, -Int64.max, Int64.max] {
            let problem = check.problem(body: body, headers: fields(["Stripe-Signature": "t=\(extreme),v1=00"]), nowSeconds: now)
            #expect(problem?.hasPrefix("Stripe-Signature timestamp is") == true, "\(extreme)")
        }
        #expect(
            check.problem(body: body, headers: fields(["Stripe-Signature": "t=99999999999999999999,v1=00"]), nowSeconds: now)
                == "Stripe-Signature must carry t=<timestamp> and v1=<hex digest>")
    }
}

@Suite struct StartPositionTests {
    @Test func everyInt64ParsesWithoutTrapping() throws {
        #expect(try StartPositions.parse(from: "-9223372036854775808", since: nil).get() == StartPositions(rule: .last(Int64.max)))
        #expect(try StartPositions.parse(from: "-9223372036854775807", since: nil).get() == StartPositions(rule: .last(Int64.max)))
        #expect(try StartPositions.parse(from: "9223372036854775807", since: nil).get() == StartPositions(rule: .offset(Int64.max)))
        #expect(try StartPositions.parse(from: "-5", since: nil).get() == StartPositions(rule: .last(5)))
        #expect(throws: QueryError.self) { try StartPositions.parse(from: "-9223372036854775809", since: nil).get() }
        #expect(throws: QueryError.self) { try StartPositions.parse(from: "0:-1", since: nil).get() }
        #expect(throws: QueryError.self) { try StartPositions.parse(from: nil, since: "9999999999999999999w").get() }
    }
}

@Suite(.serialized) struct SignedIngestTests {
    let secret = Array("s3cret".utf8)

    @Test func githubStyleSignaturesAreChecked() async throws {
        let gateway = try await LiveGateway(signatures: ["hooks": WebhookSignature(scheme: .github, secret: secret)])
        defer { Task { await gateway.stop() } }
        let topic = try gateway.log.createTopic("hooks")
        let body = #"{"action":"opened"}"#
        let unsigned = try await gateway.send("POST", "/topics/hooks", body: body)
        #expect(unsigned.status == 401)
        #expect(try gateway.json(unsigned.body)["error"] as? String == "missing X-Hub-Signature-256 header: this topic only accepts signed requests")
        let wrong = try await gateway.send(
            "POST", "/topics/hooks", body: body,
            headers: ["X-Hub-Signature-256": "sha256=" + Digests.hmacHex(Array(body.utf8), key: Array("other".utf8))])
        #expect(wrong.status == 401)
        let tampered = try await gateway.send(
            "POST", "/topics/hooks", body: body + " ", headers: ["X-Hub-Signature-256": "sha256=" + Digests.hmacHex(Array(body.utf8), key: secret)])
        #expect(tampered.status == 401)
        #expect(topic.recordCount == 0)
        let good = try await gateway.send(
            "POST", "/topics/hooks", body: body, headers: ["X-Hub-Signature-256": "sha256=" + Digests.hmacHex(Array(body.utf8), key: secret)])
        #expect(good.status == 200)
        #expect(topic.recordCount == 1)
        #expect(try await gateway.send("GET", "/ws/ingest/hooks").status == 401)
        let metrics = try await gateway.metricsText()
        #expect(metrics.contains("firestream_signature_failures_total 3"))
        #expect(metrics.contains("firestream_http_responses_total{code=\"401\"} 4"))
    }

    @Test func stripeStyleSignaturesCheckTheTimestamp() async throws {
        let gateway = try await LiveGateway(signatures: ["pay": WebhookSignature(scheme: .stripe(toleranceSeconds: 300), secret: secret)])
        defer { Task { await gateway.stop() } }
        let topic = try gateway.log.createTopic("pay")
        let body = #"{"type":"charge.succeeded"}"#
        let now = Int64(Date().timeIntervalSince1970)
        func header(_ t: Int64) -> String { "t=\(t),v1=" + Digests.hmacHex(Array("\(t).\(body)".utf8), key: secret) }
        #expect(try await gateway.send("POST", "/topics/pay", body: body, headers: ["Stripe-Signature": header(now)]).status == 200)
        let stale = try await gateway.send("POST", "/topics/pay", body: body, headers: ["Stripe-Signature": header(now - 3600)])
        #expect(stale.status == 401)
        #expect((try gateway.json(stale.body)["error"] as? String)?.contains("tolerance 300 s") == true)
        #expect(try await gateway.send("POST", "/topics/pay", body: body, headers: ["Stripe-Signature": "t=\(now)"]).status == 401)
        #expect(topic.recordCount == 1)
    }
}

@Suite(.serialized) struct DashboardAndMetricsTests {
    @Test func dashboardExplainsAMissingPlotly() async throws {
        let gateway = try await LiveGateway(
            options: Gateway.Options(port: 0, plotly: .missing("Plotly.js was not found: the Python package plotly is not installed for python3.")))
        defer { Task { await gateway.stop() } }
        let page = try await gateway.send("GET", "/")
        #expect(page.status == 503)
        #expect(page.body.contains("python3 -m pip install plotly"))
        #expect(page.body.contains("not installed for python3"))
        #expect(try await gateway.send("GET", "/plotly.min.js").status == 404)
    }

    @Test func dashboardAndItsScriptAreServed() async throws {
        let scratch = TemporaryDirectory("plotly")
        try scratch.write("plotly.min.js", "window.Plotly = {};")
        let script = scratch.url.appendingPathComponent("plotly.min.js").path
        let gateway = try await LiveGateway(options: Gateway.Options(port: 0, plotly: PlotlyAsset.locate(explicit: script)))
        defer { Task { await gateway.stop() } }
        let page = try await gateway.send("GET", "/")
        #expect(page.status == 200)
        #expect(page.body.contains("<script src=\"/plotly.min.js\"></script>"))
        #expect(try await gateway.send("GET", "/plotly.min.js").body == "window.Plotly = {};")
        #expect(
            PlotlyAsset.locate(explicit: "/nonexistent/plotly.js")
                == .missing("Plotly.js was not found at /nonexistent/plotly.js (given with --plotly-js or FIRESTREAM_PLOTLY_JS)."))
    }

    @Test func metricsCoverTheLogTheAppsAndTheGateway() async throws {
        let scratch = try ScratchLog()
        let log = scratch.log
        let partition = try log.createTopic("in").partitions[0]
        try await appendNumbered(partition, 0..<10)
        // A consumer group (a Kafka client's, or an effect's) that committed 3 of the 10.
        try await log.consumerOffsets.commit(group: "plots", topic: "in", partition: 0, offset: 3)
        let metrics = GatewayMetrics()
        metrics.recordResponse(200)
        metrics.recordResponse(404)
        metrics.recordResponse(200)
        let text = metrics.render(
            log: log, apps: [GatewayMetrics.AppPosition(app: "wiener", topic: "in", partition: 0, next: 4)], feedEnds: [("in", 0, 10)])
        #expect(text.contains("firestream_log_end_offset{topic=\"in\",partition=\"0\"} 10"))
        // Every family is described, and the text is what Prometheus parses: HELP, TYPE, samples.
        for (name, help) in GatewayMetrics.help {
            #expect(text.contains("# HELP \(name) \(help)\n# TYPE \(name) "), "\(name)")
        }
        // The end offset is a counter that follows the log; series of figures that are gone go too.
        try await appendNumbered(partition, 10..<15)
        let later = metrics.render(log: log, apps: [])
        #expect(later.contains("firestream_log_end_offset{topic=\"in\",partition=\"0\"} 15"))
        #expect(text.contains("firestream_consumer_group_lag_records{group=\"plots\",topic=\"in\",partition=\"0\"} 7"))
        #expect(later.contains("firestream_consumer_group_lag_records{group=\"plots\",topic=\"in\",partition=\"0\"} 12"))
        #expect(!later.contains("firestream_app_lag_records{"))
        #expect(!later.contains("firestream_ws_feed_end_offset{"))
        #expect(text.contains("firestream_app_lag_records{app=\"wiener\",topic=\"in\",partition=\"0\"} 6"))
        #expect(text.contains("firestream_http_responses_total{code=\"200\"} 2"))
        #expect(text.contains("firestream_http_responses_total{code=\"404\"} 1"))
        #expect(text.contains("# TYPE firestream_ws_clients gauge"))
    }
}
