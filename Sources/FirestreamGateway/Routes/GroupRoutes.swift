import CoreMetrics
import FirestreamFormats
import FirestreamLog
import Foundation
import Hummingbird
import KafkaWire

extension Gateway {
    /// Server-side cursors: a group's committed offsets on a topic, kept by the log as Kafka
    /// consumer groups' are (`firestream groups` lists both), so several HTTP watchers can share one.
    ///
    /// - `GET /groups/{g}/topics/{t}`: each partition's committed offset (null: none yet), end and lag.
    /// - `POST /groups/{g}/topics/{t}/fetch?limit=&reset=earliest|latest`: records after the
    ///   committed offsets (or from `reset` where there are none), and `next`, the offsets to
    ///   commit once they are handled. Fetching does not move the cursor.
    /// - `POST /groups/{g}/topics/{t}/commit` with `{"0": 12, "1": 40}` (partition → next offset).
    func groupRoutes() -> RouteCollection<GatewayContext> {
        let routes = RouteCollection(context: GatewayContext.self)
        routes.get("groups/:group/topics/:topic") { request, context in try await groupPosition(request, context) }
        routes.post("groups/:group/topics/:topic/fetch") { request, context in try await groupFetch(request, context) }
        routes.post("groups/:group/topics/:topic/commit") { request, context in try await groupCommit(request, context) }
        return routes
    }

    /// The group and topic of the path, checked, with the topic's partition count.
    private func groupTarget(_ request: Request, _ context: GatewayContext) async throws -> (group: String, topic: String, partitions: Int) {
        let group = try context.parameters.require("group")
        let topic = try context.parameters.require("topic")
        _ = try authorize(request, .read, topic: topic)
        if let problem = Self.groupNameProblem(group) { throw Failure(400, problem) }
        guard let partitions = try await storage.partitionCount(of: topic) else { throw Failure(404, "unknown topic \"\(topic)\"") }
        return (group, topic, partitions)
    }

    /// Group names as Kafka's tools accept them, and no longer than a topic's.
    static func groupNameProblem(_ group: String) -> String? {
        let allowed = group.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: "-")
        }
        guard allowed, (1...249).contains(group.utf8.count), !group.hasPrefix(".") else {
            return "group \"\(group)\" must be 1 to 249 characters of letters, digits, '.', '_' and '-', not starting with '.'"
        }
        return nil
    }

    func groupPosition(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let (group, topic, partitions) = try await groupTarget(request, context)
        var positions: [GroupPosition.Partition] = []
        for partition in 0..<partitions {
            let bounds = try await storage.bounds(of: topic, partition: partition)
            let committed = try await storage.committed(group: group, topic: topic, partition: partition)
            let lag = bounds.upperBound - max(committed ?? bounds.lowerBound, bounds.lowerBound)
            positions.append(GroupPosition.Partition(partition: partition, committed: committed, end: bounds.upperBound, lag: max(lag, 0)))
        }
        return json(jsonText(GroupPosition(group: group, topic: topic, partitions: positions)))
    }

    func groupFetch(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let (group, topic, partitions) = try await groupTarget(request, context)
        let query = request.uri.queryParameters
        guard let limit = Int(query["limit"].map(String.init) ?? "100"), (1...10_000).contains(limit) else {
            return failure(400, "limit must be between 1 and 10000")
        }
        let reset = query["reset"].map(String.init) ?? "earliest"
        guard reset == "earliest" || reset == "latest" else { return failure(400, "reset must be earliest or latest, not \"\(reset)\"") }
        // Every partition gets a share of the limit, so a busy one cannot starve the others.
        let share = max(1, limit / partitions)
        var page = RecordPage(maxBytes: options.maxResponseBytes)
        var next: [String: Int64] = [:]
        var end: [String: Int64] = [:]
        for partition in 0..<partitions {
            let bounds = try await storage.bounds(of: topic, partition: partition)
            end[String(partition)] = bounds.upperBound
            let committed = try await storage.committed(group: group, topic: topic, partition: partition)
            // A cursor behind retention continues at the first record still stored.
            var position = max(committed ?? (reset == "latest" ? bounds.upperBound : bounds.lowerBound), bounds.lowerBound)
            position = min(position, bounds.upperBound)
            defer { next[String(partition)] = position }
            guard position < bounds.upperBound, page.count < limit, !page.truncated else { continue }
            let reader = try await storage.cursor(on: topic, partition: partition, from: position, whenRemoved: .skip)
            defer { reader.close() }
            var taken = 0
            reading: while taken < share, page.count < limit, reader.position < bounds.upperBound {
                let batch = try await reader.poll(
                    maxBytes: min(1 << 20, options.maxResponseBytes), maxRecords: min(share - taken, limit - page.count))
                if batch.records.isEmpty { break }
                for record in batch.records {
                    guard page.add(RecordJSON.render(topic: topic, partition: partition, record)) else { break reading }
                    taken += 1
                    position = record.offset + 1
                }
            }
        }
        if page.truncated { metrics.truncatedResponses.increment() }
        return json(page.answer(extra: "\"next\":" + jsonText(next) + ",\"end\":" + jsonText(end)))
    }

    func groupCommit(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let (group, topic, partitions) = try await groupTarget(request, context)
        let body = try await collectBody(request, limit: 64 << 10)
        let offsets: [String: Int64]
        do {
            offsets = try JSONDecoder().decode([String: Int64].self, from: Data(body.readableBytesView))
        } catch {
            return failure(400, "the body must be a JSON object of partition → next offset, like {\"0\": 12}")
        }
        guard !offsets.isEmpty else { return failure(400, "the body names no partition; send {\"0\": 12} (partition → next offset)") }
        var checked: [(partition: Int, offset: Int64)] = []
        for (key, offset) in offsets.sorted(by: { $0.key < $1.key }) {
            guard let partition = Int(key), (0..<partitions).contains(partition) else {
                return failure(400, "\(key): not a partition of \(topic) (it has \(partitions): 0 to \(partitions - 1))")
            }
            let bounds = try await storage.bounds(of: topic, partition: partition)
            guard (0...bounds.upperBound).contains(offset) else {
                return failure(400, "\(key): offset \(offset) is past the partition's end (\(bounds.upperBound)); commit the `next` a fetch returned")
            }
            checked.append((partition, offset))
        }
        for (partition, offset) in checked {
            try await storage.commit(group: group, topic: topic, partition: partition, offset: offset)
        }
        return json("{\"committed\":" + jsonText(offsets) + "}")
    }
}

/// `GET /groups/{g}/topics/{t}`.
struct GroupPosition: Encodable {
    struct Partition: Encodable {
        var partition: Int
        var committed: Int64?
        var end: Int64
        var lag: Int64

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(partition, forKey: .partition)
            try container.encode(committed, forKey: .committed)  // null, not left out
            try container.encode(end, forKey: .end)
            try container.encode(lag, forKey: .lag)
        }

        enum CodingKeys: String, CodingKey { case partition, committed, end, lag }
    }

    var group: String
    var topic: String
    var partitions: [Partition]
}
