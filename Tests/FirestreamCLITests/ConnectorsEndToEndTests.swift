import FirestreamTesting
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `firestream up` with a project of topics, a signed ingest topic and a webhook effect: records
/// POSTed to one gateway flow out of the effect into another running `firestream up`.
@Suite(.serialized) struct ConnectorsEndToEndTests {
    @Test func webhookEffectDeliversIntoAnotherFirestream() async throws {
        // The receiver: one topic that accepts only requests signed with the shared secret.
        let receiver = TemporaryDirectory()
        try receiver.write(
            "firestream.json",
            #"{"name": "receiver", "topics": [{"name": "inbox", "signature": {"scheme": "hmac-sha256", "secretEnv": "SHARED_SECRET"}}]}"#)
        let receiving = try RuntimeCommandTests.Running(
            ["up", "--kafka-port", "0", "--port", "0", "--status-interval", "0"], in: receiver.url, environment: ["SHARED_SECRET": "s3cret"])
        defer { receiving.interrupt() }
        let receiverPort = try await receiving.port()

        // The sender: a topic, and an effect that POSTs its values, signed, to the receiver.
        let sender = TemporaryDirectory()
        try sender.write(
            "firestream.json",
            """
            {"name": "sender", "topics": [{"name": "outbox"}],
             "effects": [{"name": "forward", "kind": "webhook", "topic": "outbox", "body": "values", "batch": 10,
                          "url": "http://127.0.0.1:\(receiverPort)/topics/inbox", "signature": {"secretEnv": "SHARED_SECRET"}}]}
            """)
        let sending = try RuntimeCommandTests.Running(
            ["up", "--kafka-port", "0", "--port", "0", "--status-interval", "0"], in: sender.url, environment: ["SHARED_SECRET": "s3cret"])
        defer { sending.interrupt() }
        let senderPort = try await sending.port()
        #expect(sending.text.contains("app:    forward (webhook) outbox → http://127.0.0.1:\(receiverPort)/topics/inbox"))

        let body = (0..<25).map { "{\"n\":\($0)}" }.joined(separator: "\n")
        let posted = try await post("http://127.0.0.1:\(senderPort)/topics/outbox", body: body, contentType: "application/x-ndjson")
        #expect(posted == 200)
        let unsigned = try await post("http://127.0.0.1:\(receiverPort)/topics/inbox", body: "{}", contentType: "application/json")
        #expect(unsigned == 401)

        var received: [Int] = []
        let deadline = ContinuousClock.now + .seconds(20)
        while received.count < 25, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(receiverPort)/topics/inbox/records?limit=100")!)
            let records = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["records"] as? [[String: Any]] ?? []
            received = records.compactMap { ($0["value"] as? [String: Any])?["n"] as? Int }
        }
        #expect(received == Array(0..<25))
        let (metrics, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(receiverPort)/metrics")!)
        #expect(String(decoding: metrics, as: UTF8.self).contains("firestream_ingest_records_total 25"))
    }

    @Test func aMissingSecretStopsUpWithTheVariableNamed() async throws {
        let scratch = TemporaryDirectory()
        try scratch.write("firestream.json", #"{"topics": [{"name": "t", "signature": {"secretEnv": "FIRESTREAM_TEST_UNSET"}}]}"#)
        let outcome = try await FirestreamProcess.run(["up", "--kafka-port", "0", "--port", "0"], in: scratch.url)
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("FIRESTREAM_TEST_UNSET, which is not set; export FIRESTREAM_TEST_UNSET=<secret> before firestream up"))
    }

    private func post(_ url: String, body: String, contentType: String) async throws -> Int {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        let (_, response) = try await URLSession.shared.data(for: request)
        return (response as! HTTPURLResponse).statusCode
    }
}
