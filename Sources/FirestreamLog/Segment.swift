import KafkaWire

/// One segment of a partition: a `.log` file of record batches starting at `baseOffset`, with a
/// sparse offset index (`.index`: relative offset + byte position, 8 bytes an entry, Kafka's
/// layout) and a time index (`.timeindex`: max timestamp so far + relative offset, 12 bytes).
///
/// Not thread-safe: the owning ``PartitionLog`` serializes access.
final class Segment: @unchecked Sendable {
    let baseOffset: Int64
    let file: LogFile
    private let offsetIndexFile: LogFile
    private let timeIndexFile: LogFile
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

    static func fileName(_ baseOffset: Int64, _ suffix: String) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    /// Opens (or creates) the segment files in `directory`.
    /// Read-only segments never write: no index repair, no truncation.
    let readOnly: Bool

    init(directory: String, baseOffset: Int64, indexInterval: Int, readOnly: Bool = false) throws(LogError) {
        self.baseOffset = baseOffset
        self.nextOffset = baseOffset
        self.indexInterval = indexInterval
        self.readOnly = readOnly
        file = try LogFile(path: "\(directory)/\(Self.fileName(baseOffset, ".log"))", readOnly: readOnly)
        offsetIndexFile = try LogFile(path: "\(directory)/\(Self.fileName(baseOffset, ".index"))", readOnly: readOnly)
        timeIndexFile = try LogFile(path: "\(directory)/\(Self.fileName(baseOffset, ".timeindex"))", readOnly: readOnly)
    }

    /// The producer-state snapshot taken when this segment was started.
    var snapshotPath: String { String(file.path.dropLast(4)) + ".snapshot" }

