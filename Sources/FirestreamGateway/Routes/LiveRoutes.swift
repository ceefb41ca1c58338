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
            _ = try subscription(request, context)
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let (topic, partitions, positions) = try subscription(context.request, context.requestContext)
            let now = wallClockMilliseconds()
            var starts: [Int: Int64] = [:]
            for index in partitions { starts[index] = positions.start(in: topic.partitions[index], index: index, now: now) }
            let stream = TopicStream(topic: topic, partitions: partitions, starts: starts, hub: hub, options: options, metrics: metrics)
            try await stream.run(inbound: inbound, outbound: outbound, channel: context.requestContext.channel)
        }
        routes.ws("ws/ingest/:topic") { request, context in
            let name = try context.parameters.require("topic")
            if signatures[name] != nil {
                throw Failure(401, "topic \"\(name)\" accepts only signed requests; POST them to /topics/\(name)")
            }
            try authorizeWrite(request, topic: name)
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
    func subscription(_ request: Request, _ context: GatewayContext) throws -> (Topic, [Int], StartPositions) {
        let name = try context.parameters.require("topic")
        guard let topic = log.topicIfExists(name) else { throw Failure(404, "unknown topic \"\(name)\"") }
        let query = request.uri.queryParameters
        var partitions = Array(topic.partitions.indices)
        if let raw = query["partition"].map(String.init) {
            guard let index = Int(raw), topic.partitions.indices.contains(index) else {
                throw Failure(400, "partition must be between 0 and \(topic.partitions.count - 1), got \"\(raw)\"")
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
        case .success(let positions): return (topic, partitions, positions)
        case .failure(let problem): throw Failure(400, problem.message)
        }
    }

}
