import FirestreamFormats
import FirestreamJSON
public import FirestreamLog
public import FirestreamStreams
import Foundation
import HTTPTypes
import KafkaWire
import Logging
import Synchronization
import WSClient

/// Connects to a WebSocket server and appends every text message (one JSON value, or an array
/// of them) to a topic, durably, in arrival order. Messages that are not JSON go to `<name>.dlq`
/// with the reason. A dropped connection is retried with exponential back-off and jitter; the
/// back-off resets after a connection that stayed up for 30 seconds.
public struct WebSocketSource: Runnable {
    public let options: Options
    public let counters = AppCounters()
    private let report: @Sendable (String) -> Void

    public init(_ options: Options, report: @escaping @Sendable (String) -> Void = { _ in }) {
        self.options = options
        self.report = report
    }

    public var name: String { options.name }
    public var role: RunnableRole { .source }
    public var summary: String { "\(options.name) (websocket source) \(options.url) → \(options.topic)" }
    public var ownedTopics: [String: String] { [options.deadLetter: "the dead-letter topic of source \"\(options.name)\""] }
    public var usedTopics: [String: String] { ownedTopics.merging([options.topic: "written by source \"\(options.name)\""]) { first, _ in first } }

    public func prepare(_ storage: any RecordStorage) async throws {
        _ = try await storage.ensureTopic(options.topic, partitions: 1)
        _ = try await storage.ensureTopic(options.deadLetter, partitions: 1)
    }

    public func run(_ storage: any RecordStorage) async throws {
        try await prepare(storage)
        let schedule = options.reconnect
        var headers = HTTPFields()
        for (name, value) in options.headers { if let field = HTTPField.Name(name) { headers[field] = value } }
        let logger = Logger(label: "firestream.source.\(options.name)") { _ in SwiftLogNoOpLogHandler() }
        var failures = 0
        while !Task.isCancelled {
            let connectedAt = ContinuousClock.now
            do {
                try await WebSocketClient.connect(
                    url: options.url, configuration: .init(maxFrameSize: 16 << 20, additionalHeaders: headers), logger: logger
                ) { inbound, outbound, _ in
                    report("\(options.name): connected to \(options.url)")
                    if let subscribe = options.subscribe { try await outbound.write(.text(subscribe)) }
                    for try await message in inbound.messages(maxSize: 16 << 20) {
                        guard case .text(let text) = message else { continue }
                        try await accept(text, storage: storage)
                    }
                }
            } catch {
                if Task.isCancelled { return }
                report("\(options.name): \(options.url): \(error)")
            }
            if Task.isCancelled { return }
            failures = ContinuousClock.now - connectedAt > .seconds(30) ? 1 : failures + 1
            let wait = schedule.delay(afterAttempt: failures)
            report("\(options.name): disconnected; reconnecting in \(wait) ms")
            try? await Task.sleep(for: .milliseconds(wait))
        }
    }

    /// Appends one message's records (durably) or dead-letters it.
    func accept(_ text: String, storage: any RecordStorage) async throws {
        counters.records.add(1, ordering: .relaxed)
        let now = wallClockMilliseconds()
        switch Result(catching: { () throws(IngestBody.Refusal) in try IngestBody.parse(text, framing: .json, keyPointer: options.key) }) {
        case .success(let records):
            _ = try await storage.append(records.map { $0.producerRecord(timestamp: now) }, to: options.topic)
            counters.outputs.add(records.count, ordering: .relaxed)
        case .failure(let refusal):
            let deadLetter = ProducerRecord(
                key: nil, value: Array(text.utf8), headers: [RecordHeader(key: "firestream.error", value: Array(refusal.message.utf8))],
                timestamp: now)
            _ = try await storage.append([deadLetter], to: options.deadLetter)
            counters.deadLetters.add(1, ordering: .relaxed)
        }
    }
}
