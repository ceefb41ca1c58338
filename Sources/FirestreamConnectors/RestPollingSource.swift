import FirestreamConfig
import FirestreamGateway
import FirestreamJSON
import FirestreamLog
import FirestreamStreams
import Foundation
import KafkaWire

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Polls an HTTP endpoint every `interval` and appends what it returns: the whole JSON response,
/// or each item of the array at `items`. Conditional requests (`If-None-Match` with the last
/// `ETag`, `If-Modified-Since` with the last `Last-Modified`) make an unchanged resource cost a
/// 304; with `dedupe`, items whose identifying field was already appended are skipped — the
/// window of seen identifiers is rebuilt from the topic's newest records on start, so a restart
/// does not append them again.
public struct RestPollingSource: Runnable {
    public let config: SourceConfig
    public let counters = AppCounters()
    /// Identifiers remembered for `dedupe`.
    public static let dedupeWindow = 100_000
    private let report: @Sendable (String) -> Void

    public init(_ config: SourceConfig, report: @escaping @Sendable (String) -> Void = { _ in }) {
        self.config = config
        self.report = report
    }

    public var name: String { config.name }
    public var summary: String { "\(config.name) (rest source) \(config.url) every \(config.interval) → \(config.topic)" }

    public func prepare(_ log: Log) throws {
        _ = try log.ensureTopic(config.topic)
    }

    public func run(_ log: Log) async throws {
        try prepare(log)
        let topic = try log.topic(config.topic)
        var seen = try recentIdentifiers(topic)
        let exchange = HTTPExchange()
        var etag: String?
        var lastModified: String?
        var failures = 0
        let schedule = RetrySchedule(initialMilliseconds: config.interval.milliseconds, maxMilliseconds: max(config.interval.milliseconds, 300_000))
        while !Task.isCancelled {
            var request = URLRequest(url: URL(string: config.url)!)
            request.setValue("application/json", forHTTPHeaderField: "Accept")
            for (name, value) in config.headers { request.setValue(value, forHTTPHeaderField: name) }
            if let etag { request.setValue(etag, forHTTPHeaderField: "If-None-Match") }
            if let lastModified { request.setValue(lastModified, forHTTPHeaderField: "If-Modified-Since") }
            var wait = config.interval.milliseconds
            switch await exchange.send(request, timeout: .seconds(30)) {
            case .success(let reply) where reply.status == 304:
                failures = 0
            case .success(let reply) where (200..<300).contains(reply.status):
                failures = 0
                etag = reply.header("ETag") ?? etag
                lastModified = reply.header("Last-Modified") ?? lastModified
                do {
                    try await append(String(decoding: reply.body, as: UTF8.self), to: topic, seen: &seen)
                } catch let problem as PollProblem {
                    report("\(config.name): \(config.url) answered something unusable: \(problem.description)")
                }
            case .success(let reply):
                failures += 1
                wait = max(wait, RetrySchedule.retryAfter(reply.header("Retry-After")) ?? schedule.delay(afterAttempt: failures))
                report("\(config.name): \(config.url) answered HTTP \(reply.status); next poll in \(wait) ms")
            case .failure(let problem):
                failures += 1
                wait = schedule.delay(afterAttempt: failures)
                report("\(config.name): \(config.url): \(problem.description); next poll in \(wait) ms")
            }
            try? await Task.sleep(for: .milliseconds(wait))
        }
    }

    struct PollProblem: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses one response and appends its new items in one durable batch.
    func append(_ text: String, to topic: Topic, seen: inout SeenWindow) async throws {
        let parsed = JSONParser.parse(text)
        if let problem = parsed.diagnostics.first {
            throw PollProblem(description: "malformed JSON\(problem.location.map { " at \($0)" } ?? ""): \(problem.message)")
        }
        guard let root = parsed.root.map(JSONValue.init) else { throw PollProblem(description: "an empty body") }
        var container = root
        if let items = config.items {
            guard let found = IngestBody.node(at: items, in: root) else { throw PollProblem(description: "no value at \(items)") }
            container = found
        }
        let values: [JSONValue]
        if case .array(let items) = container { values = items } else { values = [container] }
        var records: [ProducerRecord] = []
        var fresh: [String] = []
        let now = wallClockMilliseconds()
        for value in values {
            if let dedupe = config.dedupe {
                guard let id = IngestBody.resolve(dedupe, in: value) else { throw PollProblem(description: "an item has no value at \(dedupe)") }
                if seen.contains(id) || fresh.contains(id) { continue }
                fresh.append(id)
            }
            let key = config.key.flatMap { IngestBody.resolve($0, in: value) }
            records.append(ProducerRecord(key: key.map { Array($0.utf8) }, value: Array(JSONText.compact(value).utf8), timestamp: now))
        }
        counters.records.add(values.count, ordering: .relaxed)
        guard !records.isEmpty else { return }
        _ = try await topic.append(records)
        for id in fresh { seen.insert(id) }
        counters.outputs.add(records.count, ordering: .relaxed)
    }

    /// The dedupe identifiers of the topic's newest records.
    private func recentIdentifiers(_ topic: Topic) throws -> SeenWindow {
        var window = SeenWindow(capacity: Self.dedupeWindow)
        guard let dedupe = config.dedupe else { return window }
        for partition in topic.partitions {
            var next = max(partition.startOffset, partition.durableOffset - Int64(Self.dedupeWindow))
            while next < partition.durableOffset {
                let fetched = try partition.read(from: next, maxBytes: 4 << 20)
                if fetched.records.isEmpty { break }
                for record in fetched.records {
                    let parsed = JSONParser.parse(String(decoding: record.value ?? [], as: UTF8.self))
                    if let root = parsed.root, let id = IngestBody.resolve(dedupe, in: JSONValue(root)) { window.insert(id) }
                }
                next = fetched.nextOffset
            }
        }
        return window
    }
}

/// The most recent `capacity` identifiers, oldest forgotten first.
struct SeenWindow {
    let capacity: Int
    private var members: Set<String> = []
    private var order: [String] = []
    private var head = 0

    init(capacity: Int) { self.capacity = capacity }

    func contains(_ id: String) -> Bool { members.contains(id) }

    mutating func insert(_ id: String) {
        guard members.insert(id).inserted else { return }
        order.append(id)
        if order.count - head > capacity {
            members.remove(order[head])
            head += 1
            if head > capacity {
                order.removeFirst(head)
                head = 0
            }
        }
    }
}
