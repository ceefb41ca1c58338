import FirestreamTesting
import Foundation
import Logging
import NIOWebSocket
import Synchronization
import Testing
import WSClient

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

extension KafkaClusterTests {
    /// The dashboard in a real browser: `firestream up` serves it, headless Chromium loads it, and
    /// the test asks the page itself (over the DevTools protocol) what it has drawn. Among the heavy
    /// suites (`KafkaClusterTests`): Chromium beside them would starve the timing-sensitive tests.
    @Suite(.serialized) struct DashboardBrowserTests {
        @Test func dashboardDrawsEveryDeviceLiveAndResumesAfterAReconnect() async throws {
            let scratch = TemporaryDirectory()
            let up = try RuntimeCommandTests.Running(
                ["up", "--kafka-port", "0", "--port", "0", "--rate", "5", "--status-interval", "0"], in: scratch.url)
            defer { up.interrupt() }
            let port = try await up.port()
            #expect(!up.text.contains("the dashboard is off"), "Plotly.js must be installed (python3 -m pip install plotly): \(up.text)")

            try await Self.withBrowserPage(profile: scratch.url.appendingPathComponent("chromium")) { devtools in
                _ = try await devtools.call("Page.navigate", ["url": "http://127.0.0.1:\(port)/"])
                func counts() async throws -> [Int] {
                    try await devtools.json("window.firestream && firestream.panels.main ? firestream.panels.main.pointCounts() : []") as? [Int] ?? []
                }
                func panel(_ field: String) async throws -> Int { try await devtools.json("firestream.panels.main.\(field)") as? Int ?? -1 }

                // The page connects and draws the replayed history: one trace per device.
                try await eventually("the page to draw five wiener traces") {
                    let drawn = try await counts()
                    return drawn.count == 5 && drawn.allSatisfy { $0 > 0 }
                }
                let first = try await counts()
                try await eventually("every trace to keep growing") { zip(first, try await counts()).allSatisfy { $0 < $1 } }
                #expect(
                    try await devtools.evaluate("String(firestream.panels.side.pointCounts().length)") == "5",
                    "the metronome panel draws the 5 devices too")

                // What it draws is what the topic holds: every point is a record's (event_time, measurement).
                let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/topics/wiener/records?limit=10000")!)
                let stored = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["records"] as? [[String: Any]] ?? []
                var truth: [String: Double] = [:]
                for record in stored {
                    guard let value = record["value"] as? [String: Any], let device = value["device_id"] as? String,
                        let time = (value["event_time"] as? NSNumber)?.int64Value, let measurement = value["measurement"] as? Double
                    else { continue }
                    truth["\(device)@\(time)"] = measurement
                }
                let traces =
                    try await devtools.json("document.getElementById('main-plot').data.map(t => ({name: t.name, x: t.x.map(d => +d), y: t.y}))")
                    as? [[String: Any]] ?? []
                var checked = 0
                for trace in traces {
                    let name = trace["name"] as? String ?? ""
                    let xs = (trace["x"] as? [NSNumber] ?? []).map(\.int64Value)
                    let ys = trace["y"] as? [Double] ?? []
                    for (x, y) in zip(xs, ys) {
                        guard let expected = truth["\(name)@\(x)"] else { continue }
                        #expect(y == expected, "\(name) at \(x): drew \(y), the topic holds \(expected)")
                        checked += 1
                    }
                }
                #expect(checked >= 10, "\(checked) drawn points compared with the topic")

                // Pause: data keeps arriving but nothing is drawn; resume draws all of it.
                _ = try await devtools.evaluate("document.getElementById('pause').click(); 'paused'")
                #expect(try await devtools.evaluate("document.getElementById('status').textContent") == "paused")
                let pausedPoints = try await counts().reduce(0, +)
                let pausedReceived = try await panel("received")
                try await eventually("records to arrive while paused") { try await panel("received") >= pausedReceived + 10 }
                #expect(try await counts().reduce(0, +) == pausedPoints, "nothing is drawn while paused")
                _ = try await devtools.evaluate("document.getElementById('pause').click(); 'resumed'")
                try await eventually("the page to draw what arrived while paused") { try await counts().reduce(0, +) >= pausedPoints + 10 }
                #expect(try await devtools.evaluate("document.getElementById('pause').textContent") == "Pause")

                // Drop the connection: the page reconnects from its last offsets, with no gaps or duplicates.
                let before = try await panel("received")
                _ = try await devtools.evaluate("firestream.panels.main.ws.close(); 'closed'")
                try await eventually("the page to reconnect and receive more") {
                    let status = try await devtools.evaluate("document.getElementById('status').textContent")
                    let connections = try await panel("connections")
                    let received = try await panel("received")
                    return connections == 2 && status == "live" && received > before
                }
                let (duplicates, holes) = (try await panel("duplicates"), try await panel("holes"))
                #expect(duplicates == 0 && holes == 0, "no duplicates (\(duplicates)) and no holes (\(holes)) after the reconnect")

                // Last (it moves the page past the live offsets): a gap notice — what a subscriber that fell
                // behind gets — moves the resume point and is shown.
                let gapTo = try await panel("next[0]") + 1_000_000
                _ = try await devtools.evaluate(
                    "firestream.panels.main.onFrame({gap: {topic: 'wiener', partition: 0, from: firestream.panels.main.next[0], to: \(gapTo), skipped: 1}}); 'ok'"
                )
                #expect(try await panel("gaps") == 1)
                #expect(try await panel("next[0]") == gapTo)
                try await eventually("the count line to show the gap") {
                    try await devtools.evaluate("document.getElementById('main-count').textContent")?.contains("1 gaps") == true
                }

                let screenshot = try await Self.saveScreenshot(devtools, as: "dashboard.png")
                #expect(screenshot.count > 10_000)
            }
        }

