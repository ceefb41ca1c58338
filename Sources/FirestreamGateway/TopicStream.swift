import CoreMetrics
import FirestreamFormats
import FirestreamJSON
import FirestreamLog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import KafkaWire
import NIOCore
import NIOWebSocket
import Synchronization

/// One WebSocket subscriber of a topic: a task per partition pulls frames from the shared feed
/// (or from the log while catching up) and writes them. The client's socket is its only queue:
/// when it falls so far behind that the feed no longer holds its position, it gets a `gap`
/// notice and skips to the newest records; when a write makes no progress for `stallTimeout`,
/// the connection is closed. Either way the other clients never wait for it.
struct TopicStream {
    let topic: String
    let partitions: [Int]
    let starts: [Int: Int64]
    let hub: FeedHub
    let options: Gateway.Options
    let metrics: GatewayMetrics

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, channel: any Channel) async throws {
        let progress = WriteProgress()
        // The feeds start following their partitions before the client hears it is subscribed.
        var feeds: [Int: PartitionFeed] = [:]
        defer { for feed in feeds.values { hub.release(feed) } }
        for index in partitions { feeds[index] = try await hub.acquire(topic, partition: index) }
        let subscribed = SubscribedNotice(
            subscribed: .init(topic: topic, partitions: partitions.map { .init(partition: $0, from: starts[$0] ?? 0) }))
        try await progress.write(outbound, ByteBuffer(string: jsonText(subscribed)))
        metrics.webSocketClients.increment()
        defer { metrics.webSocketClients.decrement() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Reading keeps pings, pongs and the close handshake flowing; the client sends nothing else.
                for try await _ in inbound {}
            }
            group.addTask {
                // The watchdog: a write stuck longer than the stall timeout closes the connection.
                while !Task.isCancelled {
                    try await Task.sleep(for: .milliseconds(min(1000, options.stallTimeout.milliseconds)))
                    if progress.stalled(longerThan: options.stallTimeout) {
                        metrics.slowClientsClosed.increment()
                        channel.close(promise: nil)
                        return
                    }
                }
            }
            for (index, feed) in feeds {
                let start = starts[index]!
                group.addTask { try await streamPartition(feed, from: start, outbound: outbound, progress: progress) }
            }
            _ = try await group.next()
            group.cancelAll()
        }
    }

    private func streamPartition(_ feed: PartitionFeed, from start: Int64, outbound: WebSocketOutboundWriter, progress: WriteProgress) async throws {
        var cursor = start
        var live = false
        // Opened on the first catch-up and kept while it lasts (on Kafka, a reader is a consumer).
        var history: (any RecordCursor)?
        defer { history?.close() }
        while !Task.isCancelled {
            switch await feed.next(from: cursor, maxBytes: options.maxFrameBytes) {
            case .closed:
                return
            case .records(let frame, let count, let next):
                if count > 0 {
                    try await progress.write(outbound, frame)
                    metrics.recordFrames(count: count)
                }
                cursor = next
                live = true
            case .behind(let ringStart, let newest):
                if live {
                    // It fell out of the feed while live: skip ahead, say so, keep going.
                    metrics.recordsSkipped.increment(by: Int(newest - cursor))
                    metrics.gaps.increment()
                    try await progress.write(outbound, gapNotice(feed, from: cursor, to: newest))
                    cursor = newest
                } else {
                    if history == nil || history?.position != cursor {
                        history?.close()
                        history = try await feed.storage.cursor(on: feed.topic, partition: feed.partition, from: cursor, whenRemoved: .skip)
                    }
                    cursor = try await catchUp(feed, history!, until: ringStart, outbound: outbound, progress: progress)
                }
            }
        }
    }

    /// `{"gap": {…}}`: the records from `from` to `to` will not be sent.
    private func gapNotice(_ feed: PartitionFeed, from: Int64, to: Int64) -> ByteBuffer {
        ByteBuffer(string: jsonText(GapNotice(topic: feed.topic, partition: feed.partition, from: from, to: to)))
    }

    /// Replays history older than the feed straight from the log, at the client's pace.
    private func catchUp(
        _ feed: PartitionFeed, _ reader: any RecordCursor, until end: Int64, outbound: WebSocketOutboundWriter, progress: WriteProgress
    ) async throws -> Int64 {
        let cursor = reader.position
        let batch = try await reader.poll(maxBytes: options.maxFrameBytes)
        if let skipped = batch.skipped {
            // Retention removed these records while the client was catching up.
            try await progress.write(outbound, gapNotice(feed, from: skipped.lowerBound, to: skipped.upperBound))
            return skipped.upperBound
        }
        let records = batch.records.prefix { $0.offset < end }
        guard !records.isEmpty else { return max(cursor + 1, min(reader.position, end)) }
        let rendered = records.map { RecordJSON.render(topic: feed.topic, partition: feed.partition, $0) }
        let text = rendered.count == 1 ? rendered[0] : "[" + rendered.joined(separator: ",") + "]"
        try await progress.write(outbound, ByteBuffer(string: text))
        metrics.recordFrames(count: rendered.count)
        return records.last!.offset + 1
    }
}

/// Tracks whether a connection's writes are making progress.
final class WriteProgress: Sendable {
    private let inFlight = Atomic<Int>(0)
    private let lastProgress = Atomic<Int64>(monotonicMilliseconds())

    func write(_ outbound: WebSocketOutboundWriter, _ frame: ByteBuffer) async throws {
        if inFlight.add(1, ordering: .relaxed).oldValue == 0 {
            lastProgress.store(monotonicMilliseconds(), ordering: .relaxed)
        }
        defer {
            inFlight.subtract(1, ordering: .relaxed)
            lastProgress.store(monotonicMilliseconds(), ordering: .relaxed)
        }
        try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: frame)))
    }

    func stalled(longerThan limit: Duration) -> Bool {
        inFlight.load(ordering: .relaxed) > 0 && monotonicMilliseconds() - lastProgress.load(ordering: .relaxed) > limit.milliseconds
    }
}

func monotonicMilliseconds() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
