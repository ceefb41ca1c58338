public import Logging
import NIOCore
import NIOPosix
public import ServiceLifecycle

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

    public func run() async throws {
        let maxRequestBytes = maxRequestBytes
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxBytes: maxRequestBytes)))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
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
                        for try await connection in connections {
                            group.addTask { await serve(connection) }
                        }
                    }
                    group.cancelAll()
                }
            }
        } catch is CancellationError {
            // Shut down (gracefully, or the group was cancelled): a clean stop, not a failure.
        }
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let peer = connection.channel.remoteAddress.map { "\($0)" } ?? "?"
        // As Kafka shows a member's host in DescribeGroups.
        let host = connection.channel.remoteAddress?.ipAddress.map { "/\($0)" } ?? ""
        do {
            try await connection.executeThenClose { requests, responses in
                for try await frame in requests {
                    switch await broker.respond(to: Array(frame.readableBytesView), peer: host) {
                    case .frame(let bytes): try await responses.write(ByteBuffer(bytes: bytes))
                    case .none: continue
                    case .close(let reason):
                        logger.warning("closing the Kafka connection from \(peer): \(reason)")
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

    let maxBytes: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { return .needMoreData }
        guard size >= 0, Int(size) <= maxBytes else {
            throw BadFrame(description: "a request of \(size) bytes (the limit is \(maxBytes))")
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
