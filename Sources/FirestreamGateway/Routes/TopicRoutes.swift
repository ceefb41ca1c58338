import CoreMetrics
import FirestreamFormats
import FirestreamJSON
import FirestreamLog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import KafkaWire
import NIOCore

extension Gateway {
    /// Listing, REST consume and durable ingest.
    func topicRoutes() -> RouteCollection<GatewayContext> {
        let routes = RouteCollection(context: GatewayContext.self)
        routes.get("topics") { request, _ in json(try await listTopics(for: try principal(request))) }
        routes.get("topics/:topic") { request, context in try await describeTopic(request, context) }
        routes.get("topics/:topic/records") { request, context in try await consume(request, context) }
        routes.post("topics/:topic") { request, context in try await ingest(request, context) }
        return routes
    }

    func listTopics(for principal: Principal) async throws -> String {
        var items: [TopicListing.Item] = []
        for name in try await storage.topicNames() where !name.hasPrefix("__") && principal.may(.read, topic: name) {
            guard let partitions = try await storage.partitionCount(of: name) else { continue }
            var records: Int64 = 0
            for partition in 0..<partitions {
                let bounds = try await storage.bounds(of: name, partition: partition)
                records += bounds.upperBound - bounds.lowerBound
            }
            items.append(TopicListing.Item(name: name, partitions: partitions, records: records))
        }
        return jsonText(TopicListing(topics: items))
    }

    /// `GET /topics/{t}`: each partition's first and next offset and its last record's time, so
    /// a watcher can tell what is new without reading records.
    func describeTopic(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let name = try context.parameters.require("topic")
        _ = try authorize(request, .read, topic: name)
        guard let partitions = try await storage.partitionCount(of: name) else { return failure(404, "unknown topic \"\(name)\"") }
        var described: [TopicDescription.Partition] = []
        for partition in 0..<partitions {
            let bounds = try await storage.bounds(of: name, partition: partition)
            described.append(
                TopicDescription.Partition(
                    partition: partition, start: bounds.lowerBound, end: bounds.upperBound,
                    lastTimestamp: try await lastTimestamp(of: name, partition: partition, bounds: bounds)))
        }
        let records = described.reduce(Int64(0)) { $0 + ($1.end - $1.start) }
        return json(jsonText(TopicDescription(name: name, records: records, partitions: described)))
    }

    /// The timestamp of the partition's newest record; nil when it holds none.
    private func lastTimestamp(of topic: String, partition: Int, bounds: Range<Int64>) async throws -> Int64? {
        guard !bounds.isEmpty else { return nil }
        let reader = try await storage.cursor(on: topic, partition: partition, from: bounds.upperBound - 1, whenRemoved: .skip)
        defer { reader.close() }
        return try await reader.poll(maxBytes: 1 << 20, maxRecords: 1).records.last?.timestamp
    }

    /// 416: `offset` was removed by retention before it was read.
    func removedByRetention(_ offset: Int64, start: Int64) -> Response {
        failure(416, "offset \(offset) was removed by retention; the partition starts at \(start)")
    }

    func consume(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let name = try context.parameters.require("topic")
        _ = try authorize(request, .read, topic: name)
        guard let partitions = try await storage.partitionCount(of: name) else { return failure(404, "unknown topic \"\(name)\"") }
        let query = request.uri.queryParameters
        guard let partitionIndex = Int(query["partition"].map(String.init) ?? "0"), (0..<partitions).contains(partitionIndex) else {
            return failure(400, "partition must be between 0 and \(partitions - 1)")
        }
        guard let limit = Int(query["limit"].map(String.init) ?? "100"), (1...10_000).contains(limit) else {
            return failure(400, "limit must be between 1 and 10000")
        }
        // The same start positions as WebSocket subscriptions, but from the oldest record by default.
        let from = query["from"].map(String.init) ?? (query["since"] == nil ? "earliest" : nil)
        let positions: StartPositions
        switch StartPositions.parse(from: from, since: query["since"].map(String.init)) {
        case .success(let parsed): positions = parsed
        case .failure(let problem): return failure(400, problem.message)
        }
        let bounds = try await storage.bounds(of: name, partition: partitionIndex)
        if case .offset(let offset) = positions.rule, offset < bounds.lowerBound {
            return removedByRetention(offset, start: bounds.lowerBound)
        }
        let start = try await positions.start(in: storage, topic: name, index: partitionIndex, now: wallClockMilliseconds())
        let reader = try await storage.cursor(on: name, partition: partitionIndex, from: start, whenRemoved: .fail)
        defer { reader.close() }
        // At most `limit` records and `maxResponseBytes` of JSON (at least one record): a
        // client continues from `next`.
        var page = RecordPage(maxBytes: options.maxResponseBytes)
        var next = reader.position
        reading: while page.count < limit && reader.position < bounds.upperBound {
            let batch: PartitionReader.Batch
            do {
                batch = try await reader.poll(maxBytes: min(1 << 20, options.maxResponseBytes), maxRecords: limit - page.count)
            } catch let error as LogError {
                guard case .offsetOutOfRange(let requested, let start, _) = error else { throw error }
                return removedByRetention(requested, start: start)
            }
            if batch.records.isEmpty { break }
            for record in batch.records {
                guard page.add(RecordJSON.render(topic: name, partition: partitionIndex, record)) else { break reading }
                next = record.offset + 1
            }
        }
        if page.truncated { metrics.truncatedResponses.increment() }
        return json(page.answer(extra: "\"next\":\(next),\"end\":\(max(bounds.upperBound, next))"))
    }

