import KafkaWire

/// One segment of a partition: a `.log` file of record batches starting at `baseOffset`, with a
/// sparse offset index (`.index`: relative offset + byte position, 8 bytes an entry, Kafka's
/// layout) and a time index (`.timeindex`: max timestamp so far + relative offset, 12 bytes).
/// Both indexes are kept in memory; their files are open only while the segment is active.
///
/// Not thread-safe: the owning ``PartitionLog`` serializes access (its mutex).
final class Segment: @unchecked Sendable {
    let baseOffset: Int64
    let file: any StorageFile
    private let fileSystem: any FileSystem
    private let directory: String
    /// Open while the segment takes appends; nil once sealed (saves two descriptors a segment).
    private var offsetIndexFile: (any StorageFile)?
    private var timeIndexFile: (any StorageFile)?
    /// Bytes written to the `.log` file.
    private(set) var size: Int64 = 0
    /// The offset after the last record in this segment.
    private(set) var nextOffset: Int64
    /// The largest record timestamp in this segment (-1 when empty).
    private(set) var maxTimestamp: Int64 = -1
    /// Wall-clock milliseconds when the first batch was appended (for time-based rolling).
    private(set) var firstAppendAt: Int64?
    private var offsetIndex: [(relativeOffset: UInt32, position: UInt32)] = []
    private var timeIndex: [(timestamp: Int64, relativeOffset: UInt32)] = []
    private var bytesSinceIndexEntry = 0
    private let indexInterval: Int
    /// Read-only segments never write: no index repair, no truncation.
    let readOnly: Bool

    static func fileName(_ baseOffset: Int64, _ suffix: String) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    /// Opens (or creates) the segment's `.log` file in `directory`.
    init(fileSystem: any FileSystem, directory: String, baseOffset: Int64, indexInterval: Int, readOnly: Bool = false) throws(LogError) {
        self.fileSystem = fileSystem
        self.directory = directory
        self.baseOffset = baseOffset
        self.nextOffset = baseOffset
        self.indexInterval = indexInterval
        self.readOnly = readOnly
        file = try fileSystem.open("\(directory)/\(Self.fileName(baseOffset, ".log"))", create: !readOnly, readOnly: readOnly)
    }

    var offsetIndexPath: String { "\(directory)/\(Self.fileName(baseOffset, ".index"))" }
    var timeIndexPath: String { "\(directory)/\(Self.fileName(baseOffset, ".timeindex"))" }
    /// The producer-state snapshot taken when this segment was started.
    var snapshotPath: String { "\(directory)/\(Self.fileName(baseOffset, ".snapshot"))" }

    var paths: [String] { [file.path, offsetIndexPath, timeIndexPath, snapshotPath] }

    // MARK: Appending

    /// Appends one encoded batch whose base offset is already set.
    func append(_ batch: UnsafeRawBufferPointer, header: RecordBatchHeader, now: Int64) throws(LogError) {
        let position = size
        do {
            try file.write(batch, at: position)
        } catch {
            // Keep the file equal to what the index and offsets describe.
            try? file.truncate(to: position)
            throw error
        }
        size += Int64(batch.count)
        firstAppendAt = firstAppendAt ?? now
        try noteBatch(header, at: position, persistIndex: true)
    }

    /// Updates offsets, timestamps and the sparse indexes for a batch stored at `position`.
    private func noteBatch(_ header: RecordBatchHeader, at position: Int64, persistIndex: Bool) throws(LogError) {
        let relative = UInt32(truncatingIfNeeded: header.baseOffset - baseOffset)
        if offsetIndex.isEmpty || bytesSinceIndexEntry >= indexInterval {
            offsetIndex.append((relative, UInt32(truncatingIfNeeded: position)))
            if persistIndex {
                var writer = ByteWriter(capacity: 8)
                writer.write(relative)
                writer.write(UInt32(truncatingIfNeeded: position))
                try openOffsetIndex().write(writer.bytes, at: Int64((offsetIndex.count - 1) * 8))
            }
            if header.maxTimestamp > maxTimestamp {
                timeIndex.append((header.maxTimestamp, relative))
                if persistIndex {
                    var writer = ByteWriter(capacity: 12)
                    writer.write(header.maxTimestamp)
                    writer.write(relative)
                    try openTimeIndex().write(writer.bytes, at: Int64((timeIndex.count - 1) * 12))
                }
            }
            bytesSinceIndexEntry = 0
        }
        bytesSinceIndexEntry += header.totalSize
        maxTimestamp = max(maxTimestamp, header.maxTimestamp)
        nextOffset = header.lastOffset + 1
    }

    private func openOffsetIndex() throws(LogError) -> any StorageFile {
        if let offsetIndexFile { return offsetIndexFile }
        let opened = try fileSystem.open(offsetIndexPath, create: true, readOnly: false)
        offsetIndexFile = opened
        return opened
    }

    private func openTimeIndex() throws(LogError) -> any StorageFile {
        if let timeIndexFile { return timeIndexFile }
        let opened = try fileSystem.open(timeIndexPath, create: true, readOnly: false)
        timeIndexFile = opened
        return opened
    }

