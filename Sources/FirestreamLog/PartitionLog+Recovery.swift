import KafkaWire

extension PartitionLog {
    /// Opens every segment. Sealed segments known complete (the next segment's snapshot exists)
    /// are loaded from their indexes; a damaged batch in one stays in place (reads refuse it).
    /// A sealed segment not known complete is scanned: if a power cut took its tail, the log is
    /// cut there and later segments are removed — nothing from that point on was acknowledged,
    /// since acknowledgements wait for the sync that precedes the snapshot. The active segment is
    /// scanned batch by batch (lengths, base offsets, CRCs) and a torn tail is cut.
    static func recover(
        topic: String, partition: Int, directory: String, settings: PartitionSettings, fileSystem: any FileSystem, readOnly: Bool
    ) throws(LogError) -> ([Segment], [RecoveryNote], ProducerState) {
        let existed = fileSystem.fileExists(directory)
        if !readOnly && !existed {
            try fileSystem.createDirectory(directory)
            try fileSystem.syncDirectory(parent(of: directory))
        }
        let bases = fileSystem.contentsOfDirectory(directory).filter { $0.hasSuffix(".log") }.compactMap { Int64($0.dropLast(4)) }.sorted()
        var segments: [Segment] = []
        var notes: [RecoveryNote] = []
        var lastHeaders: [(RecordBatchHeader, ControlMarker?)] = []
        func note(_ base: Int64, truncated: Int64, _ reason: String) {
            notes.append(
                RecoveryNote(topic: topic, partition: partition, segment: Segment.fileName(base, ".log"), truncatedBytes: truncated, reason: reason))
        }
        func snapshot(_ segment: Segment) -> ProducerState? {
            fileSystem.readFile(segment.snapshotPath).flatMap(ProducerState.init(snapshot:))
        }
        var index = 0
        while index < bases.count {
            let segment = try Segment(
                fileSystem: fileSystem, directory: directory, baseOffset: bases[index], indexInterval: settings.indexIntervalBytes, readOnly: readOnly
            )
            let sizeBefore = segment.file.size
            if index == bases.count - 1 {
                let result = try segment.scan { lastHeaders.append(($0, $1)) }
                if !readOnly {
                    if let problem = result.problem {
                        try segment.truncate(to: result.validSize)
                        try segment.file.sync()
                        note(segment.baseOffset, truncated: sizeBefore - result.validSize, problem)
                    }
                    try segment.rewriteIndexes()
                }
                segments.append(segment)
                break
            }
            let nextBase = bases[index + 1]
            let next = "\(directory)/\(Segment.fileName(nextBase, ".snapshot"))"
            if readOnly || fileSystem.readFile(next).flatMap(ProducerState.init(snapshot:)) != nil {
                let result = try segment.loadSealed(nextBase: nextBase)
                if let problem = result.problem, !readOnly { note(segment.baseOffset, truncated: 0, problem) }
                segments.append(segment)
                index += 1
                continue
            }
            let result = try segment.scan()
            if result.problem == nil && segment.nextOffset == nextBase {
                try segment.rewriteIndexes()
                segments.append(segment)
                index += 1
                continue
            }
            // Cut here: this segment's tail and every later segment were never acknowledged.
            let reason = result.problem ?? "the segment ends at offset \(segment.nextOffset) but the next one starts at \(nextBase)"
            var removed: Int64 = 0
            for later in bases[(index + 1)...] {
                for suffix in [".log", ".index", ".timeindex", ".snapshot"] {
                    let path = "\(directory)/\(Segment.fileName(later, suffix))"
                    if suffix == ".log" { removed += (try? fileSystem.open(path, create: false, readOnly: true))?.size ?? 0 }
                    try fileSystem.unlink(path)
                }
            }
            try segment.truncate(to: result.validSize)
            try segment.file.sync()
            try fileSystem.syncDirectory(directory)
            try segment.rewriteIndexes()
            note(
                segment.baseOffset, truncated: sizeBefore - result.validSize + removed,
                "\(reason) (power loss before the segment was synced; \(bases.count - index - 1) later segment(s) removed)")
            lastHeaders = []
            _ = try segment.scan { lastHeaders.append(($0, $1)) }
            segments.append(segment)
            break
        }
        if segments.isEmpty {
            if readOnly { throw LogError.noData(directory) }
            segments.append(try Segment(fileSystem: fileSystem, directory: directory, baseOffset: 0, indexInterval: settings.indexIntervalBytes))
            try fileSystem.syncDirectory(directory)
        }
        // Producer state: the newest snapshot, then every batch stored after it.
        var producers = ProducerState()
        var from = 0
        if let newest = segments.indices.last(where: { snapshot(segments[$0]) != nil }) {
            producers = snapshot(segments[newest]) ?? ProducerState()
            from = newest
        }
        for segment in segments[from..<(segments.count - 1)] {
            for (header, marker) in try segment.headers() { producers.record(header, marker: marker) }
        }
        for (header, marker) in lastHeaders { producers.record(header, marker: marker) }
        return (segments, notes, producers)
    }
}
