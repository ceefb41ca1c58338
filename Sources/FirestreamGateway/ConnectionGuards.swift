import CoreMetrics
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Caps the connections open at once; one over the cap is closed as soon as it is accepted.
final class ConnectionLimiter: Sendable {
    let limit: Int
    private let open = Atomic<Int>(0)
    private let metrics: GatewayMetrics

    init(limit: Int, metrics: GatewayMetrics) {
        self.limit = limit
        self.metrics = metrics
    }

    var current: Int { open.load(ordering: .relaxed) }

    /// Takes a place for a new connection; false (and counted) when there is none.
    func admit() -> Bool {
        if open.add(1, ordering: .relaxed).newValue > limit {
            open.subtract(1, ordering: .relaxed)
            metrics.connectionsRefused.increment()
            return false
        }
        return true
    }

    func release() { open.subtract(1, ordering: .relaxed) }
}

/// The server's child channel with the gateway's guards in front: the connection cap, and a
/// deadline for the first request head (a client that trickles its headers, "slowloris", is
/// closed; later requests on the connection fall under the idle timeout, bodies under the
/// body timeout of the routes that read them).
struct GuardedChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let limiter: ConnectionLimiter
    let headerTimeout: TimeAmount
    let metrics: GatewayMetrics

    struct Refused: Error {}

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard limiter.admit() else {
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(Refused())
        }
        let limiter = self.limiter
        channel.closeFuture.whenComplete { _ in limiter.release() }
        do {
            try channel.pipeline.syncOperations.addHandler(HeaderDeadlineHandler(timeout: headerTimeout, metrics: metrics), position: .first)
        } catch {
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(error)
        }
        return base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Closes a connection whose first request head (up to the blank line) has not arrived within
/// `timeout`; once it has, the handler steps out of the way.
final class HeaderDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private let metrics: GatewayMetrics
    private var deadline: Scheduled<Void>?
    /// The last bytes seen, to find "\r\n\r\n" across reads.
    private var tail: [UInt8] = []
    private var done = false

    init(timeout: TimeAmount, metrics: GatewayMetrics) {
        self.timeout = timeout
        self.metrics = metrics
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let metrics = self.metrics
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            metrics.headerTimeouts.increment()
            loopBound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !done {
            let buffer = unwrapInboundIn(data)
            tail += buffer.readableBytesView
            if tail.firstRange(of: [0x0D, 0x0A, 0x0D, 0x0A]) != nil {
                done = true
                deadline?.cancel()
                deadline = nil
                context.fireChannelRead(data)
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                return
            }
            tail = Array(tail.suffix(3))
        }
        context.fireChannelRead(data)
    }
}

/// Closes a keep-alive connection that has been idle (no new request head) for `timeout` after
/// its last response, and counts it. Sits after the HTTP codec, so it sees requests and
/// responses; a client that starts a request head and never finishes it is idle too.
final class IdleConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private let metrics: GatewayMetrics
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount, metrics: GatewayMetrics) {
        self.timeout = timeout
        self.metrics = metrics
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            timer?.cancel()
            let metrics = self.metrics
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(in: timeout) {
                metrics.idleTimeouts.increment()
                loopBound.value.close(promise: nil)
            }
        }
        context.write(data, promise: promise)
    }
}