    // MARK: Lookup

    /// The byte position of the last indexed batch starting at or before `offset`, and that
    /// batch's base offset (what a reader must find there: base offsets are outside the CRC).
    func position(for offset: Int64) -> (position: Int64, baseOffset: Int64) {
        let target = offset - baseOffset
        var low = 0
        var high = offsetIndex.count - 1
        var best: (Int64, Int64) = (0, baseOffset)
        while low <= high {
            let mid = (low + high) / 2
            if Int64(offsetIndex[mid].relativeOffset) <= target {
                best = (Int64(offsetIndex[mid].position), baseOffset + Int64(offsetIndex[mid].relativeOffset))
                low = mid + 1
            } else {
                high = mid - 1
            }
        }
        return best
    }

    /// Where to scan from for the first record with a timestamp ≥ `timestamp`.
    func position(forTimestamp timestamp: Int64) -> (position: Int64, baseOffset: Int64) {
        // The time index holds the running maximum: the first entry ≥ target bounds the search,
        // so start from the entry before it.
        guard let index = timeIndex.firstIndex(where: { $0.timestamp >= timestamp }), index > 0 else { return (0, baseOffset) }
        return position(for: baseOffset + Int64(timeIndex[index - 1].relativeOffset))
    }

    // MARK: Recovery

    /// What a scan of the `.log` file found: everything up to `validSize` is intact.
    struct ScanResult {
        var validSize: Int64
        var batches: Int
        var problem: String?
    }

    /// Rebuilds offsets and indexes by reading every batch, verifying lengths, base offsets and
    /// CRCs. Stops at the first torn or corrupt batch; the caller decides what to cut.
    func scan(onBatch: (RecordBatchHeader, ControlMarker?) -> Void = { _, _ in }) throws(LogError) -> ScanResult {
        offsetIndex.removeAll()
        timeIndex.removeAll()
        bytesSinceIndexEntry = 0
        maxTimestamp = -1
        nextOffset = baseOffset
        size = 0
        return try scanOn(onBatch: onBatch)
    }

    /// Continues scanning after the last batch already known (for readers following a log that
    /// another process writes); returns what it found.
    func scanOn(onBatch: (RecordBatchHeader, ControlMarker?) -> Void = { _, _ in }) throws(LogError) -> ScanResult {
        let fileSize = file.size
        var position = size
        var batches = 0
        var problem: String?
        let chunkSize = 8 << 20
        while position < fileSize {
            var chunk = try file.read(at: position, count: Int(min(Int64(chunkSize), fileSize - position)))
            var (found, consumed, stop) = walk(chunk, from: position)
            if case .needMore(let needed) = stop, consumed == 0, needed > chunk.count, position + Int64(needed) <= fileSize {
                // One batch larger than the chunk: read it whole (the header bounds its size).
                chunk = try file.read(at: position, count: needed)
                (found, consumed, stop) = walk(chunk, from: position)
            }
            for (header, at, marker) in found {
                try noteBatch(header, at: at, persistIndex: false)
                onBatch(header, marker)
            }
            batches += found.count
            position += Int64(consumed)
            switch stop {
            case .corrupt(let reason):
                problem = reason
            case .needMore(let needed) where position + Int64(needed) > fileSize:
                problem = "incomplete batch at the end of the file (torn write)"
            default:
                if consumed == 0 { problem = "unreadable batch" }
            }
            if problem != nil { break }
        }
        size = position
        return ScanResult(validSize: position, batches: batches, problem: problem)
    }

    /// Walks the batches of `chunk` (read at `start`); returns them, the bytes they take, and
    /// what stopped the walk.
    private func walk(_ chunk: [UInt8], from start: Int64) -> ([(RecordBatchHeader, Int64, ControlMarker?)], Int, RecordBatchWalker.Step?) {
        chunk.withUnsafeBytes { raw in
            var walker = RecordBatchWalker(raw, expectedBaseOffset: nextOffset)
            var found: [(RecordBatchHeader, Int64, ControlMarker?)] = []
            while walker.remaining > 0 {
                let step = walker.next()
                guard case .batch(let header, let range) = step else { return (found, walker.position, step) }
                found.append(
                    (header, start + Int64(range.lowerBound), RecordBatch.marker(UnsafeRawBufferPointer(rebasing: raw[range]), header: header)))
            }
            return (found, walker.position, nil)
        }
    }

    /// The headers of every intact batch, without changing what the segment knows (for
    /// rebuilding producer state from sealed segments).
    func headers() throws(LogError) -> [(RecordBatchHeader, ControlMarker?)] {
        var headers: [(RecordBatchHeader, ControlMarker?)] = []
        var position: Int64 = 0
        let fileSize = file.size
        var expected: Int64? = baseOffset
        while position < fileSize {
            let chunk = try file.read(at: position, count: Int(min(Int64(8 << 20), fileSize - position)))
            let (found, consumed, next): ([(RecordBatchHeader, ControlMarker?)], Int, Int64?) = chunk.withUnsafeBytes { raw in
                var walker = RecordBatchWalker(raw, expectedBaseOffset: expected)
                var found: [(RecordBatchHeader, ControlMarker?)] = []
                while walker.remaining > 0, case .batch(let header, let range) = walker.next() {
                    found.append((header, RecordBatch.marker(UnsafeRawBufferPointer(rebasing: raw[range]), header: header)))
                }
                return (found, walker.position, walker.expectedBaseOffset)
            }
            headers += found
            guard consumed > 0 else { break }
            position += Int64(consumed)
            expected = next
        }
        return headers
    }

