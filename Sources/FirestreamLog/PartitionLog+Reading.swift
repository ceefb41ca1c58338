public import KafkaWire

/// Whole stored batches read from a partition, as bytes (what a Kafka Fetch serves).
public struct FetchedBatches: Sendable {
    /// Concatenated record batches, exactly as stored; the first may begin before the offset
    /// asked for (Kafka clients skip the records before it).
    public var bytes: [UInt8]
    /// The offset to read next.
    public var nextOffset: Int64
    /// The durable end of the partition when the read happened.
    public var endOffset: Int64
}

extension PartitionLog {
    /// Reads committed records from `offset`, about `maxBytes` of them (at least one batch):
    /// durable, below the last stable offset, without transaction markers or the records of
    /// aborted transactions (so `nextOffset` may pass offsets no record is returned for).
    /// Every batch's CRC is verified, and its base offset (which the CRC does not cover) checked
    /// against the index and the batch before it; a corrupt batch is an error, never served.
    public func read(from offset: Int64, maxBytes: Int = 1 << 20) throws(LogError) -> FetchedRecords {
        var records: [ConsumerRecord] = []
        var transactional: [(header: RecordBatchHeader, records: Range<Int>)] = []
        var passed = offset
        let (cursor, stable) = try walkBatches(from: offset, maxBytes: maxBytes, committed: true) {
            header, raw, path, position throws(LogError) in
            passed = header.lastOffset + 1
            guard !header.isControl else { return true }
            let before = records.count
            do throws(WireError) {
                for record in try RecordBatch.records(raw, header: header) where record.offset >= offset {
                    records.append(record)
                }
            } catch {
                throw error.asLogError(path: path, position: position)
            }
            if header.isTransactional { transactional.append((header, before..<records.count)) }
            return true
        }
        // Asked after the walk: every transaction ended below the stable offset it read to is
        // known by then (the list only grows).
        if !transactional.isEmpty {
            let aborted = abortedTransactions(in: offset..<passed)
            for batch in transactional.reversed() where aborted.contains(where: { $0.holds(batch.header) }) {
                records.removeSubrange(batch.records)
            }
        }
        return FetchedRecords(records: records, nextOffset: max(passed, cursor), endOffset: stable)
    }

    /// The aborted transactions with records in `range` (what a read_committed Fetch lists).
    public func abortedTransactions(in range: Range<Int64>) -> [AbortedTransaction] {
        guard !range.isEmpty else { return [] }
        return state.withLock { $0.producers.aborted(overlapping: range) }
    }

    /// Reads the durable batches holding `offset` and after it, about `maxBytes` of them (a
    /// first batch larger than that whole), as stored: the same checks as ``read(from:maxBytes:)``,
    /// without decoding a record.
    /// `maxRecords` bounds the records counted in the batches after the first (their headers'
    /// counts): compressed batches of very compressible records hold many times `maxBytes`.
    /// `committed` stops at the last stable offset (a read_committed Fetch; the client skips
    /// aborted records itself, from the list of aborted transactions).
    public func readBatches(
        from offset: Int64, maxBytes: Int = 1 << 20, maxRecords: Int = .max, committed: Bool = false
    ) throws(LogError) -> FetchedBatches {
        var bytes: [UInt8] = []
        var next: Int64?
        var records = 0
        var full = false
        let (cursor, durable) = try walkBatches(from: offset, maxBytes: maxBytes, committed: committed) { header, raw, _, _ throws(LogError) in
            let count = Int(max(header.recordCount, 0))
            // Past the limit: this batch and every later one in this read wait for the next.
            full = full || next != nil && records + count > maxRecords
            guard !full else { return true }
            records += count
            bytes.append(contentsOf: raw)
            next = header.lastOffset + 1
            return true
        }
        return FetchedBatches(bytes: bytes, nextOffset: next ?? cursor, endOffset: durable)
    }

    /// Finds the segment holding `offset` (moving on to the next when it holds nothing there)
    /// and hands `take` its durable batches (below the last stable offset if `committed`) that
    /// end at or after `offset`. Returns where to continue when nothing was taken, and the end
    /// it read to.
    func walkBatches(
        from offset: Int64, maxBytes: Int, committed: Bool, _ take: BatchTaker
    ) throws(LogError) -> (cursor: Int64, durable: Int64) {
        var cursor = offset
        while true {
            let snapshot: (Segment, (position: Int64, baseOffset: Int64), Int64, Int64, Int64?, Int64)? = try state.withLock {
                state throws(LogError) in
                let start = max(state.segments[0].baseOffset, state.startFloor)
                guard cursor >= start else {
                    throw LogError.offsetOutOfRange(requested: cursor, start: start, end: state.durableOffset)
                }
                let end = committed ? state.stableOffset : state.durableOffset
                guard cursor < end else { return nil }
                let index = state.segments.lastIndex { $0.baseOffset <= cursor } ?? 0
                let segment = state.segments[index]
                let nextBase = index + 1 < state.segments.count ? state.segments[index + 1].baseOffset : nil
                return (segment, segment.position(for: cursor), segment.size, end, nextBase, segment.nextOffset)
            }
            guard let (segment, start, size, durable, nextBase, segmentEnd) = snapshot else {
                return (cursor, committed ? lastStableOffset : durableOffset)
            }
            if try walkSegment(segment, from: start, upTo: size, offset: cursor, durable: durable, maxBytes: maxBytes, take) {
                return (cursor, durable)
            }
            // A segment that should hold `cursor` but does not lost data after it was synced:
            // refuse, rather than skip offsets silently.
            if cursor < min(segmentEnd, durable) {
                throw LogError.corruptBatch(
                    path: segment.file.path, position: size, reason: "offsets \(cursor)..<\(segmentEnd) are missing from this sealed segment")
            }
            // Nothing at or after `cursor` in this segment: continue at the next one.
            guard let nextBase, nextBase > cursor else { return (cursor, durable) }
            cursor = nextBase
        }
    }

