public import KafkaWire

/// A cursor over one partition's durable records: it reads from its position, waits for more by
/// itself, and applies an explicit policy when retention removed the position before it was read.
///
/// Every reader of the log goes through one: the CLI's tail, the gateway's REST reads, feeds and
/// subscribers, the effects, the app tasks and their journal recovery, and source restarts.
public struct PartitionReader: Sendable {
    /// What to do when retention removed records at the position before they were read.
    public enum RemovedRecords: Sendable {
        /// Continue from the oldest record left; the batch names the offsets skipped.
        case skip
        /// Throw `LogError.offsetOutOfRange`: these records must never be skipped.
        case fail
    }

    /// Records read, and what was skipped to reach them.
    public struct Batch: Sendable {
        public var records: [ConsumerRecord]
        /// Offsets retention removed before they were read (only with `.skip`).
        public var skipped: Range<Int64>?

        public init(records: [ConsumerRecord], skipped: Range<Int64>? = nil) {
            self.records = records
            self.skipped = skipped
        }

        /// Neither records nor a skip: the reader is at the end (or gave up waiting).
        public var isEmpty: Bool { records.isEmpty && skipped == nil }
    }

    public let partition: PartitionLog
    /// The offset of the next record to read.
    public var position: Int64
    public let whenRemoved: RemovedRecords
    /// How often a read-only partition (written by another process) is re-scanned while waiting;
    /// a writable one notifies its readers instead.
    public var refreshInterval: Duration = .milliseconds(200)

    public init(_ partition: PartitionLog, from position: Int64, whenRemoved: RemovedRecords) {
        self.partition = partition
        self.position = position
        self.whenRemoved = whenRemoved
    }

    /// A reader at the oldest record the partition holds.
    public static func earliest(_ partition: PartitionLog, whenRemoved: RemovedRecords) -> PartitionReader {
        PartitionReader(partition, from: partition.startOffset, whenRemoved: whenRemoved)
    }

    /// A reader at the partition's stable end: it sees only what is committed from now on.
    public static func latest(_ partition: PartitionLog, whenRemoved: RemovedRecords) -> PartitionReader {
        PartitionReader(partition, from: partition.lastStableOffset, whenRemoved: whenRemoved)
    }

    /// Whether records past the position are readable now (durable and committed).
    public var hasRecords: Bool { position < (readsUncommitted ? partition.durableOffset : partition.lastStableOffset) }
    /// Wait for durable records even inside open transactions (a read_uncommitted Fetch);
    /// `poll` still returns committed records only.
    public var readsUncommitted = false

    /// The records readable now from the position: at least one batch when there is one, then up
    /// to about `maxBytes`, and at most `maxRecords`. Empty at the end; never waits.
    public mutating func poll(maxBytes: Int = 1 << 20, maxRecords: Int = .max) throws(LogError) -> Batch {
        var skipped: Range<Int64>?
        while true {
            let fetched: FetchedRecords
            do {
                fetched = try partition.read(from: position, maxBytes: maxBytes)
            } catch {
                guard case .offsetOutOfRange(_, let start, _) = error, start > position, whenRemoved == .skip else { throw error }
                skipped = (skipped?.lowerBound ?? position)..<start
                position = start
                continue
            }
            let records = fetched.records.count > maxRecords ? Array(fetched.records.prefix(max(maxRecords, 0))) : fetched.records
            let before = position
            position = records.last.map { $0.offset + 1 } ?? max(position, fetched.nextOffset)
            // Markers and aborted records were passed over: read on, so that empty means the end.
            if records.isEmpty && position > before && position < fetched.endOffset { continue }
            return Batch(records: records, skipped: skipped)
        }
    }

    /// Like `poll`, but first waits for a record at the position: until one is durable, the log
    /// closes, the task is cancelled, or `maxWait` (nil: no limit) passes. Empty in those cases.
    public mutating func next(maxBytes: Int = 1 << 20, maxRecords: Int = .max, maxWait: Duration? = nil) async throws(LogError) -> Batch {
        let deadline = maxWait.map { ContinuousClock.now + $0 }
        while true {
            let batch = try poll(maxBytes: maxBytes, maxRecords: maxRecords)
            guard batch.isEmpty else { return batch }
            // Woken by what readers never see (an aborted transaction and its marker), the
            // position moved past it: wait again rather than answer empty, which means the end.
            let left = deadline.map { max(.zero, $0 - ContinuousClock.now) }
            guard left != .zero, await waitForRecord(maxWait: left) else { return batch }
        }
    }

    /// Suspends until a record at the position (or later) is durable; false when the log closed,
    /// the task was cancelled, or `maxWait` (nil: no limit) passed first.
    public func waitForRecord(maxWait: Duration? = nil) async -> Bool {
        await Self.waitForAny([self], maxWait: maxWait)
    }

    /// Suspends until any of `readers` has a record at its position; false when all their logs
    /// closed, the task was cancelled, or `maxWait` passed first.
    public static func waitForAny(_ readers: [PartitionReader], maxWait: Duration? = nil) async -> Bool {
        if readers.contains(where: \.hasRecords) { return true }
        if readers.isEmpty && maxWait == nil { return false }
        return await withTaskGroup(of: Bool?.self) { group in
            for reader in readers { group.addTask { await reader.waitHere() } }
            if let maxWait {
                group.addTask {
                    try? await Task.sleep(for: maxWait)
                    return nil
                }
            }
            var remaining = readers.count
            var found = false
            // A reader whose log closed answers false; keep waiting for the others.
            while let answer = await group.next() {
                if answer == true {
                    found = true
                    break
                }
                if answer == nil { break }
                remaining -= 1
                if remaining == 0 { break }
            }
            group.cancelAll()
            return found
        }
    }

    /// One reader's wait: the log's notification, or re-scans of a read-only log.
    private func waitHere() async -> Bool {
        guard partition.readOnly else { return await partition.waitForRecord(at: position, committed: !readsUncommitted) }
        while !Task.isCancelled {
            if (try? partition.refresh()) != nil, hasRecords { return true }
            try? await Task.sleep(for: refreshInterval)
        }
        return false
    }
}
