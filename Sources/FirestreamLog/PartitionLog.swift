public import KafkaWire

/// Records read from a partition, and where to continue.
public struct FetchedRecords: Sendable {
    public var records: [ConsumerRecord]
    /// The offset to read next.
    public var nextOffset: Int64
    /// The durable end of the partition when the read happened.
    public var endOffset: Int64
}

/// One partition of a topic: an ordered list of segments, appended at the end and read anywhere.
/// Readers only ever see durable records (below ``durableOffset``), so nothing a consumer saw can
/// disappear in a crash.
public final class PartitionLog: Sendable {
    public let topic: String
    public let partition: Int
    let directory: String
    let settings: PartitionSettings
    private let durability: DurabilityPolicy
    let flusher: Flusher?
    let fileSystem: any FileSystem
    private let clock: @Sendable () -> Int64
    let state: Locked<State>
    /// Opened for reading a log another process writes: never writes, follows with ``refresh()``.
    public let readOnly: Bool

    struct Waiter {
        var id: Int
        /// Resume once `durableOffset >= offset` (or, for readers of committed records, the
        /// last stable offset).
        var offset: Int64
        var committed: Bool
        var continuation: CheckedContinuation<Bool, Never>
    }

    /// A segment sealed since the last sync pass, and the producer-state snapshot of the segment
    /// after it. The snapshot is written only once the sealed segment is synced, so a valid
    /// snapshot also proves that the segment before it is complete on disk.
    struct Sealed {
        var segment: Segment
        var snapshotPath: String
        var snapshot: [UInt8]
    }

    struct State {
        var segments: [Segment]
        var endOffset: Int64
        var durableOffset: Int64
        var unsyncedSealed: [Sealed] = []
        var directoryDirty = false
        /// Files of removed segments, unlinked (and the directory synced) by the next pass.
        var pendingDeletions: [String] = []
        var waiters: [Waiter] = []
        var cancelled: Set<Int> = []
        var nextWaiterID = 0
        var closed = false
        var failure: LogError?
        var producers: ProducerState
        /// Records below it were deleted (Kafka's DeleteRecords), even inside a segment.
        var startFloor: Int64 = 0

        var stableOffset: Int64 { min(durableOffset, producers.firstUnstableOffset ?? .max) }
    }

    /// Where an append went: its offsets, or the offsets of the identical batch already stored.
    public struct Appended: Sendable, Equatable {
        public var first: Int64
        public var last: Int64
        /// The batch repeated an idempotent producer's sequence and was not written again.
        public var duplicate: Bool
    }

    /// Opens the partition in `directory` (created when missing), recovering it first: the active
    /// segment is scanned batch by batch, CRCs verified, and a torn or corrupt tail truncated.
    init(
        topic: String, partition: Int, directory: String, settings: PartitionSettings, durability: DurabilityPolicy,
        flusher: Flusher?, fileSystem: any FileSystem, clock: @escaping @Sendable () -> Int64, readOnly: Bool = false
    ) throws(LogError) {
        self.readOnly = readOnly
        self.topic = topic
        self.partition = partition
        self.directory = directory
        self.settings = settings
        self.durability = durability
        self.flusher = flusher
        self.fileSystem = fileSystem
        self.clock = clock
        let (segments, notes, producers) = try Self.recover(
            topic: topic, partition: partition, directory: directory, settings: settings, fileSystem: fileSystem, readOnly: readOnly)
        self.recoveryNotes = notes
        let end = segments.last!.nextOffset
        let floor = try Self.startFloor(in: directory, fileSystem: fileSystem)
        state = Locked(State(segments: segments, endOffset: end, durableOffset: end, producers: producers, startFloor: floor))
    }

    public let recoveryNotes: [RecoveryNote]  // what recovery repaired when the partition was opened

    // MARK: Offsets

