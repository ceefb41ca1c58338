public import Logging
import NIOCore
import NIOPosix
public import ServiceLifecycle
import Synchronization

/// Serves a ``KafkaBroker`` on a TCP port with swift-nio. Each connection's requests are
/// answered one after another, in order (as Kafka does: clients pipeline, and match answers by
/// order and correlation id); connections run concurrently. A frame that cannot be read closes
/// its connection with a log line; nothing else is affected.
public struct KafkaServer: Service {
    public let broker: KafkaBroker
    public let host: String
    public let port: Int
    /// The largest request accepted (Kafka's socket.request.max.bytes).
    public let maxRequestBytes: Int
    let logger: Logger
    let bound: @Sendable (Int) -> Void

    /// `bound` is told the port actually listened on (useful with port 0).
    public init(
        broker: KafkaBroker, host: String, port: Int, maxRequestBytes: Int = 100 << 20, logger: Logger = Logger(label: "firestream.kafka"),
        bound: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.broker = broker
        self.host = host
        self.port = port
        self.maxRequestBytes = maxRequestBytes
        self.logger = logger
        self.bound = bound
    }

    /// How long a refused authentication waits before its answer and the close.
    static let refusalDelay = Duration.milliseconds(100)
    /// Closes of connections that never authenticated are logged every 10 s at most: a client
    /// retrying a wrong password, or without any, would otherwise fill the log.
    let anonymousCloses = LogThrottle(interval: .seconds(10))

    private func closing(_ peer: String, _ reason: String, anonymous: Bool) {
        guard anonymous else {
            logger.warning("closing the Kafka connection from \(peer): \(reason)")
            return
        }
        anonymousCloses.note { held in
            logger.warning(
                "closing the Kafka connection from \(peer): \(reason)\(held > 0 ? " (and \(held) unauthenticated more since the last such line)" : "")"
            )
        }
    }

    /// The largest request of a client that has not authenticated yet (Kafka's
    /// sasl.server.max.receive.size): nobody may make the broker buffer 100 MiB unasked.
    public static let maxUnauthenticatedRequestBytes = 512 << 10

    public func run() async throws {
        let maxRequestBytes = maxRequestBytes
        let initialLimit = broker.authenticationRequired ? min(maxRequestBytes, Self.maxUnauthenticatedRequestBytes) : maxRequestBytes
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let limit = FrameLimit(initialLimit, ceiling: maxRequestBytes)
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(limit: limit)))
                    return (try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel), limit)
                }
            }
        let port = server.channel.localAddress?.port ?? port
        broker.listening(on: port)
        bound(port)
        // On shutdown the listener closes and open connections are cancelled; an answer being
        // written for a durable append is still sent (the log does not cancel those waits).
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    // Consumer groups' clock: sessions expire, rebalances complete.
                    group.addTask {
                        while (try? await Task.sleep(for: .milliseconds(100))) != nil { await broker.tick() }
                    }
                    try await server.executeThenClose { connections in
                        for try await (connection, limit) in connections {
                            group.addTask { await serve(connection, limit: limit) }
                        }
                    }
                    group.cancelAll()
                }
            }
        } catch is CancellationError {
            // Shut down (gracefully, or the group was cancelled): a clean stop, not a failure.
        }
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, limit: FrameLimit) async {
        let peer = connection.channel.remoteAddress.map { "\($0)" } ?? "?"
        // As Kafka shows a member's host in DescribeGroups.
        var client = broker.connection(peer: connection.channel.remoteAddress?.ipAddress.map { "/\($0)" } ?? "")
        do {
            try await connection.executeThenClose { requests, responses in
                for try await frame in requests {
                    let reply = await broker.respond(to: Array(frame.readableBytesView), on: &client)
                    if client.isAuthenticated { limit.lift() }
                    switch reply {
                    case .frame(let bytes): try await responses.write(ByteBuffer(bytes: bytes))
                    case .none: continue
                    case .close(let reason):
                        closing(peer, reason, anonymous: !client.isAuthenticated)
                        return
                    case .last(let bytes, let reason):
                        // As Kafka's connection.failed.authentication.delay.ms: a client retrying
                        // a wrong password at once does not keep the broker busy.
                        try await Task.sleep(for: Self.refusalDelay)
                        try await responses.write(ByteBuffer(bytes: bytes))
                        closing(peer, reason, anonymous: !client.isAuthenticated)
                        return
                    }
                }
            }
        } catch is CancellationError {
            return
        } catch ChannelError.ioOnClosedChannel {
            // The client went away before its answer was written (a consumer closing while its
            // fetch waited): nothing to report.
            logger.debug("the Kafka connection from \(peer) closed before its answer")
        } catch {
            logger.warning("the Kafka connection from \(peer) ended: \(error)")
        }
    }
}

/// Splits the byte stream into request frames: a 4-byte big-endian size, then that many bytes.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    struct BadFrame: Error, CustomStringConvertible {
        var description: String
    }

    let limit: FrameLimit

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { return .needMoreData }
        let maxBytes = limit.bytes
        guard size >= 0, Int(size) <= maxBytes else {
            throw BadFrame(
                description: "a request of \(size) bytes (the limit is \(maxBytes)\(maxBytes < limit.ceiling ? " before authentication" : ""))")
        }
        guard buffer.readableBytes >= 4 + Int(size) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(Self.wrapInboundOut(buffer.readSlice(length: Int(size))!))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// The largest frame a connection may send: small until it authenticates, then the server's
/// limit. Shared by the connection's decoder (on its event loop) and its request loop.
final class FrameLimit: Sendable {
    private let initial: Int
    private let lifted = Atomic<Bool>(false)
    /// The server's limit, reached once the client authenticates.
    let ceiling: Int

    init(_ initial: Int, ceiling: Int) {
        self.initial = initial
        self.ceiling = ceiling
    }

    var bytes: Int { lifted.load(ordering: .relaxed) ? ceiling : initial }

    /// The client authenticated: from now on, the server's limit.
    func lift() { lifted.store(true, ordering: .relaxed) }
}

/// Lets one of a kind of log line through per interval, and counts the ones held back.
final class LogThrottle: Sendable {
    private let interval: Duration
    private let state = Mutex<(last: ContinuousClock.Instant?, suppressed: Int)>((nil, 0))

    init(interval: Duration) {
        self.interval = interval
    }

    /// Calls `log` with the number of lines held back since the last one, unless one was let
    /// through within the interval.
    func note(_ log: (Int) -> Void) {
        let now = ContinuousClock.now
        let suppressed: Int? = state.withLock { state in
            if let last = state.last, now - last < interval {
                state.suppressed += 1
                return nil
            }
            defer { state = (now, 0) }
            return state.suppressed
        }
        if let suppressed { log(suppressed) }
    }
}
