import DequeModule
import FirestreamFormats
import FirestreamLog
import KafkaWire
import NIOCore

/// One partition's live records, rendered to JSON once and kept in a bounded ring, so that any
/// number of WebSocket clients are served without reading or rendering per client.
///
/// A pump task follows the partition's durable end and appends one chunk per read. Clients keep
/// their own cursor and pull chunks at their own pace; a client whose cursor falls out of the
/// ring has fallen too far behind (see `TopicStream`). Memory is bounded by `capacityBytes` plus
/// the newest chunk, counted as what the chunks really hold (their buffers' capacity): each
/// record's text is kept once, inside its chunk's frame, and an evicted chunk is released at once.
final class PartitionFeed: Sendable {
    /// The records of one read, rendered: one frame (the record itself when there is one, else
    /// a JSON array) and where each record's text sits in it.
    struct Chunk: Sendable {
        /// Each record's offset. Offsets need not follow each other: transaction markers and
        /// aborted records take offsets too and are not read.
        var offsets: [Int64]
        /// Where the read that made the chunk stopped: past its last record, and past any markers after it.
        var end: Int64
        var frame: ByteBuffer
        /// Each record's bytes within `frame`.
        var records: [Range<Int>]
        /// Offset of the first record.
        var first: Int64 { offsets[0] }
        /// What the chunk costs in memory.
        var bytes: Int { frame.capacity + records.count * (MemoryLayout<Range<Int>>.stride + 8) + 64 }

        /// The index of the first record at `offset` or later (`offsets.count`: none).
        func index(of offset: Int64) -> Int {
            var low = 0
            var high = offsets.count
            while low < high {
                let middle = (low + high) / 2
                if offsets[middle] < offset { low = middle + 1 } else { high = middle }
            }
            return low
        }

        init(offsets: [Int64], end: Int64, rendered: [String]) {
            self.offsets = offsets
            self.end = end
            guard rendered.count > 1 else {
                frame = ByteBuffer(string: rendered.first ?? "")
                records = [0..<frame.readableBytes]
                return
            }
            var frame = ByteBuffer()
            frame.reserveCapacity(rendered.reduce(2) { $0 + $1.utf8.count + 1 })
            var records: [Range<Int>] = []
            records.reserveCapacity(rendered.count)
            frame.writeStaticString("[")
            for (index, text) in rendered.enumerated() {
                if index > 0 { frame.writeStaticString(",") }
                let start = frame.writerIndex
                frame.writeString(text)
                records.append(start..<frame.writerIndex)
            }
            frame.writeStaticString("]")
            self.frame = frame
            self.records = records
        }

        func record(_ index: Int) -> ByteBufferView { frame.readableBytesView[records[index]] }
    }

    /// What a client at `cursor` gets next.
    enum Next: Sendable {
        /// Records from the cursor on; the frame is shared between clients when the cursor was at
        /// a chunk boundary. No records (an empty frame, not to be sent) when the cursor was
        /// among transaction markers: `next` is past them.
        case records(frame: ByteBuffer, count: Int, next: Int64)
        /// The cursor is below what the ring holds: read the log, or skip ahead.
        case behind(ringStart: Int64, newestChunk: Int64)
        /// The feed stopped (the gateway is stopping, or the partition could not be read).
        case closed
    }

    private struct State {
        var chunks = Deque<Chunk>()
        var bytes = 0
        /// Offset the pump reads next; also the end of the ring.
        var end: Int64
        var waiters: [Int: (cursor: Int64, continuation: CheckedContinuation<Void, Never>)] = [:]
        var nextWaiter = 0
        var closed = false

        var start: Int64 { chunks.first?.first ?? end }
    }

    let topic: String
    let partition: Int
    let storage: any RecordStorage
    let capacityBytes: Int
    private let state: Locked<State>

    /// A feed that will follow the partition from `end` (its stable end now).
    init(topic: String, partition: Int, storage: any RecordStorage, end: Int64, capacityBytes: Int) {
        self.topic = topic
        self.partition = partition
        self.storage = storage
        self.capacityBytes = capacityBytes
        state = Locked(State(end: end))
    }

    /// Bytes of record batches read per chunk.
    static let readBytes = 96 << 10

    var end: Int64 { state.withLock { $0.end } }
    var isClosed: Bool { state.withLock { $0.closed } }
    /// Bytes the ring holds now.
    var heldBytes: Int { state.withLock { $0.bytes } }