        /// A PNG of the page in `$FIRESTREAM_ARTIFACTS` (`.build/artifacts`), for a person to look at.
        static func saveScreenshot(_ devtools: DevTools, as name: String) async throws -> Data {
            let shot = try await devtools.call("Page.captureScreenshot", ["format": "png"])
            let data = try #require((shot["data"] as? String).flatMap { Data(base64Encoded: $0) }, "no screenshot: \(shot)")
            let artifacts = URL(fileURLWithPath: ProcessInfo.processInfo.environment["FIRESTREAM_ARTIFACTS"] ?? ".build/artifacts")
            try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
            try data.write(to: artifacts.appendingPathComponent(name))
            return data
        }

        /// Runs `body` on a page of a headless Chromium, driven over the DevTools protocol; the
        /// browser stops afterwards.
        static func withBrowserPage(profile: URL, _ body: @escaping @Sendable (DevTools) async throws -> Void) async throws {
            let chromium = try #require(
                ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first {
                    FileManager.default.isExecutableFile(atPath: $0)
                },
                "Chromium is not installed: scripts/test installs it with apt-get install chromium")
            let browser = try Browser(executable: chromium, profile: profile)
            defer { browser.stop() }
            let page = try await browser.pageWebSocketURL()
            let logger = Logger(label: "cdp") { _ in SwiftLogNoOpLogHandler() }
            try await WebSocketClient.connect(url: page, configuration: .init(maxFrameSize: 1 << 26), logger: logger) { inbound, outbound, _ in
                let devtools = DevTools(inbound: inbound, outbound: outbound)
                _ = try await devtools.call("Page.enable")
                try await body(devtools)
                try await outbound.close(.normalClosure, reason: nil)
            }
        }
    }
}

/// Headless Chromium with the DevTools protocol on a free port.
final class Browser: Sendable {
    let process = Process()
    let stderr: URL

    init(executable: String, profile: URL) throws {
        stderr = profile.deletingLastPathComponent().appendingPathComponent("chromium.log")
        FileManager.default.createFile(atPath: stderr.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--remote-debugging-port=0", "--remote-allow-origins=*", "--user-data-dir=\(profile.path)",
            "--window-size=1280,900", "about:blank",
        ]
        let handle = try FileHandle(forWritingTo: stderr)
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
    }

    /// The DevTools WebSocket of the open page.
    func pageWebSocketURL() async throws -> String {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let log = (try? String(contentsOf: stderr, encoding: .utf8)) ?? ""
            if let line = log.split(separator: "\n").first(where: { $0.contains("DevTools listening on ws://") }),
                let start = line.range(of: "ws://")?.upperBound,
                let address = line[start...].split(separator: "/").first
            {
                // Chromium's header lines ("Content-Length:1422", no space) trip URLSession; curl reads them.
                let curl = try await FirestreamProcess.run(
                    ["-s", "http://\(address)/json/list"], in: URL(fileURLWithPath: "/"), executable: URL(fileURLWithPath: "/usr/bin/curl"))
                let data = Data(curl.stdout.utf8)
                let targets = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
                if let page = targets.first(where: { $0["type"] as? String == "page" }), let url = page["webSocketDebuggerUrl"] as? String {
                    return url
                }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw BrowserError(log: (try? String(contentsOf: stderr, encoding: .utf8)) ?? "")
    }

    /// Ends Chromium without waiting (for a `defer`; Foundation reaps it).
    func stop() {
        if process.isRunning { process.terminate() }
    }

    struct BrowserError: Error, CustomStringConvertible {
        var log: String
        var description: String { "Chromium did not open its DevTools endpoint:\n\(log)" }
    }
}

/// Request/response calls over one DevTools connection (events are skipped).
/// Used from one task only.
final class DevTools {
    private var messages: WebSocketInboundMessageStream.AsyncIterator
    let outbound: WebSocketOutboundWriter
    private var nextID = 0

    init(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) {
        messages = inbound.messages(maxSize: 1 << 26).makeAsyncIterator()
        self.outbound = outbound
    }

    func call(_ method: String, _ params: [String: Any] = [:]) async throws -> [String: Any] {
        nextID += 1
        let id = nextID
        let request = try JSONSerialization.data(withJSONObject: ["id": id, "method": method, "params": params])
        try await outbound.write(.text(String(decoding: request, as: UTF8.self)))
        while let message = try await messages.next() {
            guard case .text(let text) = message,
                let reply = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], reply["id"] as? Int == id
            else { continue }
            if let error = reply["error"] { throw DevToolsError(description: "\(method): \(error)") }
            return reply["result"] as? [String: Any] ?? [:]
        }
        throw DevToolsError(description: "\(method): the connection closed")
    }

    /// Evaluates `expression` in the page; its string value.
    func evaluate(_ expression: String) async throws -> String? {
        let result = try await call("Runtime.evaluate", ["expression": expression, "returnByValue": true])
        if let exception = result["exceptionDetails"] { throw DevToolsError(description: "\(expression): \(exception)") }
        return (result["result"] as? [String: Any])?["value"] as? String
    }

    /// Evaluates `expression` in the page; its value as `JSON.stringify` renders it, parsed.
    func json(_ expression: String) async throws -> Any? {
        try await evaluate("JSON.stringify(\(expression))").flatMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8), options: [.fragmentsAllowed])
        }
    }

    struct DevToolsError: Error, CustomStringConvertible {
        var description: String
    }
}