    func ingest(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let name = try context.parameters.require("topic")
        // A signed topic's senders prove themselves with the signature (webhook providers send
        // no bearer tokens); every other topic needs a token that may write it.
        if signatures[name] == nil {
            try await authorizeWrite(request, topic: name)
        } else if let refusal = access.writeProtection(name) {
            throw Failure(403, refusal)
        }
        let framing: IngestBody.Framing
        switch Result(catching: { () throws(IngestBody.Refusal) in try IngestBody.Framing(contentType: request.headers[.contentType]) }) {
        case .success(let value): framing = value
        case .failure(let refusal): return failure(refusal.status, refusal.message)
        }
        let buffer = try await collectBody(request)
        if let check = signatures[name] {
            let body = Array(buffer.readableBytesView)
            if let problem = check.problem(body: body, headers: request.headers, nowSeconds: wallClockMilliseconds() / 1000) {
                metrics.signatureFailures.increment()
                return failure(401, problem)
            }
        }
        let key = request.uri.queryParameters["key"].map(String.init) ?? request.headers[keyHeader]
        let records: [IngestBody.Record]
        let parsed = buffer.withUnsafeReadableBytes { body in
            Result(catching: { () throws(IngestBody.Refusal) in
                try IngestBody.parse(body, framing: framing, key: key, keyPointer: key == nil ? keyPointers[name] : nil)
            })
        }
        switch parsed {
        case .success(let value): records = value
        case .failure(let refusal): return failure(refusal.status, refusal.message)
        }
        do {
            try await resolveTopic(name)
        } catch let refusal as Failure {
            return failure(refusal.status.code, refusal.message)
        }
        let placed = try await append(records, to: name, bytes: buffer.readableBytes)
        return json("{\"records\":" + placedJSON(placed) + "}")
    }

    /// The request's body, at most `maxBodyBytes` (413) and within `bodyTimeout` (408).
    func collectBody(_ request: Request, limit: Int? = nil) async throws -> ByteBuffer {
        let limit = limit ?? options.maxBodyBytes
        let timeout = options.bodyTimeout
        let metrics = self.metrics
        return try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                var request = request
                do {
                    return try await request.collectBody(upTo: limit)
                } catch let error as HTTPError where error.status == .contentTooLarge {
                    throw Failure(413, "the body is larger than \(limit) bytes")
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let body = first else {
                metrics.bodyTimeouts.increment()
                throw Failure(408, "the body did not arrive within \(timeout)")
            }
            return body
        }
    }

    /// The topic to ingest into: existing, or created when auto-create is on; 404 otherwise.
    func resolveTopic(_ name: String) async throws {
        if try await storage.partitionCount(of: name) != nil { return }
        guard options.autoCreateTopics else {
            throw Failure(404, "unknown topic \"\(name)\" (create it, declare it in the config, or enable auto-create)")
        }
        do {
            _ = try await storage.ensureTopic(name, partitions: 1)
        } catch let error as LogError {
            throw Failure(400, "\(error)")
        }
    }

    /// Appends and returns once durable.
    func append(_ records: [IngestBody.Record], to topic: String, bytes: Int) async throws -> [(partition: Int, offset: Int64)] {
        let now = wallClockMilliseconds()
        let placed = try await storage.append(records.map { $0.producerRecord(timestamp: now) }, to: topic)
        metrics.ingestedRecords.increment(by: records.count)
        metrics.ingestedBytes.increment(by: bytes)
        return placed
    }

}

/// Rendered records up to a response's byte budget (the first always fits), for the REST reads.
struct RecordPage {
    let maxBytes: Int
    private(set) var items: [String] = []
    private(set) var size = 0
    /// Set once a record did not fit: the answer says `"truncated": true`.
    private(set) var truncated = false

    var count: Int { items.count }

    /// Adds `text` unless it would pass the budget; false (and truncated) when it did not fit.
    mutating func add(_ text: String) -> Bool {
        if !items.isEmpty && size + text.utf8.count > maxBytes {
            truncated = true
            return false
        }
        items.append(text)
        size += text.utf8.count + 1
        return true
    }

    /// `{"records": [...], <extra>}`, with `"truncated": true` when a record did not fit.
    func answer(extra: String) -> String {
        "{\"records\":[" + items.joined(separator: ",") + "]," + extra + (truncated ? ",\"truncated\":true}" : "}")
    }
}