    /// Follows the partition until cancelled, appending a chunk per read.
    func pump() async {
        defer { close() }
        guard let reader = try? await storage.cursor(on: topic, partition: partition, from: end, whenRemoved: .skip) else { return }
        defer { reader.close() }
        while !Task.isCancelled {
            let batch: PartitionReader.Batch
            do {
                // Reads of ~96 KiB render to frames that fit 256 KiB buffers (buffers are powers of two).
                batch = try await reader.next(maxBytes: Self.readBytes)
            } catch {
                break
            }
            // Closed log or cancelled.
            if batch.isEmpty { break }
            // Retention removed what we wanted: the ring starts again where the partition does.
            if let skipped = batch.skipped { resetRing(at: skipped.upperBound) }
            guard !batch.records.isEmpty else { continue }
            let rendered = batch.records.map { RecordJSON.render(topic: topic, partition: partition, $0) }
            append(Chunk(offsets: batch.records.map(\.offset), end: max(reader.position, batch.records.last!.offset + 1), rendered: rendered))
        }
    }

    private func resetRing(at offset: Int64) {
        state.withLock { state in
            state.chunks.removeAll()
            state.bytes = 0
            state.end = offset
        }
    }

    private func append(_ chunk: Chunk) {
        let ready: [CheckedContinuation<Void, Never>] = state.withLock { state in
            state.chunks.append(chunk)
            state.bytes += chunk.bytes
            state.end = chunk.end
            // Evict (and release) the oldest chunks beyond the byte budget; the newest stays.
            while state.bytes > capacityBytes, state.chunks.count > 1 {
                state.bytes -= state.chunks.removeFirst().bytes
            }
            let woken = state.waiters.filter { $0.value.cursor < state.end }
            for id in woken.keys { state.waiters[id] = nil }
            return woken.values.map(\.continuation)
        }
        for continuation in ready { continuation.resume() }
    }

    /// Stops the feed: waiting clients get `.closed`, and the ring is released.
    func close() {
        let waiting = state.withLock { state in
            state.closed = true
            state.chunks.removeAll()
            state.bytes = 0
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
                return .behind(ringStart: state.start, newestChunk: state.chunks.last?.first ?? state.end)
            }
            // Find the first chunk ending past the cursor (binary search; chunks follow each other).
            var low = 0
            var high = state.chunks.count - 1
            while low < high {
                let middle = (low + high) / 2
                if state.chunks[middle].end <= cursor { low = middle + 1 } else { high = middle }
            }
            var position = state.chunks[low].index(of: cursor)
            if position == state.chunks[low].records.count {
                // Past the chunk's records, among the markers after them: on to the next chunk.
                guard low + 1 < state.chunks.count else { return .records(frame: ByteBuffer(), count: 0, next: state.chunks[low].end) }
                low += 1
                position = 0
            }
            let chunk = state.chunks[low]
            if position == 0, low == state.chunks.count - 1 || chunk.frame.readableBytes >= maxBytes / 2 {
                return .records(frame: chunk.frame, count: chunk.records.count, next: chunk.end)
            }
            // Mid-chunk, or several small chunks waiting: build one frame for this client.
            var pieces: [ByteBufferView] = []
            var size = 2
            var index = low
            var next = cursor
            while index < state.chunks.count {
                let current = state.chunks[index]
                while position < current.records.count, pieces.isEmpty || size + current.records[position].count < maxBytes {
                    pieces.append(current.record(position))
                    size += current.records[position].count + 1
                    position += 1
                    next = position < current.records.count ? current.offsets[position] : current.end
                }
                if position < current.records.count { break }
                index += 1
                position = 0
            }
            var frame = ByteBuffer()
            frame.reserveCapacity(size)
            if pieces.count == 1 {
                frame.writeBytes(pieces[0])
            } else {
                frame.writeStaticString("[")
                for (number, piece) in pieces.enumerated() {
                    if number > 0 { frame.writeStaticString(",") }
                    frame.writeBytes(piece)
                }
                frame.writeStaticString("]")
            }
            return .records(frame: frame, count: pieces.count, next: next)
        }
    }
}

/// The feeds of the partitions someone watches. A feed is created on first use, shared by every
/// subscriber of its partition, and stopped (its ring released) once nobody has watched it for
/// `idleTimeout`; a feed that stopped on a read error is replaced on next use.
///
/// Pumps and idle timers are child tasks of ``run()``: when the gateway stops, they all stop.
final class FeedHub: Sendable {
    let storage: any RecordStorage
    let capacityBytes: Int
    let idleTimeout: Duration