    /// The first offset still readable (earlier ones were removed by retention or deleted).
    public var startOffset: Int64 { state.withLock { max($0.segments[0].baseOffset, $0.startFloor) } }
    /// The offset the next appended record will get.
    public var endOffset: Int64 { state.withLock { $0.endOffset } }
    /// Records below this offset are on stable storage and visible to readers.
    public var durableOffset: Int64 { state.withLock { $0.durableOffset } }
    /// Records below this offset are durable and belong to no open transaction: what readers of
    /// committed records (apps, the gateway, read_committed consumers) may see.
    public var lastStableOffset: Int64 { state.withLock { $0.stableOffset } }
    /// Bytes in all segments.
    public var sizeInBytes: Int64 { state.withLock { $0.segments.reduce(0) { $0 + $1.size } } }
    public var segmentCount: Int { state.withLock { $0.segments.count } }

    // MARK: Appending

    /// Appends `records` as one batch and returns the first record's offset once the batch is
    /// durable under the log's policy.
    @discardableResult
    public func append(_ records: [ProducerRecord]) async throws(LogError) -> Int64 {
        var writer = ByteWriter(capacity: 64 + records.count * 64)
        RecordBatch.encode(records, into: &writer)
        let appended = try appendBatch(&writer.bytes)
        try await waitUntilDurable(appended.last + 1)
        return appended.first
    }

    /// Appends one encoded batch without waiting for it to become durable; assigns its offsets
    /// (rewriting the base offset in `batch`). A batch from an idempotent producer
    /// (`producerId` ≥ 0) whose sequence is already stored is skipped and reported as a duplicate.
    public func appendBatch(_ batch: inout [UInt8], verifyCRC: Bool = false) throws(LogError) -> Appended {
        let result: Result<(Appended, [Waiter], Bool), LogError> = batch.withUnsafeMutableBytes { raw in
            var header: RecordBatchHeader
            do {
                header = try RecordBatch.header(UnsafeRawBufferPointer(raw))
            } catch {
                return .failure(.corruptBatch(path: "append to \(topic)/\(partition)", position: 0, reason: "\(error)"))
            }
            if verifyCRC && !RecordBatch.verify(UnsafeRawBufferPointer(raw), header: header) {
                return .failure(.corruptBatch(path: "append to \(topic)/\(partition)", position: 0, reason: "CRC-32C mismatch"))
            }
            guard header.totalSize == raw.count else {
                return .failure(.corruptBatch(path: "append to \(topic)/\(partition)", position: 0, reason: "length mismatch"))
            }
            let now = clock()
            return state.withLock { state -> Result<(Appended, [Waiter], Bool), LogError> in
                if state.closed { return .failure(.closed) }
                if let failure = state.failure { return .failure(failure) }
                if readOnly { return .failure(.readOnly(directory)) }
                switch state.producers.check(header) {
                case .append: break
                case .duplicate(let lastOffset):
                    return .success((Appended(first: lastOffset, last: lastOffset, duplicate: true), [], false))
                case .outOfOrder(let expected, let got):
                    return .failure(
                        .outOfOrderSequence(topic: topic, partition: partition, producerId: header.producerId, expected: expected, got: got))
                case .fenced:
                    return .failure(.fencedProducer(topic: topic, partition: partition, producerId: header.producerId, epoch: header.producerEpoch))
                }
                do {
                    let rolled = try rollIfNeeded(&state, adding: raw.count, now: now)
                    let base = state.endOffset
                    RecordBatch.setBaseOffset(base, in: raw)
                    header.baseOffset = base
                    try state.segments[state.segments.count - 1].append(UnsafeRawBufferPointer(raw), header: header, now: now)
                    state.endOffset = header.lastOffset + 1
                    state.producers.record(header, marker: RecordBatch.marker(UnsafeRawBufferPointer(raw), header: header))
                    var ready: [Waiter] = []
                    if durability == .osBuffered {
                        state.durableOffset = state.endOffset
                        ready = takeReadyWaiters(&state)
                    }
                    return .success((Appended(first: base, last: header.lastOffset, duplicate: false), ready, rolled))
                } catch let error as LogError {
                    return .failure(error)
                } catch {
                    return .failure(.closed)
                }
            }
        }
        let (appended, ready, rolled) = try result.get()
        for waiter in ready { waiter.continuation.resume(returning: true) }
        if case .groupCommit = durability, !appended.duplicate {
            flusher?.schedule(self)
        } else if rolled {
            flusher?.schedule(self)  // the sealed segment's snapshot and directory entry
        }
        return appended
    }

