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
    /// WebSocket subscriptions and WebSocket ingest.
    func liveRoutes(hub: FeedHub) -> RouteCollection<GatewayContext> {
        let routes = RouteCollection(context: GatewayContext.self)
        routes.ws("ws/topics/:topic") { request, context in
            _ = try authorize(request, .read, topic: try context.parameters.require("topic"))
            _ = try await subscription(request, context)
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let (topic, partitions, positions) = try await subscription(context.request, context.requestContext)
            let now = wallClockMilliseconds()
            var starts: [Int: Int64] = [:]
            for index in partitions { starts[index] = try await positions.start(in: storage, topic: topic, index: index, now: now) }
            let stream = TopicStream(topic: topic, partitions: partitions, starts: starts, hub: hub, options: options, metrics: metrics)
            try await stream.run(inbound: inbound, outbound: outbound, channel: context.requestContext.channel)
        }
        routes.ws("ws/ingest/:topic") { request, context in
            let name = try context.parameters.require("topic")
            if signatures[name] != nil {
                throw Failure(401, "topic \"\(name)\" accepts only signed requests; POST them to /topics/\(name)")
            }
            try await authorizeWrite(request, topic: name)
            _ = try await resolveTopic(name)
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let name = try context.requestContext.parameters.require("topic")
            let key = context.request.uri.queryParameters["key"].map(String.init) ?? context.request.headers[keyHeader]
            try await WebSocketIngest(gateway: self, topicName: name, key: key).run(inbound: inbound, outbound: outbound)
        }
        return routes
    }

    /// The topic, partitions and start rule of a `/ws/topics/{topic}` request; throws 400/404.
    func subscription(_ request: Request, _ context: GatewayContext) async throws -> (String, [Int], StartPositions) {
        let name = try context.parameters.require("topic")
        guard let count = try await storage.partitionCount(of: name) else { throw Failure(404, "unknown topic \"\(name)\"") }
        let query = request.uri.queryParameters
        var partitions = Array(0..<count)
        if let raw = query["partition"].map(String.init) {
            guard let index = Int(raw), (0..<count).contains(index) else {
                throw Failure(400, "partition must be between 0 and \(count - 1), got \"\(raw)\"")
            }
            partitions = [index]
        }
        guard partitions.count <= options.maxSubscriptionPartitions else {
            throw Failure(
                400,
                "topic \"\(name)\" has \(partitions.count) partitions, more than one subscription follows (\(options.maxSubscriptionPartitions)); subscribe per partition with ?partition=K"
            )
        }
        switch StartPositions.parse(from: query["from"].map(String.init), since: query["since"].map(String.init)) {
        case .success(let positions): return (name, partitions, positions)
        case .failure(let problem): throw Failure(400, problem.message)
        }
    }

}
