import FirestreamFormats
import FirestreamJSON
public import FirestreamLog
public import FirestreamStreams
import Foundation
import KafkaWire
import Synchronization

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
    public let options: Options
    public let counters = AppCounters()
    /// Identifiers remembered for `dedupe`.
    public static let dedupeWindow = 100_000
    /// Largest response read; a larger one is cut off and reported, and the poll retried later.
    public static let maxResponseBytes = 16 << 20
    private let report: @Sendable (String) -> Void

    public init(_ options: Options, report: @escaping @Sendable (String) -> Void = { _ in }) {
        self.options = options
        self.report = report
    }

    public var name: String { options.name }
    public var role: RunnableRole { .source }
    public var summary: String { "\(options.name) (rest source) \(options.url) every \(options.interval) → \(options.topic)" }
    public var usedTopics: [String: String] { [options.topic: "written by source \"\(options.name)\""] }

    public func prepare(_ storage: any RecordStorage) async throws {
        _ = try await storage.ensureTopic(options.topic, partitions: 1)
    }

    public func run(_ storage: any RecordStorage) async throws {
        try await prepare(storage)
        var seen = try await recentIdentifiers(storage)
        let exchange = HTTPExchange()
        var etag: String?
        var lastModified: String?
        var failures = 0
        let schedule = RetrySchedule(initialMilliseconds: options.interval.milliseconds, maxMilliseconds: max(options.interval.milliseconds, 300_000))
        guard let url = URL(string: options.url) else { throw PollProblem(description: "\(options.url) is not a valid URL") }
        while !Task.isCancelled {
            var request = URLRequest(url: url)
            request.setValue("application/json", forHTTPHeaderField: "Accept")
            for (name, value) in options.headers { request.setValue(value, forHTTPHeaderField: name) }
            if let etag { request.setValue(etag, forHTTPHeaderField: "If-None-Match") }
            if let lastModified { request.setValue(lastModified, forHTTPHeaderField: "If-Modified-Since") }
            var wait = options.interval.milliseconds
            switch await exchange.send(request, timeout: .seconds(30), maxBodyBytes: Self.maxResponseBytes) {
            case .success(let reply) where reply.status == 304:
                failures = 0
            case .success(let reply) where (200..<300).contains(reply.status):
                failures = 0
                etag = reply.header("ETag") ?? etag
                lastModified = reply.header("Last-Modified") ?? lastModified
                do {
                    try await append([UInt8](reply.body), to: storage, seen: &seen)
                } catch let problem as PollProblem {
                    report("\(options.name): \(options.url) answered something unusable: \(problem.description)")
                }
            case .success(let reply):
                failures += 1
                wait = max(wait, RetrySchedule.retryAfter(reply.header("Retry-After")) ?? schedule.delay(afterAttempt: failures))
                report("\(options.name): \(options.url) answered HTTP \(reply.status); next poll in \(wait) ms")
            case .failure(let problem):
                failures += 1
                wait = schedule.delay(afterAttempt: failures)
                report("\(options.name): \(options.url): \(problem.description); next poll in \(wait) ms")
            }
            try? await Task.sleep(for: .milliseconds(wait))
        }
    }

    struct PollProblem: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses one response and appends its new items in one durable batch.
    func append(_ body: [UInt8], to storage: any RecordStorage, seen: inout SeenWindow) async throws {
        let now = wallClockMilliseconds()
        let outcome = body.withUnsafeBytes { raw in
            Result(catching: { () throws(PollProblem) in try Self.records(in: raw, options: options, seen: seen, timestamp: now) })
        }
        let (records, fresh, items) = try outcome.get()
        counters.records.add(items, ordering: .relaxed)
        guard !records.isEmpty else { return }
        _ = try await storage.append(records, to: options.topic)
        for id in fresh { seen.insert(id) }
        counters.outputs.add(records.count, ordering: .relaxed)
    }

    /// The records a response yields (items not seen before), the new identifiers, and the number
    /// of items read.
    static func records(in raw: UnsafeRawBufferPointer, options: Options, seen: SeenWindow, timestamp: Int64) throws(PollProblem)
        -> ([ProducerRecord], [String], Int)
    {
        do throws(JSONSyntaxError) {
            try JSONBytes.validate(raw)
        } catch {
            let (line, column) = JSONSyntaxError.lineAndColumn(of: error.offset, in: raw)
            throw PollProblem(description: "malformed JSON at line \(line), column \(column): \(error.message)")
        }
        var container = 0..<raw.count
        if let items = options.items {
            guard let found = items.find(in: raw, container) else { throw PollProblem(description: "no value at \(items)") }
            container = found
        }
        var start = container.lowerBound
        while start < container.upperBound, [0x20, 0x0A, 0x0D, 0x09].contains(raw[start]) { start += 1 }
        let isArray = start < container.upperBound && raw[start] == UInt8(ascii: "[")
        let values = isArray ? JSONBytes.arrayItems(raw, in: container) : [start..<JSONBytes.endOfValue(raw, from: start)]
        let dedupe = options.dedupe
        let key = options.key
        var records: [ProducerRecord] = []
        var fresh: [String] = []
        var freshSet: Set<String> = []
        for range in values {
            if let dedupe {
                guard let id = dedupe.keyText(in: raw, range) else { throw PollProblem(description: "an item has no value at \(dedupe)") }
                if seen.contains(id) || !freshSet.insert(id).inserted { continue }
                fresh.append(id)
            }
            let recordKey = key.flatMap { $0.keyText(in: raw, range) }
            records.append(ProducerRecord(key: recordKey.map { Array($0.utf8) }, value: JSONBytes.compacted(raw, range), timestamp: timestamp))
        }
        return (records, fresh, values.count)
    }

    /// The dedupe identifiers of the topic's newest records.
    private func recentIdentifiers(_ storage: any RecordStorage) async throws -> SeenWindow {
        var window = SeenWindow(capacity: Self.dedupeWindow)
        guard let dedupe = options.dedupe else { return window }
        for partition in 0..<(try await storage.partitionCount(of: options.topic) ?? 0) {
            let end = try await storage.bounds(of: options.topic, partition: partition).upperBound
            try await storage.forEachRecord(of: options.topic, partition: partition, from: end - Int64(Self.dedupeWindow)) { record in
                guard let value = record.value, JSONBytes.isValid(value), let id = dedupe.keyText(in: value) else { return }
                window.insert(id)
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
