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
        routes.get("topics") { request, _ in json(listTopics(for: try principal(request))) }
        routes.get("topics/:topic/records") { request, context in try consume(request, context) }
        routes.post("topics/:topic") { request, context in try await ingest(request, context) }
        return routes
    }

    func listTopics(for principal: Principal) -> String {
        let items = log.topicNames.filter { !$0.hasPrefix("__") && principal.may(.read, topic: $0) }.compactMap { name in
            log.topicIfExists(name).map { TopicListing.Item(name: name, partitions: $0.partitions.count, records: $0.recordCount) }
        }
        return jsonText(TopicListing(topics: items))
    }

    /// 416: `offset` was removed by retention before it was read.
    func removedByRetention(_ offset: Int64, start: Int64) -> Response {
        failure(416, "offset \(offset) was removed by retention; the partition starts at \(start)")
    }

    func consume(_ request: Request, _ context: GatewayContext) throws -> Response {
        let name = try context.parameters.require("topic")
        _ = try authorize(request, .read, topic: name)
        guard let topic = log.topicIfExists(name) else { return failure(404, "unknown topic \"\(name)\"") }
        let query = request.uri.queryParameters
        guard let partitionIndex = Int(query["partition"].map(String.init) ?? "0"), topic.partitions.indices.contains(partitionIndex) else {
            return failure(400, "partition must be between 0 and \(topic.partitions.count - 1)")
        }
        guard let limit = Int(query["limit"].map(String.init) ?? "100"), (1...10_000).contains(limit) else {
            return failure(400, "limit must be between 1 and 10000")
        }
        let partition = topic.partitions[partitionIndex]
        // The same start positions as WebSocket subscriptions, but from the oldest record by default.
        let from = query["from"].map(String.init) ?? (query["since"] == nil ? "earliest" : nil)
        let positions: StartPositions
        switch StartPositions.parse(from: from, since: query["since"].map(String.init)) {
        case .success(let parsed): positions = parsed
        case .failure(let problem): return failure(400, problem.message)
        }
        if case .offset(let offset) = positions.rule, offset < partition.startOffset {
            return removedByRetention(offset, start: partition.startOffset)
        }
        var reader = PartitionReader(
            partition, from: positions.start(in: partition, index: partitionIndex, now: wallClockMilliseconds()), whenRemoved: .fail)
        // At most `limit` records and `maxResponseBytes` of JSON (at least one record): a
        // client continues from `next`.
        var rendered: [String] = []
        var size = 0
        var truncated = false
        var next = reader.position
        reading: while rendered.count < limit {
            let batch: PartitionReader.Batch
            do {
                batch = try reader.poll(maxBytes: min(1 << 20, options.maxResponseBytes), maxRecords: limit - rendered.count)
            } catch {
                guard case .offsetOutOfRange(let requested, let start, _) = error else { throw error }
                return removedByRetention(requested, start: start)
            }
            if batch.records.isEmpty { break }
            for record in batch.records {
                let text = RecordJSON.render(topic: name, partition: partitionIndex, record)
                if !rendered.isEmpty && size + text.utf8.count > options.maxResponseBytes {
                    truncated = true
                    break reading
                }
                rendered.append(text)
                size += text.utf8.count + 1
                next = record.offset + 1
            }
        }
        if truncated { metrics.truncatedResponses.increment() }
        let body =
            "{\"records\":[" + rendered.joined(separator: ",") + "],\"next\":\(next),\"end\":\(partition.durableOffset)"
            + (truncated ? ",\"truncated\":true}" : "}")
        return json(body)
    }

    func ingest(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let name = try context.parameters.require("topic")
        // A signed topic's senders prove themselves with the signature (webhook providers send
        // no bearer tokens); every other topic needs a token that may write it.
        if signatures[name] == nil {
            try authorizeWrite(request, topic: name)
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
        let topic: Topic
        do {
            topic = try await resolveTopic(name)
        } catch let refusal as Failure {
            return failure(refusal.status.code, refusal.message)
        }
        let placed = try await append(records, to: topic, bytes: buffer.readableBytes)
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
    func resolveTopic(_ name: String) async throws -> Topic {
        if let existing = log.topicIfExists(name) { return existing }
        guard options.autoCreateTopics else {
            throw Failure(404, "unknown topic \"\(name)\" (create it, declare it in the config, or enable auto-create)")
        }
        // Creating a topic fsyncs its metadata and directories: not on a cooperative thread.
        let log = self.log
        let created = await BlockingIO.run { Result(catching: { () throws(LogError) in try log.ensureTopic(name) }) }
        switch created {
        case .success(let topic): return topic
        case .failure(let error): throw Failure(400, "\(error)")
        }
    }

    /// Appends and returns once durable.
    func append(_ records: [IngestBody.Record], to topic: Topic, bytes: Int) async throws -> [(partition: Int, offset: Int64)] {
        let now = wallClockMilliseconds()
        let placed = try await topic.append(records.map { $0.producerRecord(timestamp: now) })
        metrics.ingestedRecords.increment(by: records.count)
        metrics.ingestedBytes.increment(by: bytes)
        return placed
    }

}
