import FirestreamFormats
import FirestreamJSON
import FirestreamLog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import KafkaWire
import Logging
import HummingbirdWebSocket
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

        public init(
            host: String = "127.0.0.1", port: Int = 8000, maxBodyBytes: Int = 1 << 20, autoCreateTopics: Bool = false,
            feedBufferBytes: Int = 8 << 20, maxFrameBytes: Int = 256 << 10, stallTimeout: Duration = .seconds(10),
            pingInterval: Duration = .seconds(30), plotly: PlotlyAsset.Location? = nil, maxConnections: Int = 4096,
            headerTimeout: Duration = .seconds(10), idleTimeout: Duration = .seconds(60), bodyTimeout: Duration = .seconds(30),
            maxSubscriptionPartitions: Int = 256, maxResponseBytes: Int = 4 << 20, feedIdleTimeout: Duration = .seconds(30)
        ) {
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

    public let log: Log
    public let options: Options
    /// Per topic: the JSON pointer whose value keys ingested records (from the config).
    public let keyPointers: [String: JSONPointer]
    /// Per topic: the signature ingest requests must carry (from the config).
    public let signatures: [String: WebhookSignature]
    public let metrics: GatewayMetrics
    /// The apps' input positions, for the lag gauge of `/metrics`.
    public let appPositions: @Sendable () -> [GatewayMetrics.AppPosition]
    /// Tokens, allowed hosts and origins, and the topics no client writes.
    public let access: AccessPolicy
    let sessions = Sessions()
    private let plotlyScript = PlotlyScript()

    public init(
        log: Log, options: Options, keyPointers: [String: JSONPointer] = [:], signatures: [String: WebhookSignature] = [:],
        access: AccessPolicy = AccessPolicy(), metrics: GatewayMetrics = GatewayMetrics(),
        appPositions: @escaping @Sendable () -> [GatewayMetrics.AppPosition] = { [] }
    ) {
        self.log = log
        self.options = options
        self.keyPointers = keyPointers
        self.signatures = signatures
        self.access = access
        self.metrics = metrics
        self.appPositions = appPositions
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

    /// Serves until the calling task is cancelled or its service group shuts down gracefully;
    /// `onListening` receives the bound port.
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let hub = FeedHub(capacityBytes: options.feedBufferBytes, idleTimeout: options.feedIdleTimeout)
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

    func router(hub: FeedHub, limiter: ConnectionLimiter? = nil) -> Router<GatewayContext> {
        let router = Router(context: GatewayContext.self)
        router.add(middleware: StatusCountingMiddleware(metrics: metrics))
        router.add(middleware: OriginCheckMiddleware(access: access, metrics: metrics))
        router.get("/") { _, _ in dashboard() }
        router.get("plotly.min.js") { _, _ in try plotly() }
        router.get("healthz") { _, _ in "ok\n" }
        router.get("readyz") { _, _ in "ready\n" }
        router.get("session") { request, _ in sessionStatus(request) }
        router.post("login") { request, _ in try await login(request) }
        router.post("logout") { request, _ in logout(request) }
        router.get("metrics") { request, _ in
            guard try principal(request).mayReadMetrics else { throw Failure(403, "this token may not read /metrics (it needs the metrics:read or admin scope)") }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(
                        string: metrics.render(
                            log: log, apps: appPositions(), feeds: (hub.count, hub.heldBytes), feedEnds: hub.ends, connections: limiter?.current ?? 0))))
        }
        router.get("topics") { request, _ in json(listTopics(for: try principal(request))) }
        router.get("topics/:topic/records") { request, context in try consume(request, context) }
        router.post("topics/:topic") { request, context in try await ingest(request, context) }
        router.ws("ws/topics/:topic") { request, context in
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
        router.ws("ws/ingest/:topic") { request, context in
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
        return router
    }

    // MARK: Handlers

    private func listTopics(for principal: Principal) -> String {
        let items = log.topicNames.filter { !$0.hasPrefix("__") && principal.may(.read, topic: $0) }.compactMap { name -> String? in
            guard let topic = log.topicIfExists(name) else { return nil }
            return "{\"name\":\(JSONText.quote(name)),\"partitions\":\(topic.partitions.count),\"records\":\(topic.recordCount)}"
        }
        return "{\"topics\":[" + items.joined(separator: ",") + "]}"
    }

    private func dashboard() -> Response {
        let page: String
        let status: HTTPResponse.Status
        switch options.plotly ?? .missing("Plotly.js was not looked up.") {
        case .file: (page, status) = (DashboardPage.html, .ok)
        case .missing(let why): (page, status) = (DashboardPage.missingPlotly(why), .serviceUnavailable)
        }
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: page)))
    }

    private func plotly() throws -> Response {
        guard case .file(let path) = options.plotly ?? .missing("") else {
            throw Failure(404, "Plotly.js is not installed: python3 -m pip install plotly, or firestream up --plotly-js PATH")
        }
        let script = try plotlyScript.load(path)
        return Response(
            status: .ok, headers: [.contentType: "application/javascript", .cacheControl: "max-age=86400"],
            body: ResponseBody(byteBuffer: script))
    }

    /// The topic, partitions and start rule of a `/ws/topics/{topic}` request; throws 400/404.
    private func subscription(_ request: Request, _ context: GatewayContext) throws -> (Topic, [Int], StartPositions) {
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
                400, "topic \"\(name)\" has \(partitions.count) partitions, more than one subscription follows (\(options.maxSubscriptionPartitions)); subscribe per partition with ?partition=K")
        }
        switch StartPositions.parse(from: query["from"].map(String.init), since: query["since"].map(String.init)) {
        case .success(let positions): return (topic, partitions, positions)
        case .failure(let problem): throw Failure(400, problem.message)
        }
    }

    private func consume(_ request: Request, _ context: GatewayContext) throws -> Response {
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
            return failure(416, "offset \(offset) was removed by retention; the partition starts at \(partition.startOffset)")
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
                return failure(416, "offset \(requested) was removed by retention; the partition starts at \(start)")
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

    private func ingest(_ request: Request, _ context: GatewayContext) async throws -> Response {
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

// MARK: Access

extension Gateway {
    /// Who sent `request`: anyone when no tokens are configured; otherwise the bearer token's or
    /// the session cookie's principal, or a 401.
    func principal(_ request: Request) throws -> Principal {
        guard access.authenticationRequired else { return .anyone }
        if let header = request.headers[.authorization] {
            guard header.lowercased().hasPrefix("bearer "), let token = access.token(matching: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)) else {
                metrics.authenticationFailures.increment()
                throw Failure(401, "the bearer token is not one of this project's tokens")
            }
            return Principal(name: token.name, scopes: token.scopes)
        }
        if let id = Sessions.id(inCookieHeader: request.headers[.cookie]), let principal = sessions.principal(for: id, now: wallClockMilliseconds() / 1000) {
            return principal
        }
        metrics.authenticationFailures.increment()
        throw Failure(401, "authentication required: send Authorization: Bearer <token> (see firestream token create), or sign in on the dashboard")
    }

    /// The principal, when it may do `action` on `topic`; a 403 otherwise.
    func authorize(_ request: Request, _ action: TokenScope.Action, topic: String) throws -> Principal {
        let principal = try principal(request)
        guard principal.may(action, topic: topic) else {
            throw Failure(403, "token \"\(principal.name)\" may not \(action.rawValue) topic \"\(topic)\" (its scopes: \(principal.scopes.map(\.description).joined(separator: ", ")))")
        }
        return principal
    }

    /// The checks of `authorize(_:.write:)`, a 403 for topics no client writes, and, when the
    /// write would auto-create the topic, the `admin` scope.
    func authorizeWrite(_ request: Request, topic: String) throws {
        _ = try authorize(request, .write, topic: topic)
        if let refusal = access.writeProtection(topic) {
            metrics.protectedWrites.increment()
            throw Failure(403, refusal)
        }
        if options.autoCreateTopics, log.topicIfExists(topic) == nil { _ = try authorize(request, .admin, topic: topic) }
    }

    func sessionStatus(_ request: Request) -> Response {
        let principal = try? principal(request)
        let name = principal.map { JSONText.quote($0.name) } ?? "null"
        return json("{\"required\":\(access.authenticationRequired),\"authenticated\":\(principal != nil),\"name\":\(name)}")
    }

    /// `POST /login` with `{"token": "…"}`: a session cookie for the dashboard.
    func login(_ request: Request) async throws -> Response {
        let body = try await collectBody(request, limit: 4096)
        let bytes = Array(body.readableBytesView)
        guard JSONBytes.isValid(bytes), let token = JSONPointer("/token")?.keyText(in: bytes) else {
            throw Failure(400, "send {\"token\": \"…\"} as application/json")
        }
        guard access.authenticationRequired else { return json("{\"authenticated\":true,\"name\":\"anyone\"}") }
        guard let match = access.token(matching: token) else {
            metrics.authenticationFailures.increment()
            throw Failure(401, "that is not one of this project's tokens")
        }
        let id = sessions.create(for: Principal(name: match.name, scopes: match.scopes), now: wallClockMilliseconds() / 1000)
        var response = json("{\"authenticated\":true,\"name\":\(JSONText.quote(match.name))}")
        response.headers[.setCookie] = "\(Sessions.cookieName)=\(id); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Sessions.lifetimeSeconds)"
        return response
    }

    func logout(_ request: Request) -> Response {
        if let id = Sessions.id(inCookieHeader: request.headers[.cookie]) { sessions.remove(id) }
        var response = json("{\"authenticated\":false}")
        response.headers[.setCookie] = "\(Sessions.cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
        return response
    }
}

/// Refuses requests whose `Host` or `Origin` is not allowed (DNS rebinding, other web pages),
/// before any route runs; `/healthz` and `/readyz` stay open to probes.
struct OriginCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    let access: AccessPolicy
    let metrics: GatewayMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/healthz" || request.uri.path == "/readyz" { return try await next(request, context) }
        if let problem = access.hostProblem(request.head.authority) ?? access.originProblem(request.headers[.origin], authority: request.head.authority) {
            metrics.originRefusals.increment()
            return failure(403, problem)
        }
        return try await next(request, context)
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

/// Plotly.js read once and kept (it is about 4.8 MB).
private final class PlotlyScript: Sendable {
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
    var response = json("{\"status\":\(status),\"error\":\(JSONText.quote(message))}", status: HTTPResponse.Status(code: status))
    if status == 401 { response.headers[.wwwAuthenticate] = "Bearer realm=\"firestream\"" }
    return response
}