    /// Ends `producerId`'s transaction in this partition with a marker (a control batch under
    /// `epoch`), without waiting for it to become durable. A marker for a producer with no
    /// transaction open here changes nothing for readers.
    public func appendMarker(_ marker: ControlMarker, producerId: Int64, epoch: Int16) throws(LogError) -> Appended {
        var batch = RecordBatch.encodeMarker(marker, producerId: producerId, producerEpoch: epoch, timestamp: clock())
        return try appendBatch(&batch)
    }

    /// Producers with a transaction open here, with the first offset of each (after a restart,
    /// the transactions to abort).
    public var openTransactions: [Int64: Int64] { state.withLock { $0.producers.open } }

    /// The last sequence `producerId` wrote here, if it ever wrote (to resume after a restart).
    public func lastSequence(of producerId: Int64) -> Int32? {
        state.withLock { $0.producers.lastSequence(of: producerId) }
    }

    /// The offset of the last record `producerId` wrote here, if it ever wrote: a producer that
    /// resumes from its own last record need not trust what others appended after it.
    public func lastOffset(of producerId: Int64) -> Int64? {
        state.withLock { $0.producers.entries[producerId]?.lastOffset }
    }

    /// Starts a new segment when the active one is full or old. Nothing here blocks on the disk:
    /// the sealed segment's sync and the new segment's snapshot are the flusher's next pass.
    private func rollIfNeeded(_ state: inout State, adding bytes: Int, now: Int64) throws(LogError) -> Bool {
        let active = state.segments[state.segments.count - 1]
        guard active.size > 0 else { return false }
        let tooBig = active.size + Int64(bytes) > settings.segmentBytes
        let tooOld = active.firstAppendAt.map { now - $0 >= settings.segmentMilliseconds } ?? false
        guard tooBig || tooOld else { return false }
        let next = try Segment(fileSystem: fileSystem, directory: directory, baseOffset: state.endOffset, indexInterval: settings.indexIntervalBytes)
        // Producer state as of the new segment's start, so recovery need not read older segments.
        state.unsyncedSealed.append(Sealed(segment: active, snapshotPath: next.snapshotPath, snapshot: state.producers.encoded()))
        state.segments.append(next)
        state.directoryDirty = true
        return true
    }

    // MARK: Durability

    /// Suspends until every record below `offset` is durable. Throws when the log closed first
    /// or a sync failed (the data must then be treated as not written).
    /// Not cancellable: the records are written, and their writer is owed the answer.
    public func waitUntilDurable(_ offset: Int64) async throws(LogError) {
        if await !waitForDurable(offset, committed: false, cancellable: false) {
            throw state.withLock { $0.failure } ?? .closed
        }
    }

    /// Suspends until a record at `offset` (or later) is readable; false when the log closed
    /// or the task was cancelled first. This is how live tails wait: no polling.
    public func waitForRecord(at offset: Int64, committed: Bool = true) async -> Bool {
        await waitForDurable(offset + 1, committed: committed)
    }

    /// Readers parked in `waitForRecord` or `waitUntilDurable` now (for tests).
    var waiterCount: Int { state.withLock { $0.waiters.count } }

