import FirestreamFormats
public import FirestreamLog
public import FirestreamStreams
import Foundation
import KafkaWire
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Sends a topic's records to a URL — or, as kind `airflow`, as asset events to Apache Airflow
/// (``AirflowTarget``): POSTs of up to `batch` records, retried with exponential
/// back-off and jitter (a 429/503 `Retry-After` is honoured), signed with HMAC-SHA256 when
/// configured. After `maxAttempts` failures — or at once for a 4xx that retrying cannot fix —
/// the batch goes to the dead-letter topic with the reason in a header. The effect's position is
/// committed (consumer group `effect-<name>`) only after its batch was delivered or dead-lettered,
/// so a restart resends at most the batch in flight: delivery is at least once.
public struct WebhookEffect: Runnable {
    public let options: Options
    public let counters = AppCounters()
    private let report: @Sendable (String) -> Void
    private let sleep: @Sendable (Int64) async throws -> Void

    public init(
        _ options: Options, report: @escaping @Sendable (String) -> Void = { _ in },
        sleep: @escaping @Sendable (Int64) async throws -> Void = { try await Task.sleep(for: .milliseconds($0)) }
    ) {
        self.options = options
        self.report = report
        self.sleep = sleep
    }

    public var name: String { options.name }
    public var role: RunnableRole { .effect }
    public var summary: String {
        let target = options.airflow.map { "Airflow at \(options.url), asset \($0.asset)" } ?? options.url
        return
            "\(options.name) (\(options.airflow == nil ? "webhook" : "airflow")) \(options.topic) → \(target), dead letters → \(options.deadLetter)"
    }
    /// The consumer group holding this effect's committed positions (no client may commit to it).
    public var group: String { Self.group(named: options.name) }
    public static func group(named name: String) -> String { "effect-\(name)" }
    public var ownedTopics: [String: String] { [options.deadLetter: "the dead-letter topic of effect \"\(options.name)\""] }
    public var usedTopics: [String: String] { ownedTopics.merging([options.topic: "read by effect \"\(options.name)\""]) { first, _ in first } }

    public func prepare(_ storage: any RecordStorage) async throws {
        _ = try await storage.ensureTopic(options.topic, partitions: 1)
        _ = try await storage.ensureTopic(options.deadLetter, partitions: 1)
    }