    /// Takes one durable batch (its header, bytes, file and position; batches become durable
    /// whole) and says whether it kept any of it.
    typealias BatchTaker = (RecordBatchHeader, UnsafeRawBufferPointer, String, Int64) throws(LogError) -> Bool

    /// Walks the batches of `segment` from `start` (an indexed batch and its base offset), below
    /// `durable`, reading about `maxBytes` at a time until a read gives `take` something.
    private func walkSegment(
        _ segment: Segment, from start: (position: Int64, baseOffset: Int64), upTo size: Int64, offset: Int64, durable: Int64, maxBytes: Int,
        _ take: BatchTaker
    ) throws(LogError) -> Bool {
        var position = start.position
        var expected = start.baseOffset
        var kept = false
        while position < size && !kept {
            var chunk = try segment.file.read(at: position, count: Int(min(Int64(max(maxBytes, RecordBatchHeader.size)), size - position)))
            // A first batch larger than maxBytes is read whole (its header bounds its size).
            if case .needMore(let needed) = chunk.withUnsafeBytes({ RecordBatchWalker($0).peek() }), needed > chunk.count,
                position + Int64(needed) <= size
            {
                chunk = try segment.file.read(at: position, count: needed)
            }
            var stop = false
            let outcome: Result<(Int, Int64?), LogError> = chunk.withUnsafeBytes { raw in
                var walker = RecordBatchWalker(raw, expectedBaseOffset: expected)
                walking: while walker.remaining > 0 {
                    switch walker.peek() {
                    case .needMore:
                        break walking
                    case .corrupt(let reason):
                        // Serve what came before the damage; the next read starts at it and fails.
                        if kept {
                            stop = true
                            break walking
                        }
                        return .failure(.corruptBatch(path: segment.file.path, position: position + Int64(walker.position), reason: reason))
                    case .batch(let header, let range):
                        if header.baseOffset >= durable {
                            stop = true
                            break walking
                        }
                        if header.lastOffset >= offset {
                            do throws(LogError) {
                                let batch = UnsafeRawBufferPointer(rebasing: raw[range])
                                if try take(header, batch, segment.file.path, position + Int64(range.lowerBound)) { kept = true }
                            } catch {
                                return .failure(error)
                            }
                        }
                        _ = walker.next()
                    }
                }
                return .success((walker.position, walker.expectedBaseOffset))
            }
            let (consumed, nextExpected) = try outcome.get()
            if stop || consumed == 0 { break }
            position += Int64(consumed)
            expected = nextExpected ?? expected
        }
        return kept
    }

    /// The first offset whose record timestamp is at or after `timestamp`, or nil when none is.
    public func offset(forTimestamp timestamp: Int64) throws(LogError) -> Int64? {
        // Each segment's state is read under the lock (the active one changes with every append).
        let candidates = state.withLock { state in
            state.segments.filter { $0.maxTimestamp >= timestamp }.map {
                (start: $0.position(forTimestamp: timestamp).baseOffset, end: $0.nextOffset)
            }
        }
        for candidate in candidates {
            var cursor = max(candidate.start, startOffset)
            while cursor < candidate.end {
                let records = try read(from: cursor).records.filter { $0.offset < candidate.end }
                if let hit = records.first(where: { $0.timestamp >= timestamp }) { return hit.offset }
                guard let last = records.last else { break }
                cursor = last.offset + 1
            }
        }
        return nil
    }
}

extension AbortedTransaction {
    /// Whether `batch` (a transactional batch) is one of this transaction's.
    func holds(_ batch: RecordBatchHeader) -> Bool {
        batch.producerId == producerId && batch.baseOffset >= firstOffset && batch.baseOffset < lastOffset
    }
}

extension PartitionLog {
    /// The largest record timestamp stored, or nil when the partition holds nothing.
    public var maxTimestamp: Int64? {
        state.withLock { state in state.segments.filter { $0.size > 0 }.map(\.maxTimestamp).max() }
    }
}
