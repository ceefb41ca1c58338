import FirestreamLog
import KafkaWire
import NIOCore
import Synchronization

/// One partition's live records, rendered to JSON once and kept in a bounded ring, so that any
/// number of WebSocket clients are served without reading or rendering per client.
///
/// A pump task follows the partition's durable end and appends one chunk per read. Clients keep
/// their own cursor and pull chunks at their own pace; a client whose cursor falls out of the
/// ring has fallen too far behind (see `TopicStream`). Memory is bounded by `capacityBytes`.
final class PartitionFeed: Sendable {
    /// The records of one read, rendered.
    struct Chunk: Sendable {
        /// Offset of the first record.
        var first: Int64
        /// Each record's JSON text (`RecordJSON`).
        var records: [String]
        /// The whole chunk as one frame: the record itself when there is one, else an array.
        var frame: ByteBuffer
        var end: Int64 { first + Int64(records.count) }
    }

    /// What a client at `cursor` gets next.
    enum Next: Sendable {
        /// Records starting exactly at the cursor; the frame is shared between clients when the
        /// cursor was at a chunk boundary.
        case records(frame: ByteBuffer, count: Int, next: Int64)
        /// The cursor is below what the ring holds: read the log, or skip ahead.
        case behind(ringStart: Int64, newestChunk: Int64)
        /// The gateway is stopping.
        case closed
    }

    private struct State {
        var chunks: [Chunk] = []
        /// Index of the oldest live chunk in `chunks` (a ring kept by compaction).
        var head = 0
        var bytes = 0
        /// Offset the pump reads next; also the end of the ring.
        var end: Int64
        var waiters: [Int: (cursor: Int64, continuation: CheckedContinuation<Void, Never>)] = [:]
        var nextWaiter = 0
        var closed = false

        var start: Int64 { head < chunks.count ? chunks[head].first : end }
    }

    let topic: String
    let partition: Int
    let log: PartitionLog
    let capacityBytes: Int
    private let state: Mutex<State>

    init(topic: String, partition: Int, log: PartitionLog, capacityBytes: Int) {
        self.topic = topic
        self.partition = partition
        self.log = log
        self.capacityBytes = capacityBytes
        state = Mutex(State(end: log.durableOffset))
    }

    var end: Int64 { state.withLock { $0.end } }

    /// Follows the partition until cancelled, appending a chunk per read.
    func pump() async {
        var next = end
        while !Task.isCancelled {
            guard await log.waitForRecord(at: next) else { break }
            let fetched: FetchedRecords
            do {
                fetched = try log.read(from: next, maxBytes: 256 << 10)
            } catch {
                // Retention removed what we wanted: continue from the partition's start.
                if case .offsetOutOfRange = error { next = log.startOffset; resetRing(at: next); continue }
                break
            }
            guard !fetched.records.isEmpty else {
                next = max(next, fetched.nextOffset)
                continue
            }
            let rendered = fetched.records.map { RecordJSON.render(topic: topic, partition: partition, $0) }
            let first = fetched.records[0].offset
            let frameText = rendered.count == 1 ? rendered[0] : "[" + rendered.joined(separator: ",") + "]"
            let chunk = Chunk(first: first, records: rendered, frame: ByteBuffer(string: frameText))
            next = chunk.end
            append(chunk)
        }
        close()
    }

    private func resetRing(at offset: Int64) {
        state.withLock { state in
            state.chunks.removeAll()
            state.head = 0
            state.bytes = 0
            state.end = offset
        }
    }

    private func append(_ chunk: Chunk) {
        let ready: [CheckedContinuation<Void, Never>] = state.withLock { state in
            state.chunks.append(chunk)
            state.bytes += chunk.frame.readableBytes
            state.end = chunk.end
            // Evict the oldest chunks beyond the byte budget; the newest always stays.
            while state.bytes > capacityBytes, state.chunks.count - state.head > 1 {
                state.bytes -= state.chunks[state.head].frame.readableBytes
                state.head += 1
            }
            if state.head > 64, state.head * 2 > state.chunks.count {
                state.chunks.removeFirst(state.head)
                state.head = 0
            }
            let woken = state.waiters.filter { $0.value.cursor < state.end }
            for id in woken.keys { state.waiters[id] = nil }
            return woken.values.map(\.continuation)
        }
        for continuation in ready { continuation.resume() }
    }

