import Foundation
import Logging
import Synchronization
import Testing
import WSClient

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The dashboard in a real browser: `firestream up` serves it, headless Chromium loads it, and
/// the test asks the page itself (over the DevTools protocol) what it has drawn.
@Suite(.serialized) struct DashboardBrowserTests {
    @Test func dashboardDrawsEveryDeviceLiveAndResumesAfterAReconnect() async throws {
        let chromium = try #require(
            ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) },
            "Chromium is not installed: scripts/test installs it with apt-get install chromium")
        let scratch = try Scratch()
        let up = try RuntimeCommandTests.Running(["up", "--port", "0", "--rate", "5", "--status-interval", "0"], in: scratch.url)
        defer { _ = up.stop() }
        let port = try await up.port()
        #expect(!up.text.contains("the dashboard is off"), "Plotly.js must be installed (python3 -m pip install plotly): \(up.text)")

        let browser = try Browser(executable: chromium, profile: scratch.url.appendingPathComponent("chromium"))
        defer { browser.stop() }
        let page = try await browser.pageWebSocketURL()
        let logger = Logger(label: "cdp") { _ in SwiftLogNoOpLogHandler() }
        try await WebSocketClient.connect(url: page, configuration: .init(maxFrameSize: 1 << 26), logger: logger) { inbound, outbound, _ in
            let devtools = DevTools(inbound: inbound, outbound: outbound)
            _ = try await devtools.call("Page.enable")
            _ = try await devtools.call("Page.navigate", ["url": "http://127.0.0.1:\(port)/"])
            // Wait for the page to connect and draw the replayed history.
            var counts: [Int] = []
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                counts = try await devtools.evaluate("window.firestream && firestream.panels.main ? JSON.stringify(firestream.panels.main.pointCounts()) : '[]'")
                    .flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [Int] } ?? []
                if counts.count == 5, counts.allSatisfy({ $0 > 0 }) { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(counts.count == 5, "one wiener trace per device, got \(counts)")
            try await Task.sleep(for: .seconds(3))
            let later = try await devtools.evaluate("JSON.stringify(firestream.panels.main.pointCounts())")
                .flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [Int] } ?? []
            #expect(later.count == 5)
            #expect(zip(counts, later).allSatisfy { $0 < $1 }, "every trace keeps growing: \(counts) then \(later)")
            let sideTraces = try await devtools.evaluate("String(firestream.panels.side.pointCounts().length)")
            #expect(sideTraces == "5", "the metronome panel draws the 5 devices too")

            // Drop the connection: the page reconnects from its last offsets, with no gaps or duplicates.
            let before = try await devtools.evaluate("String(firestream.panels.main.received)").flatMap(Int.init) ?? 0
            _ = try await devtools.evaluate("firestream.panels.main.ws.close(); 'closed'")
            try await Task.sleep(for: .seconds(3))
            let after = try await devtools.evaluate(
                "JSON.stringify({c: firestream.panels.main.connections, d: firestream.panels.main.duplicates, h: firestream.panels.main.holes, r: firestream.panels.main.received, s: document.getElementById('status').textContent})")
                .flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] } ?? [:]
            #expect(after["c"] as? Int == 2, "reconnected once: \(after)")
            #expect(after["d"] as? Int == 0 && after["h"] as? Int == 0, "no duplicates and no holes: \(after)")
            #expect((after["r"] as? Int ?? 0) > before, "records keep arriving after the reconnect: \(after)")
            #expect(after["s"] as? String == "live")

            let shot = try await devtools.call("Page.captureScreenshot", ["format": "png"])
            if let data = (shot["data"] as? String).flatMap({ Data(base64Encoded: $0) }) {
                let artifacts = URL(fileURLWithPath: ProcessInfo.processInfo.environment["FIRESTREAM_ARTIFACTS"] ?? ".build/artifacts")
                try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
                try data.write(to: artifacts.appendingPathComponent("dashboard.png"))
                #expect(data.count > 10_000)
            } else {
                Issue.record("no screenshot: \(shot)")
            }
            try await outbound.close(.normalClosure, reason: nil)
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
                let curl = try FirestreamProcess.run(
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

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
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

    struct DevToolsError: Error, CustomStringConvertible {
        var description: String
    }
}
