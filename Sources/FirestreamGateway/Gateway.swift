public import FirestreamFormats
public import FirestreamJSON
public import FirestreamLog
public import FirestreamWarehouse
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import KafkaWire
import Logging
import NIOCore

/// The HTTP side of `firestream up`: health, topic listing, REST consume and durable ingest,
/// served from the same process as the log.
public struct Gateway: Sendable {
    /// Where and how the gateway listens.
    public struct Options: Sendable {
        /// Loopback by default; `0.0.0.0` exposes it.
        public var host: String
        /// 0 picks a free port (tests).
        public var port: Int
        /// Largest request body, and largest WebSocket ingest message, accepted (413 above).
        public var maxBodyBytes: Int
        /// Create unknown topics on ingest instead of answering 404.
        public var autoCreateTopics: Bool
        /// Rendered records kept per watched partition for WebSocket subscribers; a subscriber
        /// that falls further behind than this gets a `gap` notice and skips ahead.
        public var feedBufferBytes: Int
        /// Largest WebSocket frame of records sent to a subscriber.
        public var maxFrameBytes: Int
        /// A subscriber whose socket accepts nothing for this long is disconnected.
        public var stallTimeout: Duration
        /// WebSocket ping period; a peer that does not answer is disconnected.
        public var pingInterval: Duration
        /// Plotly.js for the dashboard (nil: not looked up, the dashboard explains how).
        public var plotly: PlotlyAsset.Location?
        /// Connections open at once (HTTP and WebSocket); more are closed on accept.
        public var maxConnections: Int
        /// A new connection must have sent its first request head within this time.
        public var headerTimeout: Duration
        /// A connection idle between requests is closed after this time.
        public var idleTimeout: Duration
        /// A request body must have arrived whole within this time (408 otherwise).
        public var bodyTimeout: Duration
        /// Partitions one WebSocket subscription may follow (each costs a task).
        public var maxSubscriptionPartitions: Int
        /// Largest response of `GET /topics/{t}/records`, in bytes of JSON.
        public var maxResponseBytes: Int
        /// A partition's feed nobody has watched for this long is stopped and its ring released.
        public var feedIdleTimeout: Duration
        /// The most a `POST /sql` query may take: rows, bytes and time (a request may ask for less).
        public var sqlLimits: QueryLimits

        public init(
            host: String = "127.0.0.1", port: Int = 8000, maxBodyBytes: Int = 1 << 20, autoCreateTopics: Bool = false,
            feedBufferBytes: Int = 8 << 20, maxFrameBytes: Int = 256 << 10, stallTimeout: Duration = .seconds(10),
            pingInterval: Duration = .seconds(30), plotly: PlotlyAsset.Location? = nil, maxConnections: Int = 4096,
            headerTimeout: Duration = .seconds(10), idleTimeout: Duration = .seconds(60), bodyTimeout: Duration = .seconds(30),
            maxSubscriptionPartitions: Int = 256, maxResponseBytes: Int = 4 << 20, feedIdleTimeout: Duration = .seconds(30),
            sqlLimits: QueryLimits = QueryLimits()
        ) {
            self.sqlLimits = sqlLimits
            self.host = host
            self.port = port
            self.maxBodyBytes = maxBodyBytes
            self.autoCreateTopics = autoCreateTopics
            self.feedBufferBytes = feedBufferBytes
            self.maxFrameBytes = maxFrameBytes
            self.stallTimeout = stallTimeout
            self.pingInterval = pingInterval
            self.plotly = plotly
            self.maxConnections = maxConnections
            self.headerTimeout = headerTimeout
            self.idleTimeout = idleTimeout
            self.bodyTimeout = bodyTimeout
            self.maxSubscriptionPartitions = maxSubscriptionPartitions
            self.maxResponseBytes = maxResponseBytes
            self.feedIdleTimeout = feedIdleTimeout
        }
    }

    /// Where the topics live: the embedded log or a Kafka cluster.
    public let storage: any RecordStorage
    /// The embedded log, when that is the storage (`/metrics` reports its figures).
    public var log: Log? { storage.log }
    public let options: Options
    /// Per topic: the JSON pointer whose value keys ingested records (from the config).
    public let keyPointers: [String: JSONPointer]
    /// Per topic: the signature ingest requests must carry (from the config).
    public let signatures: [String: WebhookSignature]
    public let metrics: GatewayMetrics
    /// The apps' input positions, for the lag gauge of `/metrics`.
    public let appPositions: @Sendable () -> [GatewayMetrics.AppPosition]
    /// The apps not ready now (`/readyz` answers 503 naming them): on a Kafka cluster, those
    /// joining their groups or restoring state.
    public let unready: @Sendable () -> [String]
    /// Tokens, allowed hosts and origins, and the topics no client writes.
    public let access: AccessPolicy
    /// What answers `POST /sql`; nil when SQL is not available (503).
    public let queries: (any QueryEngine)?
    /// What `GET /catalog` describes; nil when there is no catalog here (503).
    public let catalog: CatalogBuilder?
    let sessions = Sessions()
    let plotlyScript = PlotlyScript()