    private func close() {
        let waiting = state.withLock { state in
            state.closed = true
            defer { state.waiters.removeAll() }
            return state.waiters.values.map(\.continuation)
        }
        for continuation in waiting { continuation.resume() }
    }

    /// Records from `cursor`, at most `maxBytes` of frame (at least one chunk's worth); waits
    /// while there is nothing new. Cancellable.
    func next(from cursor: Int64, maxBytes: Int) async -> Next {
        while true {
            if let immediate = take(from: cursor, maxBytes: maxBytes) { return immediate }
            if Task.isCancelled { return .closed }
            let id = state.withLock { state in
                state.nextWaiter += 1
                return state.nextWaiter
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state in
                        if state.closed || state.end > cursor || Task.isCancelled { return true }
                        state.waiters[id] = (cursor, continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                let continuation = state.withLock { $0.waiters.removeValue(forKey: id)?.continuation }
                continuation?.resume()
            }
        }
    }

    private func take(from cursor: Int64, maxBytes: Int) -> Next? {
        state.withLock { state -> Next? in
            if state.closed { return .closed }
            if cursor >= state.end { return nil }
            if cursor < state.start {
                let newest = state.head < state.chunks.count ? state.chunks[state.chunks.count - 1].first : state.end
                return .behind(ringStart: state.start, newestChunk: newest)
            }
            // Find the chunk holding the cursor (binary search over live chunks).
            var low = state.head
            var high = state.chunks.count - 1
            while low < high {
                let middle = (low + high + 1) / 2
                if state.chunks[middle].first <= cursor { low = middle } else { high = middle - 1 }
            }
            let chunk = state.chunks[low]
            if chunk.first == cursor, low == state.chunks.count - 1 || chunk.frame.readableBytes >= maxBytes / 2 {
                return .records(frame: chunk.frame, count: chunk.records.count, next: chunk.end)
            }
            // Mid-chunk, or several small chunks waiting: build one frame for this client.
            var pieces: [String] = []
            var size = 2
            var index = low
            var position = Int(cursor - chunk.first)
            while index < state.chunks.count {
                let records = state.chunks[index].records
                while position < records.count, pieces.isEmpty || size + records[position].utf8.count < maxBytes {
                    pieces.append(records[position])
                    size += records[position].utf8.count + 1
                    position += 1
                }
                if position < records.count { break }
                index += 1
                position = 0
            }
            let text = pieces.count == 1 ? pieces[0] : "[" + pieces.joined(separator: ",") + "]"
            return .records(frame: ByteBuffer(string: text), count: pieces.count, next: cursor + Int64(pieces.count))
        }
    }
}

/// The feeds of every partition someone watches, created on first use and pumped until the
/// gateway stops.
final class FeedHub: Sendable {
    let capacityBytes: Int
    private let feeds = Mutex<[String: PartitionFeed]>([:])
    private let pumps = Mutex<[Task<Void, Never>]>([])

    init(capacityBytes: Int) {
        self.capacityBytes = capacityBytes
    }

    func feed(_ topic: Topic, partition: Int) -> PartitionFeed {
        let key = "\(topic.name)/\(partition)"
        let (feed, isNew) = feeds.withLock { feeds -> (PartitionFeed, Bool) in
            if let existing = feeds[key], existing.log === topic.partitions[partition] { return (existing, false) }
            let created = PartitionFeed(topic: topic.name, partition: partition, log: topic.partitions[partition], capacityBytes: capacityBytes)
            feeds[key] = created
            return (created, true)
        }
        if isNew {
            let task = Task { await feed.pump() }
            pumps.withLock { $0.append(task) }
        }
        return feed
    }

    func stop() {
        for task in pumps.withLock({ $0 }) { task.cancel() }
    }
}
