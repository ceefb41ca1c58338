import FirestreamDemo
import FirestreamJSON
import FirestreamLog
import FirestreamPython
import FirestreamStreams
import FirestreamTesting
import Foundation
import KafkaWire
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Apps written in Python, run by the real `firestream up` with real worker processes.
@Suite(.serialized) struct PythonAppTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The package from this checkout, whatever else is installed.
    static let environment = ["PYTHONPATH": repository.appending(path: "python").path]

    /// A project folder with the example apps and `config`.
    static func project(_ config: String) throws -> TemporaryDirectory {
        let scratch = TemporaryDirectory("fs-python")
        let apps = scratch.url.appending(path: "apps")
        try FileManager.default.createDirectory(at: apps, withIntermediateDirectories: true)
        for file in ["wiener.py", "sessions.py"] {
            try FileManager.default.copyItem(at: repository.appending(path: "examples/python/apps/\(file)"), to: apps.appending(path: file))
        }
        try scratch.write("firestream.json", config)
        return scratch
    }

    static func records(_ topic: String, in data: String) throws -> [ConsumerRecord] {
        let log = try Log(directory: data)
        defer { log.close() }
        return try drain(log.topic(topic).partitions[0])
    }

    @Test func thePythonWienerWritesTheSwiftWienersBytes() async throws {
        let scratch = try Self.project(
            """
            {"name": "twins", "topics": [{"name": "metronome"}],
             "apps": [{"name": "metronome", "kind": "metronome", "settings": {"devices": 5}},
                      {"name": "swift", "kind": "wiener", "settings": {"output": "wiener-swift"}},
                      {"name": "py", "kind": "python", "settings": {"module": "apps/wiener.py:Wiener"}}]}
            """)
        let data = scratch.url.appending(path: "data").path
        let up = try RuntimeCommandTests.Running(
            ["up", "--no-http", "--no-kafka", "--rate", "400", "--status-interval", "1", "--data-dir", data], in: scratch.url,
            environment: Self.environment)
        try await up.waitFor(app: "py", outputs: 3000)
        #expect(up.stop() == 0, "\(up.text)")
        let swift = try Self.records("wiener-swift", in: data)
        let python = try Self.records("wiener", in: data)
        let compared = min(swift.count, python.count)
        #expect(compared >= 3000)
        #expect(
            zip(swift, python).allSatisfy { $0.value == $1.value && $0.key == $1.key }, "the first difference: \(Self.firstDifference(swift, python))"
        )
    }

    static func firstDifference(_ a: [ConsumerRecord], _ b: [ConsumerRecord]) -> String {
        guard let index = a.indices.first(where: { $0 < b.count && (a[$0].value != b[$0].value || a[$0].key != b[$0].key) }) else { return "none" }
        return "offset \(index): \(String(decoding: a[index].value ?? [], as: UTF8.self)) vs \(String(decoding: b[index].value ?? [], as: UTF8.self))"
    }

    @Test func timersFireForIdleKeysAndWhatRaisesIsADeadLetterWithItsTraceback() async throws {
        let scratch = try Self.project(
            """
            {"name": "clicks", "topics": [{"name": "clicks", "key": "/user"}],
             "apps": [{"name": "sessions", "kind": "python", "settings": {"module": "apps/quick.py:Quick"}}]}
            """)
        try scratch.write(
            "apps/quick.py",
            """
            from sessions import Sessions

            class Quick(Sessions):
                gap_ms = 300

                def process(self, click, state, ctx):
                    if click.get("boom"):
                        raise RuntimeError("boom for " + click["user"])
                    return super().process(click, state, ctx)

            """)
        let up = try RuntimeCommandTests.Running(
            ["up", "--port", "0", "--no-kafka", "--status-interval", "0", "--data-dir", scratch.url.appending(path: "data").path], in: scratch.url,
            environment: Self.environment)
        defer { _ = up.stop() }
        let port = try await up.port()
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/topics/clicks")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(
            #"[{"user": "a", "page": "/"}, {"user": "b", "page": "/"}, {"user": "a", "page": "/cart"}, {"user": "a", "boom": true}]"#.utf8)
        let (_, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        var sessions: [[String: Any]] = []
        try await eventually("both sessions to close after 300 ms without clicks") {
            let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/topics/sessions/records?limit=10")!)
            let body = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            sessions = (body?["records"] as? [[String: Any]] ?? []).compactMap { $0["value"] as? [String: Any] }
            return sessions.count >= 2
        }
        let byUser = Dictionary(uniqueKeysWithValues: sessions.map { ($0["user"] as? String ?? "?", $0) })
        #expect(byUser["a"]?["pages"] as? [String] == ["/", "/cart"])
        #expect(byUser["b"]?["clicks"] as? Int == 1)
        let (letters, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/topics/sessions.dlq/records?limit=10")!)
        let text = String(decoding: letters, as: UTF8.self)
        #expect(text.contains("Traceback (most recent call last)") && text.contains("RuntimeError: boom for a"), "\(text)")
    }
}