    public init(
        storage: any RecordStorage, options: Options, keyPointers: [String: JSONPointer] = [:], signatures: [String: WebhookSignature] = [:],
        access: AccessPolicy = AccessPolicy(), metrics: GatewayMetrics = GatewayMetrics(),
        appPositions: @escaping @Sendable () -> [GatewayMetrics.AppPosition] = { [] }, unready: @escaping @Sendable () -> [String] = { [] },
        queries: (any QueryEngine)? = nil, catalog: CatalogBuilder? = nil
    ) {
        self.unready = unready
        self.queries = queries
        self.catalog = catalog
        self.storage = storage
        self.options = options
        self.keyPointers = keyPointers
        self.signatures = signatures
        self.access = access
        self.metrics = metrics
        self.appPositions = appPositions
    }

    /// A gateway over the embedded log.
    public init(
        log: Log, options: Options, keyPointers: [String: JSONPointer] = [:], signatures: [String: WebhookSignature] = [:],
        access: AccessPolicy = AccessPolicy(), metrics: GatewayMetrics = GatewayMetrics(),
        appPositions: @escaping @Sendable () -> [GatewayMetrics.AppPosition] = { [] }, queries: (any QueryEngine)? = nil,
        catalog: CatalogBuilder? = nil
    ) {
        self.init(
            storage: EmbeddedStorage(log), options: options, keyPointers: keyPointers, signatures: signatures, access: access, metrics: metrics,
            appPositions: appPositions, queries: queries, catalog: catalog)
    }

    /// The gateway could not start listening.
    public struct ListenError: Error, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var reason: String
        public var description: String {
            "cannot listen on \(host):\(port): \(reason) (is another program using the port? choose one with --port, or run without HTTP with --no-http)"
        }
    }

    /// Every route, behind the response counter and the Host/Origin check.
    func router(hub: FeedHub, limiter: ConnectionLimiter? = nil) -> Router<GatewayContext> {
        let router = Router(context: GatewayContext.self)
        router.add(middleware: StatusCountingMiddleware(metrics: metrics))
        router.add(middleware: OriginCheckMiddleware(access: access, metrics: metrics))
        router.add(middleware: StorageFailureMiddleware())
        router.addRoutes(operationsRoutes(hub: hub, limiter: limiter))
        router.addRoutes(dashboardRoutes())
        router.addRoutes(topicRoutes())
        router.addRoutes(groupRoutes())
        router.addRoutes(sqlRoutes())
        router.addRoutes(liveRoutes(hub: hub))
        return router
    }

    /// Serves until the calling task is cancelled or its service group shuts down gracefully;
    /// `onListening` receives the bound port.
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let hub = FeedHub(storage: storage, capacityBytes: options.feedBufferBytes, idleTimeout: options.feedIdleTimeout)
        defer { hub.stop() }
        let limiter = ConnectionLimiter(limit: options.maxConnections, metrics: metrics)
        let router = router(hub: hub, limiter: limiter)
        let webSocketResponder = router.buildResponder()
        let metrics = self.metrics
        let idleTimeout = TimeAmount.milliseconds(options.idleTimeout.milliseconds)
        let headerTimeout = TimeAmount.milliseconds(options.headerTimeout.milliseconds)
        let configuration = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: HTTP1Channel.Configuration(additionalChannelHandlers: [IdleConnectionHandler(timeout: idleTimeout, metrics: metrics)]),
            ws: WebSocketServerConfiguration(maxFrameSize: options.maxBodyBytes, autoPing: .enabled(timePeriod: options.pingInterval)))
        let server = HTTPServerBuilder { responder in
            GuardedChildChannel(
                base: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: webSocketResponder, configuration: configuration),
                limiter: limiter, headerTimeout: headerTimeout, metrics: metrics)
        }
        let application = Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "firestream"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            // Firestream reports what matters itself; the server's own start/stop lines are noise.
            logger: Logger(label: "firestream.http") { _ in SwiftLogNoOpLogHandler() })
        // The feeds' pumps live as long as the server: when it stops (graceful shutdown lets
        // requests finish first), they stop too.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await hub.run() }
            group.addTask {
                do {
                    try await application.run()
                } catch let error as IOError {
                    throw ListenError(host: options.host, port: options.port, reason: String(cString: strerror(error.errnoCode)).lowercased())
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

}

/// The request context of every route: Hummingbird's basics, WebSocket upgrade support, and the
/// connection's channel (a stalled subscriber is disconnected through it).
struct GatewayContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<GatewayContext>
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}

/// A refusal with its status, answered as `{"status": …, "error": …}` like every other.
struct Failure: HTTPResponseError {
    var status: HTTPResponse.Status
    var message: String

    init(_ status: Int, _ message: String) {
        self.status = HTTPResponse.Status(code: status)
        self.message = message
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        failure(status.code, message)
    }
}

func placedJSON(_ placed: [(partition: Int, offset: Int64)]) -> String {
    "[" + placed.map { "{\"partition\":\($0.partition),\"offset\":\($0.offset)}" }.joined(separator: ",") + "]"
}

/// Header carrying the record key when `?key=` is not used.
let keyHeader = HTTPField.Name("X-Firestream-Key")!

func json(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
    Response(
        status: status, headers: [.contentType: "application/json"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: body + "\n")))
}

func failure(_ status: Int, _ message: String) -> Response {
    var response = json(jsonText(ErrorAnswer(status: status, error: message)), status: HTTPResponse.Status(code: status))
    if status == 401 { response.headers[.wwwAuthenticate] = "Bearer realm=\"firestream\"" }
    return response
}
