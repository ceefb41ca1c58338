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
    /// The dashboard's pages (live charts, SQL, catalog), its Plotly.js, and its sign-in (`/session`, `/login`, `/logout`).
    func dashboardRoutes() -> RouteCollection<GatewayContext> {
        let routes = RouteCollection(context: GatewayContext.self)
        routes.get("/") { _, _ in dashboard() }
        routes.get("dashboard/sql") { _, _ in dashboard(DashboardPage.warehouse) }
        routes.get("dashboard/catalog") { _, _ in dashboard(DashboardPage.warehouse) }
        routes.get("plotly.min.js") { _, _ in try plotly() }
        routes.get("session") { request, _ in sessionStatus(request) }
        routes.post("login") { request, _ in try await login(request) }
        routes.post("logout") { request, _ in logout(request) }
        return routes
    }

    func dashboard(_ html: String = DashboardPage.html) -> Response {
        let page: String
        let status: HTTPResponse.Status
        switch options.plotly ?? .missing("Plotly.js was not looked up.") {
        case .file: (page, status) = (html, .ok)
        case .missing(let why): (page, status) = (DashboardPage.missingPlotly(why), .serviceUnavailable)
        }
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: page)))
    }

    func plotly() throws -> Response {
        guard case .file(let path) = options.plotly ?? .missing("") else {
            throw Failure(404, "Plotly.js is not installed: python3 -m pip install plotly, or firestream up --plotly-js PATH")
        }
        let script = try plotlyScript.load(path)
        return Response(
            status: .ok, headers: [.contentType: "application/javascript", .cacheControl: "max-age=86400"],
            body: ResponseBody(byteBuffer: script))
    }

}

/// Plotly.js read once and kept (it is about 4.8 MB).
final class PlotlyScript: Sendable {
    private let cached = Locked<ByteBuffer?>(nil)

    func load(_ path: String) throws -> ByteBuffer {
        if let buffer = cached.withLock({ $0 }) { return buffer }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(404, "cannot read Plotly.js at \(path)")
        }
        let buffer = ByteBuffer(bytes: data)
        cached.withLock { $0 = buffer }
        return buffer
    }
}