    private struct Entry {
        var feed: PartitionFeed
        /// Finishing it stops the feed's pump.
        var stop: AsyncStream<Never>.Continuation
        var subscribers = 0
        /// Bumped on every acquire, so a release's delayed check can tell it is stale.
        var generation = 0
    }

    private typealias Job = @Sendable () async -> Void

    private let entries = Locked<[String: Entry]>([:])
    private let jobs: AsyncStream<Job>
    private let submit: AsyncStream<Job>.Continuation

    init(storage: any RecordStorage, capacityBytes: Int, idleTimeout: Duration = .seconds(30)) {
        self.storage = storage
        self.capacityBytes = capacityBytes
        self.idleTimeout = idleTimeout
        (jobs, submit) = AsyncStream.makeStream(of: Job.self)
    }

    /// Runs the pumps and idle timers until cancelled (or ``stop()``), then stops them all.
    func run() async {
        await withDiscardingTaskGroup { group in
            for await job in jobs { group.addTask { await job() } }
            group.cancelAll()
        }
        stop()
    }

    /// The feed of `topic`/`partition`, counted as watched until ``release(_:)``; a new one
    /// starts at the partition's stable end.
    func acquire(_ topic: String, partition: Int) async throws -> PartitionFeed {
        let key = "\(topic)/\(partition)"
        if let feed = reuse(key) { return feed }
        let end = try await storage.bounds(of: topic, partition: partition).upperBound
        return entries.withLock { entries in
            if var entry = entries[key], !entry.feed.isClosed {
                entry.subscribers += 1
                entry.generation += 1
                entries[key] = entry
                return entry.feed
            }
            entries[key]?.stop.finish()
            let feed = PartitionFeed(topic: topic, partition: partition, storage: storage, end: end, capacityBytes: capacityBytes)
            let (stopped, stop) = AsyncStream.makeStream(of: Never.self)
            entries[key] = Entry(feed: feed, stop: stop, subscribers: 1)
            submit.yield {
                // The pump runs until the log closes, the hub stops, or the feed is retired.
                await withTaskGroup(of: Void.self) { pump in
                    pump.addTask { await feed.pump() }
                    pump.addTask { for await _ in stopped {} }
                    await pump.next()
                    pump.cancelAll()
                }
            }
            return feed
        }
    }

    /// The live feed under `key`, counted as watched once more; nil when there is none.
    private func reuse(_ key: String) -> PartitionFeed? {
        entries.withLock { entries in
            guard var entry = entries[key], !entry.feed.isClosed else { return nil }
            entry.subscribers += 1
            entry.generation += 1
            entries[key] = entry
            return entry.feed
        }
    }

    /// One subscriber less; a feed nobody watches for `idleTimeout` is stopped and forgotten.
    func release(_ feed: PartitionFeed) {
        let key = "\(feed.topic)/\(feed.partition)"
        let generation: Int? = entries.withLock { entries in
            guard var entry = entries[key], entry.feed === feed else { return nil }
            entry.subscribers -= 1
            entries[key] = entry
            return entry.subscribers == 0 ? entry.generation : nil
        }
        guard let generation else { return }
        let timeout = idleTimeout
        submit.yield { [weak self] in
            try? await Task.sleep(for: timeout)
            self?.forgetIfIdle(key, generation: generation)
        }
    }

    private func forgetIfIdle(_ key: String, generation: Int) {
        let idle: Entry? = entries.withLock { entries in
            guard let entry = entries[key], entry.subscribers == 0, entry.generation == generation else { return nil }
            entries[key] = nil
            return entry
        }
        idle?.stop.finish()
    }

    /// Feeds alive now (for tests and metrics).
    var count: Int { entries.withLock { $0.count } }
    /// Bytes all rings hold now.
    var heldBytes: Int { entries.withLock { $0.values.reduce(0) { $0 + $1.feed.heldBytes } } }
    /// How far each feed has rendered: (topic, partition, next offset).
    var ends: [(topic: String, partition: Int, end: Int64)] {
        entries.withLock { $0.values.map { ($0.feed.topic, $0.feed.partition, $0.feed.end) } }.sorted {
            ($0.topic, $0.partition) < ($1.topic, $1.partition)
        }
    }

    /// Stops every feed and ends ``run()``.
    func stop() {
        submit.finish()
        for entry in entries.withLock({ entries in
            defer { entries.removeAll() }
            return Array(entries.values)
        }) { entry.stop.finish() }
    }
}