    /// Opens a sealed segment quickly: trusts its index files when they are consistent with the
    /// `.log` file and verifies only the batches after the last index entry; otherwise rescans.
    /// A sealed segment is never cut here: a damaged batch stays where it is (reads refuse it)
    /// and the segment keeps its offsets up to `nextBase`, so no offset is silently skipped.
    func loadSealed(nextBase: Int64) throws(LogError) -> ScanResult {
        let fileSize = file.size
        let offsets = fileSystem.readFile(offsetIndexPath) ?? []
        let times = fileSystem.readFile(timeIndexPath) ?? []
        var loadedOffsets: [(relativeOffset: UInt32, position: UInt32)] = []
        var loadedTimes: [(timestamp: Int64, relativeOffset: UInt32)] = []
        var consistent = offsets.count % 8 == 0 && times.count % 12 == 0 && !offsets.isEmpty
        offsets.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            while consistent, reader.remaining >= 8, let relative = try? reader.read(UInt32.self), let position = try? reader.read(UInt32.self) {
                if let last = loadedOffsets.last, relative <= last.relativeOffset || position <= last.position { consistent = false }
                if Int64(position) >= fileSize { consistent = false }
                loadedOffsets.append((relative, position))
            }
        }
        times.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            while consistent, reader.remaining >= 12, let timestamp = try? reader.read(Int64.self), let relative = try? reader.read(UInt32.self) {
                loadedTimes.append((timestamp, relative))
            }
        }
        if consistent, let last = loadedOffsets.last {
            // Verify from the last indexed batch to the end of the file, base offsets included.
            let tail = try file.read(at: Int64(last.position), count: Int(fileSize - Int64(last.position)))
            let headers: [RecordBatchHeader]? = tail.withUnsafeBytes { raw in
                var walker = RecordBatchWalker(raw, expectedBaseOffset: baseOffset + Int64(last.relativeOffset))
                var headers: [RecordBatchHeader] = []
                while walker.remaining > 0 {
                    guard case .batch(let header, _) = walker.next() else { return nil }
                    headers.append(header)
                }
                return headers
            }
            if let headers, let final = headers.last, final.lastOffset + 1 == nextBase {
                offsetIndex = loadedOffsets
                timeIndex = loadedTimes
                maxTimestamp = max(loadedTimes.last?.timestamp ?? -1, headers.map(\.maxTimestamp).max() ?? -1)
                nextOffset = nextBase
                size = fileSize
                return ScanResult(validSize: fileSize, batches: headers.count, problem: nil)
            }
        }
        var result = try scan()
        if !readOnly { try rewriteIndexes() }
        if result.problem == nil && nextOffset != nextBase {
            result.problem = "the segment ends at offset \(nextOffset) but the next one starts at \(nextBase)"
        }
        if let problem = result.problem {
            size = fileSize
            nextOffset = nextBase
            result.problem = "\(problem) in a sealed segment; kept in place, reads of it will fail"
        }
        return result
    }

    /// Cuts the `.log` file to `size` bytes (what a scan found intact).
    func truncate(to newSize: Int64) throws(LogError) {
        if file.size != newSize { try file.truncate(to: newSize) }
        size = newSize
    }

    /// Rewrites both index files from memory.
    func rewriteIndexes() throws(LogError) {
        var offsets = ByteWriter(capacity: offsetIndex.count * 8)
        for entry in offsetIndex {
            offsets.write(entry.relativeOffset)
            offsets.write(entry.position)
        }
        var times = ByteWriter(capacity: timeIndex.count * 12)
        for entry in timeIndex {
            times.write(entry.timestamp)
            times.write(entry.relativeOffset)
        }
        let offsetFile = try openOffsetIndex()
        let timeFile = try openTimeIndex()
        try offsetFile.truncate(to: 0)
        try timeFile.truncate(to: 0)
        try offsetFile.write(offsets.bytes, at: 0)
        try timeFile.write(times.bytes, at: 0)
    }

    /// Flushes the `.log` file and its indexes.
    func syncAll() throws(LogError) {
        try file.sync()
        try offsetIndexFile?.sync()
        try timeIndexFile?.sync()
    }

    /// After the segment is sealed and synced: its index files are never written again.
    func closeIndexes() {
        offsetIndexFile = nil
        timeIndexFile = nil
    }
}

extension WireError {
    /// Lets wire errors surface as storage errors where a file position is known.
    func asLogError(path: String, position: Int64) -> LogError {
        .corruptBatch(path: path, position: position + Int64(offset), reason: message)
    }
}
