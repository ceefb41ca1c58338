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
    /// Health probes (always open) and `/metrics`.
    func operationsRoutes(hub: FeedHub, limiter: ConnectionLimiter?) -> RouteCollection<GatewayContext> {
        let routes = RouteCollection(context: GatewayContext.self)
        routes.get("healthz") { _, _ in "ok\n" }
        routes.get("readyz") { _, _ -> Response in
            let waiting = unready()
            guard !waiting.isEmpty else { return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ready\n"))) }
            return Response(
                status: .serviceUnavailable,
                body: ResponseBody(
                    byteBuffer: ByteBuffer(string: "not ready: \(waiting.joined(separator: ", ")) (joining a group or restoring state)\n")))
        }
        routes.get("metrics") { request, _ in
            guard try principal(request).mayReadMetrics else {
                throw Failure(403, "this token may not read /metrics (it needs the metrics:read or admin scope)")
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(
                        string: metrics.render(
                            log: log, apps: appPositions(), feeds: (hub.count, hub.heldBytes), feedEnds: hub.ends, connections: limiter?.current ?? 0)
                    )))
        }
        return routes
    }
}