    public func run(_ storage: any RecordStorage) async throws {
        try await prepare(storage)
        let partitions = try await storage.partitionCount(of: options.topic) ?? 1
        let exchange = HTTPExchange()
        let airflow = options.airflow.map { AirflowAssetEvents(base: options.url, target: $0, timeout: .milliseconds(options.timeout.milliseconds)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<partitions {
                group.addTask { try await deliver(index, storage: storage, exchange: exchange, airflow: airflow) }
            }
            try await group.waitForAll()
        }
    }

    private func deliver(_ index: Int, storage: any RecordStorage, exchange: HTTPExchange, airflow: AirflowAssetEvents?) async throws {
        let committed = try await storage.committed(group: group, topic: options.topic, partition: index)
        let bounds = try await storage.bounds(of: options.topic, partition: index)
        let reader = try await storage.cursor(
            on: options.topic, partition: index, from: committed ?? (options.start == .earliest ? bounds.lowerBound : bounds.upperBound),
            whenRemoved: .skip)
        defer { reader.close() }
        while !Task.isCancelled {
            let batch = try await reader.next(maxBytes: 4 << 20, maxRecords: options.batch)
            // Without a time limit, nothing comes back only when the log closed or we are stopping.
            if batch.isEmpty { return }
            if let skipped = batch.skipped {
                report(
                    "\(options.name): records \(skipped.lowerBound)..<\(skipped.upperBound) of \(options.topic)/\(index) were removed by retention before delivery"
                )
            }
            let records = batch.records
            guard let last = records.last else { continue }
            counters.records.add(records.count, ordering: .relaxed)
            switch await send(records, partition: index, exchange: exchange, airflow: airflow) {
            case .success:
                counters.outputs.add(records.count, ordering: .relaxed)
            case .failure(let reason):
                if Task.isCancelled { return }  // stopping mid-retry: resend after restart, never dead-letter
                report(
                    "\(options.name): \(records.count) record(s) from \(options.topic)/\(index) at \(records[0].offset) go to \(options.deadLetter): \(reason)"
                )
                _ = try await storage.append(records.map { deadLetter($0, partition: index, reason: reason.description) }, to: options.deadLetter)
                counters.deadLetters.add(records.count, ordering: .relaxed)
            }
            let next = last.offset + 1
            try await storage.commit(group: group, topic: options.topic, partition: index, offset: next)
            counters.record(position: next, topic: options.topic, partition: index)
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Delivers one batch, retrying as configured.
    private func send(_ records: [ConsumerRecord], partition: Int, exchange: HTTPExchange, airflow: AirflowAssetEvents?) async -> Result<
        Void, Failure
    > {
        // Each attempt prepares its request: an Airflow event may first sign in or look its asset up.
        let prepare: () async -> Result<URLRequest, Failure>
        if let airflow {
            let extra = AirflowAssetEvents.extra(records, topic: options.topic, partition: partition)
            prepare = { await airflow.request(extra: extra, exchange: exchange).mapError { Failure(description: $0.description) } }
        } else {
            guard let request = webhookRequest(records, partition: partition) else {
                return .failure(Failure(description: "\(options.url) is not a valid URL"))
            }
            prepare = { .success(request) }
        }
        let schedule = options.backoff
        var lastProblem = ""
        for attempt in 1...options.maxAttempts {
            var wait = schedule.delay(afterAttempt: attempt)
            switch await prepare() {
            case .failure(let problem):
                lastProblem = problem.description
            case .success(let request):
                switch await exchange.send(request, timeout: .milliseconds(options.timeout.milliseconds), maxBodyBytes: 64 << 10) {
                case .success(let reply) where (200..<300).contains(reply.status):
                    return .success(())
                case .success(let reply):
                    lastProblem = "HTTP \(reply.status)" + (reply.body.isEmpty ? "" : ": " + String(decoding: reply.body.prefix(200), as: UTF8.self))
                    if reply.status == 401, let airflow {
                        await airflow.refused()  // an expired token: sign in again
                    } else if reply.status == 429 || reply.status == 503, let asked = RetrySchedule.retryAfter(reply.header("Retry-After")) {
                        wait = min(asked, 300_000)
                    } else if (400..<500).contains(reply.status), reply.status != 408, reply.status != 429 {
                        return .failure(Failure(description: "\(lastProblem) (not retried: the request itself was refused)"))
                    }
                case .failure(let problem):
                    lastProblem = problem.description
                }
            }
            if attempt == options.maxAttempts { break }
            report("\(options.name): attempt \(attempt) of \(options.maxAttempts) failed (\(lastProblem)); retrying in \(wait) ms")
            do { try await sleep(wait) } catch { return .failure(Failure(description: "stopped while retrying")) }
        }
        return .failure(Failure(description: "\(options.maxAttempts) attempts failed, the last with \(lastProblem)"))
    }

    /// A webhook's POST of the batch, signed when configured; nil when the URL does not parse.
    private func webhookRequest(_ records: [ConsumerRecord], partition: Int) -> URLRequest? {
        let body = Data(render(records, partition: partition).utf8)
        guard let url = URL(string: options.url) else { return nil }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        for (name, value) in options.headers { request.setValue(value, forHTTPHeaderField: name) }
        if let signature = options.signature {
            let value = signature.headerValue(signing: Array(body), nowSeconds: wallClockMilliseconds() / 1000)
            request.setValue(value, forHTTPHeaderField: signature.headerName)
        }
        request.setValue("\(options.topic)/\(partition)/\(records[0].offset)", forHTTPHeaderField: "X-Firestream-Batch")
        return request
    }

    private func render(_ records: [ConsumerRecord], partition: Int) -> String {
        switch options.body {
        case .records:
            return "[" + records.map { RecordJSON.render(topic: options.topic, partition: partition, $0) }.joined(separator: ",") + "]"
        case .values:
            return "[" + records.map { RecordJSON.value($0) }.joined(separator: ",") + "]"
        }
    }

    private func deadLetter(_ record: ConsumerRecord, partition: Int, reason: String) -> ProducerRecord {
        .deadLetter(of: record, topic: options.topic, partition: partition, reason: reason)
    }
}
