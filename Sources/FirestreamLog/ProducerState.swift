import KafkaWire

/// The last batch each idempotent producer wrote to a partition, as a Kafka broker keeps it:
/// a batch whose sequence is already covered is a duplicate (a retry or a replay after a
/// crash) and is not written again.
struct ProducerState: Equatable {
    struct Entry: Equatable {
        var epoch: Int16
        var lastSequence: Int32
        var lastOffset: Int64
    }

    private(set) var entries: [Int64: Entry] = [:]

    /// What to do with a batch from an idempotent producer.
    enum Verdict: Equatable {
        case append
        case duplicate(lastOffset: Int64)
        case outOfOrder(expected: Int32, got: Int32)
        case fenced(current: Int16)
    }

    func check(_ header: RecordBatchHeader) -> Verdict {
        guard header.producerId >= 0, header.baseSequence >= 0, let entry = entries[header.producerId] else { return .append }
        if header.producerEpoch < entry.epoch { return .fenced(current: entry.epoch) }
        if header.producerEpoch > entry.epoch { return header.baseSequence == 0 ? .append : .outOfOrder(expected: 0, got: header.baseSequence) }
        let expected = ProducerSequence.advance(entry.lastSequence, by: 1)
        if header.baseSequence == expected { return .append }
        // Distance backwards from the expected sequence, modulo 2^31: a small one is a replay.
        let behind = (Int64(expected) - Int64(header.baseSequence) + (1 << 31)) % (1 << 31)
        if behind > 0 && behind < (1 << 30) { return .duplicate(lastOffset: entry.lastOffset) }
        return .outOfOrder(expected: expected, got: header.baseSequence)
    }

    mutating func record(_ header: RecordBatchHeader) {
        guard header.producerId >= 0, header.baseSequence >= 0 else { return }
        let last = ProducerSequence.advance(header.baseSequence, by: Int(header.lastOffsetDelta))
        entries[header.producerId] = Entry(epoch: header.producerEpoch, lastSequence: last, lastOffset: header.lastOffset)
    }

    func lastSequence(of producerId: Int64) -> Int32? { entries[producerId]?.lastSequence }

    // MARK: Snapshots (`<segment base>.snapshot`, written when a segment is sealed)

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 8 + entries.count * 22)
        writer.write(UInt32(entries.count))
        for (id, entry) in entries.sorted(by: { $0.key < $1.key }) {
            writer.write(id)
            writer.write(entry.epoch)
            writer.write(entry.lastSequence)
            writer.write(entry.lastOffset)
        }
        writer.write(CRC32C.checksum(writer.bytes))
        return writer.bytes
    }

    init() {}

    /// Decodes a snapshot; nil when it is damaged (the caller then rebuilds from segments).
    init?(snapshot bytes: [UInt8]) {
        guard bytes.count >= 8 else { return nil }
        let body = bytes.dropLast(4)
        let stored = bytes.suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard CRC32C.checksum(body) == stored else { return nil }
        var entries: [Int64: Entry] = [:]
        let ok: Bool = Array(body).withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            guard let count = try? reader.read(UInt32.self) else { return false }
            for _ in 0..<count {
                guard let id = try? reader.read(Int64.self), let epoch = try? reader.read(Int16.self),
                    let sequence = try? reader.read(Int32.self), let offset = try? reader.read(Int64.self)
                else { return false }
                entries[id] = Entry(epoch: epoch, lastSequence: sequence, lastOffset: offset)
            }
            return reader.remaining == 0
        }
        guard ok else { return nil }
        self.entries = entries
    }
}
