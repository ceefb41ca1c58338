import Foundation

/// Removing records: whole segments (retention, or an owner that no longer needs them) and
/// Kafka's DeleteRecords, which moves the partition's start to any offset, durably.
extension PartitionLog {
    /// The file holding the start offset DeleteRecords moved the partition to.
    static func startFloorPath(_ directory: String) -> String { "\(directory)/log-start-offset" }

    static func startFloor(in directory: String, fileSystem: any FileSystem) throws(LogError) -> Int64 {
        guard let bytes = fileSystem.readFile(startFloorPath(directory)) else { return 0 }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let floor = Int64(text), floor >= 0 else {
            throw LogError.damagedFile(path: startFloorPath(directory), reason: "not an offset (the partition's start after DeleteRecords)")
        }
        return floor
    }

    /// Deletes every record below `offset` (Kafka's DeleteRecords): the partition starts there
    /// from now on, durably (readers asking for less get OFFSET_OUT_OF_RANGE), and the segments
    /// wholly below it are removed. `offset` may be anything up to the durable end; returns
    /// the new start. Writes a small file and fsyncs it while holding the partition's lock: an
    /// administrative operation, not one for hot paths.
    @discardableResult
    public func deleteRecords(before offset: Int64) throws(LogError) -> Int64 {
        if readOnly { throw LogError.readOnly(directory) }
        let start = try state.withLock { state throws(LogError) -> Int64 in
            let start = max(state.segments[0].baseOffset, state.startFloor)
            guard offset >= 0, offset <= state.durableOffset else {
                throw LogError.offsetOutOfRange(requested: offset, start: start, end: state.durableOffset)
            }
            guard offset > start else { return start }
            try fileSystem.replaceDurably(Self.startFloorPath(directory), with: Array("\(offset)\n".utf8))
            state.startFloor = offset
            return offset
        }
        deleteSegments(below: start)
        return start
    }

    /// Deletes sealed segments holding only offsets below `offset` (for logs whose owner knows
    /// what it no longer needs, such as an app journal after a snapshot); returns how many.
    /// The files are unlinked, and the directory synced, by the flusher's next pass.
    @discardableResult
    public func deleteSegments(below offset: Int64) -> Int {
        removeSegments { state in
            var removed: [Segment] = []
            while state.segments.count > 1, state.segments[0].nextOffset <= offset {
                removed.append(state.segments.removeFirst())
            }
            return removed
        }
    }

    /// Deletes sealed segments past the retention time or beyond the size limit; returns how many.
    @discardableResult
    public func enforceRetention(now: Int64) -> Int {
        removeSegments { state in
            var removed: [Segment] = []
            var total = state.segments.reduce(0) { $0 + $1.size }
            while state.segments.count > 1 {
                let oldest = state.segments[0]
                guard oldest.nextOffset <= state.durableOffset else { break }
                let expired = settings.retentionMilliseconds.map { oldest.maxTimestamp < now &- $0 } ?? false
                let oversized = settings.retentionBytes.map { total - oldest.size >= $0 } ?? false
                guard expired || oversized else { break }
                removed.append(state.segments.removeFirst())
                total -= oldest.size
            }
            return removed
        }
    }

    func removeSegments(_ choose: (inout State) -> [Segment]) -> Int {
        guard !readOnly else { return 0 }
        let count = state.withLock { state in
            let removed = choose(&state)
            state.pendingDeletions += removed.flatMap(\.paths)
            if !removed.isEmpty { state.producers.forgetAborted(before: max(state.segments[0].baseOffset, state.startFloor)) }
            return removed.count
        }
        if count > 0 { flusher?.schedule(self) }
        return count
    }
}