    var paths: [String] { [file.path, offsetIndexFile.path, timeIndexFile.path, snapshotPath] }

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
            if persistIndex { try appendEntry(relative, UInt32(truncatingIfNeeded: position), to: offsetIndexFile, count: offsetIndex.count) }
            if header.maxTimestamp > maxTimestamp {
                timeIndex.append((header.maxTimestamp, relative))
                if persistIndex { try appendTimeEntry(header.maxTimestamp, relative) }
            }
            bytesSinceIndexEntry = 0
        }
        bytesSinceIndexEntry += header.totalSize
        maxTimestamp = max(maxTimestamp, header.maxTimestamp)
        nextOffset = header.lastOffset + 1
    }

    private func appendEntry(_ a: UInt32, _ b: UInt32, to file: LogFile, count: Int) throws(LogError) {
        var writer = ByteWriter(capacity: 8)
        writer.write(a)
        writer.write(b)
        try file.write(writer.bytes, at: Int64((count - 1) * 8))
    }

    private func appendTimeEntry(_ timestamp: Int64, _ relative: UInt32) throws(LogError) {
        var writer = ByteWriter(capacity: 12)
        writer.write(timestamp)
        writer.write(relative)
        try timeIndexFile.write(writer.bytes, at: Int64((timeIndex.count - 1) * 12))
    }

    // MARK: Lookup

    /// The byte position of the last indexed batch starting at or before `offset`.
    func position(for offset: Int64) -> Int64 {
        let target = offset - baseOffset
        var low = 0
        var high = offsetIndex.count - 1
        var best: Int64 = 0
        while low <= high {
            let mid = (low + high) / 2
            if Int64(offsetIndex[mid].relativeOffset) <= target {
                best = Int64(offsetIndex[mid].position)
                low = mid + 1
            } else {
                high = mid - 1
            }
        }
        return best
    }

    /// The byte position from which to scan for the first record with a timestamp ≥ `timestamp`.
    func position(forTimestamp timestamp: Int64) -> Int64 {
        // The time index holds the running maximum: the first entry ≥ target bounds the search,
        // so start from the entry before it.
        guard let index = timeIndex.firstIndex(where: { $0.timestamp >= timestamp }), index > 0 else { return 0 }
        return position(for: baseOffset + Int64(timeIndex[index - 1].relativeOffset))
    }

    // MARK: Recovery

    /// What a scan of the `.log` file found: everything up to `validSize` is intact.
    struct ScanResult {
        var validSize: Int64
        var batches: Int
        var problem: String?
    }

    /// Rebuilds offsets and indexes by reading every batch, verifying lengths, offsets and CRCs.
    /// Stops at the first torn or corrupt batch; the caller truncates there.
    func scan(onBatch: (RecordBatchHeader) -> Void = { _ in }) throws(LogError) -> ScanResult {
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
    func scanOn(onBatch: (RecordBatchHeader) -> Void = { _ in }) throws(LogError) -> ScanResult {
        let fileSize = file.size
        var position: Int64 = size
        var batches = 0
        var problem: String?
        let chunkSize = 8 << 20
        scanning: while position < fileSize {
            let chunk = try file.read(at: position, count: Int(min(Int64(chunkSize), fileSize - position)))
            var consumed = 0
            var needMore = false
            var failure: String?
            var found: [(RecordBatchHeader, Int64)] = []
            chunk.withUnsafeBytes { raw in
                while consumed < raw.count {
                    let rest = UnsafeRawBufferPointer(rebasing: raw[consumed...])
                    if rest.count < RecordBatchHeader.size {
                        needMore = true
                        return
                    }
                    let header: RecordBatchHeader
                    do {
                        header = try RecordBatch.header(rest)
                    } catch {
                        failure = "\(error)"
                        return
                    }
                    if rest.count < header.totalSize {
                        needMore = true
                        return
                    }
                    let expected = found.last.map { $0.0.lastOffset + 1 } ?? nextOffset
                    if header.baseOffset != expected {
                        failure = "batch base offset \(header.baseOffset), expected \(expected)"
                        return
                    }
                    if !RecordBatch.verify(rest, header: header) {
                        failure = "CRC-32C mismatch in the batch at offset \(header.baseOffset)"
                        return
                    }
                    found.append((header, position + Int64(consumed)))
                    consumed += header.totalSize
                }
            }
            for (header, at) in found {
                try noteBatch(header, at: at, persistIndex: false)
                onBatch(header)
            }
            batches += found.count
            position += Int64(consumed)
            if let failure {
                problem = failure
                break scanning
            }
            if needMore {
                if position + Int64(chunk.count - consumed) >= fileSize || consumed == 0 && chunk.count < chunkSize {
                    problem = "incomplete batch at the end of the file (torn write)"
                    break scanning
                }
                if consumed == 0 {
                    // A single batch larger than the chunk: read it whole.
                    let head = try file.read(at: position, count: RecordBatchHeader.size)
                    guard let header = head.withUnsafeBytes({ try? RecordBatch.header($0) }) else {
                        problem = "unreadable batch header"
                        break scanning
                    }
                    let whole = try file.read(at: position, count: header.totalSize)
                    guard whole.count == header.totalSize,
                        whole.withUnsafeBytes({ RecordBatch.verify($0, header: header) })
                    else {
                        problem = "torn or corrupt batch at offset \(header.baseOffset)"
                        break scanning
                    }
                    try noteBatch(header, at: position, persistIndex: false)
                    onBatch(header)
                    batches += 1
                    position += Int64(header.totalSize)
                }
            }
        }
        size = position
        return ScanResult(validSize: position, batches: batches, problem: problem)
    }

    /// Opens a sealed segment quickly: trusts its index files when they are consistent with the
    /// `.log` file and verifies only the batches after the last index entry; otherwise rescans.
    func loadSealed(nextBase: Int64) throws(LogError) -> ScanResult {
        let fileSize = file.size
        let offsets = try offsetIndexFile.read(at: 0, count: Int(offsetIndexFile.size))
        let times = try timeIndexFile.read(at: 0, count: Int(timeIndexFile.size))
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
        guard consistent, let last = loadedOffsets.last else { return try scanSealed(nextBase: nextBase) }
        // Verify from the last indexed batch to the end of the file.
        let tail = try file.read(at: Int64(last.position), count: Int(fileSize - Int64(last.position)))
        var position = 0
        var headers: [RecordBatchHeader] = []
        let intact: Bool = tail.withUnsafeBytes { raw in
            while position < raw.count {
                let rest = UnsafeRawBufferPointer(rebasing: raw[position...])
                guard let header = try? RecordBatch.header(rest), RecordBatch.verify(rest, header: header) else { return false }
                headers.append(header)
                position += header.totalSize
            }
            return true
        }
        guard intact, let first = headers.first, first.baseOffset == baseOffset + Int64(last.relativeOffset) else {
            return try scanSealed(nextBase: nextBase)
        }
        offsetIndex = loadedOffsets
        timeIndex = loadedTimes
        maxTimestamp = max(loadedTimes.last?.timestamp ?? -1, headers.map(\.maxTimestamp).max() ?? -1)
        nextOffset = headers.last!.lastOffset + 1
        size = fileSize
        return ScanResult(validSize: fileSize, batches: headers.count, problem: nil)
    }

    /// Full scan of a sealed segment whose indexes did not match. A sealed segment is never cut:
    /// a damaged batch stays where it is (reads refuse it by its CRC) and the segment keeps its
    /// offsets up to the next segment's base, so no offset is silently skipped.
    private func scanSealed(nextBase: Int64) throws(LogError) -> ScanResult {
        let fileSize = file.size
        var result = try scan()
        if !readOnly { try truncateAndRewriteIndexes(to: result.validSize, cutLog: false) }
        if result.problem != nil {
            size = fileSize
            nextOffset = nextBase
            result.problem = "\(result.problem!) in a sealed segment; kept in place, reads of it will fail"
        }
        return result
    }

    /// Full scan, then the `.log` is cut at the last intact batch and both indexes rewritten.
    func scanAndRepairIndexes(onBatch: (RecordBatchHeader) -> Void = { _ in }) throws(LogError) -> ScanResult {
        let result = try scan(onBatch: onBatch)
        if readOnly { return result }
        try truncateAndRewriteIndexes(to: result.validSize)
        return result
    }

    /// Cuts the `.log` file to `size` bytes and rewrites both index files from memory.
    func truncateAndRewriteIndexes(to size: Int64, cutLog: Bool = true) throws(LogError) {
        if cutLog && file.size != size { try file.truncate(to: size) }
        self.size = size
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
        try offsetIndexFile.truncate(to: 0)
        try timeIndexFile.truncate(to: 0)
        try offsetIndexFile.write(offsets.bytes, at: 0)
        try timeIndexFile.write(times.bytes, at: 0)
    }

    /// Flushes the `.log` file and its indexes (used when the segment is sealed).
    func syncAll() throws(LogError) {
        try file.sync()
        try offsetIndexFile.sync()
        try timeIndexFile.sync()
    }
}

extension WireError {
    /// Lets wire errors surface as storage errors where a file position is known.
    func asLogError(path: String, position: Int64) -> LogError {
        .corruptBatch(path: path, position: position + Int64(offset), reason: message)
    }
}