    private func waitForDurable(_ offset: Int64, committed: Bool, cancellable: Bool = true) async -> Bool {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let wait = {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate: Bool? = self.state.withLock { state in
                    if state.cancelled.remove(id) != nil { return false }
                    if (committed ? state.stableOffset : state.durableOffset) >= offset { return true }
                    if state.closed || state.failure != nil { return false }
                    state.waiters.append(Waiter(id: id, offset: offset, committed: committed, continuation: continuation))
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        }
        guard cancellable else { return await wait() }
        return await withTaskCancellationHandler {
            await wait()
        } onCancel: {
            let waiter: Waiter? = state.withLock { state in
                if let index = state.waiters.firstIndex(where: { $0.id == id }) {
                    return state.waiters.remove(at: index)
                }
                state.cancelled.insert(id)
                return nil
            }
            waiter?.continuation.resume(returning: false)
        }
    }

    private func takeReadyWaiters(_ state: inout State) -> [Waiter] {
        let durable = state.durableOffset
        let stable = state.stableOffset
        let isReady = { (waiter: Waiter) in waiter.offset <= (waiter.committed ? stable : durable) }
        let ready = state.waiters.filter(isReady)
        if !ready.isEmpty { state.waiters.removeAll(where: isReady) }
        return ready
    }

    /// Called by the flusher thread: syncs everything written so far and wakes whoever waited
    /// for it. In order: each sealed segment, then the snapshot of the segment after it (its
    /// existence vouches for the sealed one), the active segment, the directory; then the
    /// acknowledgements. A failed sync poisons the partition: nothing after it is acknowledged.
    /// With `fsync` false (OS-buffered durability) data is not synced, but snapshots are written.
    func syncPending(fsync: Bool) {
        let (sealed, active, end, directoryDirty, deletions) = state.withLock { state in
            let captured = (
                state.unsyncedSealed, state.segments[state.segments.count - 1], state.endOffset, state.directoryDirty, state.pendingDeletions
            )
            state.unsyncedSealed.removeAll()
            state.directoryDirty = false
            state.pendingDeletions.removeAll()
            return captured
        }
        var failure: LogError?
        do {
            for item in sealed {
                if fsync { try item.segment.syncAll() }
                try fileSystem.replaceDurably(item.snapshotPath, with: item.snapshot)
            }
            if fsync { try active.file.sync() }
            if directoryDirty && sealed.isEmpty { try fileSystem.syncDirectory(directory) }
            for path in deletions { try fileSystem.unlink(path) }
            if !deletions.isEmpty { try fileSystem.syncDirectory(directory) }
        } catch {
            failure = error
        }
        let ready: [Waiter] = state.withLock { state in
            for item in sealed { item.segment.closeIndexes() }
            if let failure {
                state.failure = state.failure ?? failure
                let all = state.waiters
                state.waiters.removeAll()
                return all
            }
            if fsync { state.durableOffset = max(state.durableOffset, end) }
            return takeReadyWaiters(&state)
        }
        for waiter in ready { waiter.continuation.resume(returning: failure == nil) }
    }

    /// Stops accepting appends and releases every waiter.
    func close() {
        let waiters = state.withLock { state in
            state.closed = true
            let all = state.waiters
            state.waiters.removeAll()
            return all
        }
        for waiter in waiters { waiter.continuation.resume(returning: waiter.offset <= durableOffset) }
    }

    // MARK: Following another writer

    /// For a read-only partition: picks up batches and segments another process appended since
    /// the last look, and wakes readers waiting for them. Returns the new end offset.
    @discardableResult
    public func refresh() throws(LogError) -> Int64 {
        precondition(readOnly, "refresh() is for read-only partitions; a writer knows its own end")
        let bases = fileSystem.contentsOfDirectory(directory).filter { $0.hasSuffix(".log") }.compactMap { Int64($0.dropLast(4)) }.sorted()
        let ready: [Waiter] = try state.withLock { state throws(LogError) in
            _ = try state.segments[state.segments.count - 1].scanOn { state.producers.record($0, marker: $1) }
            for base in bases where base > state.segments[state.segments.count - 1].baseOffset {
                let segment = try Segment(
                    fileSystem: fileSystem, directory: directory, baseOffset: base, indexInterval: settings.indexIntervalBytes, readOnly: true)
                _ = try segment.scan { state.producers.record($0, marker: $1) }
                state.segments.append(segment)
            }
            // Segments the writer's retention deleted (the newest one always stays).
            let oldest = min(bases.first ?? 0, state.segments[state.segments.count - 1].baseOffset)
            state.segments.removeAll { $0.baseOffset < oldest }
            state.endOffset = state.segments[state.segments.count - 1].nextOffset
            state.durableOffset = state.endOffset
            state.startFloor = (try? Self.startFloor(in: directory, fileSystem: fileSystem)) ?? state.startFloor
            return takeReadyWaiters(&state)
        }
        for waiter in ready { waiter.continuation.resume(returning: true) }
        return durableOffset
    }
}
