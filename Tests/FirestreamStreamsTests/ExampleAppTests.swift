import FirestreamExamples
import FirestreamLog
import FirestreamTesting
import Foundation
import KafkaWire
import Testing

@testable import FirestreamStreams

@Suite struct ExampleAppTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func clickSessionsEndAfterTheGap() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let clicks = try log.createTopic("clicks", partitions: 2)
        let click = { (user: String, page: String) in
            ProducerRecord(key: Array(user.utf8), value: Array("{\"user\":\"\(user)\",\"page\":\"\(page)\"}".utf8), timestamp: 1_000)
        }
        _ = try await clicks.append([click("ann", "/"), click("bob", "/pricing"), click("ann", "/docs"), click("ann", "/")])
        try await run(AppRunner(ClickSessions(gapMilliseconds: 100)), on: log, until: "sessions", reaches: 2)
        let sessions = try drain(try log.topic("sessions")).map {
            try JSONDecoder().decode(ClickSessions.Session.self, from: Data($0.value!))
        }
        #expect(sessions.count == 2)
        #expect(
            sessions.first { $0.user == "ann" } == ClickSessions.Session(user: "ann", clicks: 3, pages: ["/", "/docs"], start: 1_000, end: 1_000))
        #expect(sessions.first { $0.user == "bob" }?.clicks == 1)
    }

    /// The snippet in docs/apps.md, "Testing an app".
    @Test func theGuidesUnitTestSnippetWorks() {
        var state: ClickSessions.State?
        var context = ProcessingContext(now: 0, timestamp: 1_000)
        let app = ClickSessions(gapMilliseconds: 100)
        _ = app.process(.init(user: "ann", page: "/"), state: &state, context: &context)
        let sessions = app.timedOut(key: "ann", state: &state, context: &context)
        #expect(sessions == [ClickSessions.Session(user: "ann", clicks: 1, pages: ["/"], start: 1_000, end: 1_000)])
        #expect(state == nil)
        #expect(context.timeoutAt == nil || context.timeoutAt == 100)
    }

    @Test func appsGuideQuotesTheExampleVerbatim() throws {
        let guide = try String(contentsOf: Self.root.appendingPathComponent("docs/apps.md"), encoding: .utf8)
        let source = try String(contentsOf: Self.root.appendingPathComponent("examples/FirestreamExamples/ClickSessions.swift"), encoding: .utf8)
        let main = try String(contentsOf: Self.root.appendingPathComponent("examples/firestream-sessions/SessionsMain.swift"), encoding: .utf8)
        #expect(guide.contains(source.trimmingCharacters(in: .newlines)))
        #expect(guide.contains(main.trimmingCharacters(in: .newlines)))
    }
}
