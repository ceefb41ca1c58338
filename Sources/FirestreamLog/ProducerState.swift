import KafkaWire

/// A transaction a producer aborted in one partition: its records from `firstOffset` to the
/// marker at `lastOffset` are hidden from read_committed readers.
public struct AbortedTransaction: Sendable, Equatable {
    public var producerId: Int64
    public var firstOffset: Int64
    public var lastOffset: Int64

    public init(producerId: Int64, firstOffset: Int64, lastOffset: Int64) {
        self.producerId = producerId
        self.firstOffset = firstOffset
        self.lastOffset = lastOffset
    }
}

/// The last batch each idempotent producer wrote to a partition, as a Kafka broker keeps it:
/// a batch whose sequence is already covered is a duplicate (a retry or a replay after a
/// crash) and is not written again. It also follows transactions: the first offset of each
/// producer's open transaction here (the last stable offset is the smallest), and the aborted
/// ones, whose records read_committed readers skip.
struct ProducerState: Equatable {
    struct Entry: Equatable {
        var epoch: Int16
        var lastSequence: Int32
        var lastOffset: Int64
    }

    private(set) var entries: [Int64: Entry] = [:]
    /// Producer id → the first offset of its transaction still open in this partition.
    private(set) var open: [Int64: Int64] = [:]
    /// Ordered by `lastOffset` (markers are appended in offset order).
    private(set) var aborted: [AbortedTransaction] = []

    /// What to do with a batch from an idempotent producer.
    enum Verdict: Equatable {
        case append
        case duplicate(lastOffset: Int64)
        case outOfOrder(expected: Int32, got: Int32)
        case fenced(current: Int16)
    }

    func check(_ header: RecordBatchHeader) -> Verdict {
        guard header.producerId >= 0, let entry = entries[header.producerId] else { return .append }
        if header.producerEpoch < entry.epoch { return .fenced(current: entry.epoch) }
        guard header.baseSequence >= 0 else { return .append }
        if header.producerEpoch > entry.epoch { return header.baseSequence == 0 ? .append : .outOfOrder(expected: 0, got: header.baseSequence) }
        let expected = ProducerSequence.advance(entry.lastSequence, by: 1)
        if header.baseSequence == expected { return .append }
        // Distance backwards from the expected sequence, modulo 2^31: a small one is a replay.
        let behind = (Int64(expected) - Int64(header.baseSequence) + (1 << 31)) % (1 << 31)
        if behind > 0 && behind < (1 << 30) { return .duplicate(lastOffset: entry.lastOffset) }
        return .outOfOrder(expected: expected, got: header.baseSequence)
    }

    /// Notes a stored batch; `marker` is what a control batch says.
    mutating func record(_ header: RecordBatchHeader, marker: ControlMarker? = nil) {
        guard header.producerId >= 0 else { return }
        if header.isControl {
            if let first = open.removeValue(forKey: header.producerId), marker == .abort {
                aborted.append(AbortedTransaction(producerId: header.producerId, firstOffset: first, lastOffset: header.baseOffset))
            }
            // A marker written under a newer epoch fences the older one; that epoch's
            // sequences start at 0.
            let known = entries[header.producerId]
            if known == nil || header.producerEpoch > known!.epoch {
                entries[header.producerId] = Entry(epoch: header.producerEpoch, lastSequence: -1, lastOffset: header.lastOffset)
            }
            return
        }
        if header.isTransactional && open[header.producerId] == nil { open[header.producerId] = header.baseOffset }
        guard header.baseSequence >= 0 else { return }
        let last = ProducerSequence.advance(header.baseSequence, by: Int(header.lastOffsetDelta))
        entries[header.producerId] = Entry(epoch: header.producerEpoch, lastSequence: last, lastOffset: header.lastOffset)
    }

    func lastSequence(of producerId: Int64) -> Int32? { entries[producerId]?.lastSequence }

    /// The first offset of the oldest open transaction, if any.
    var firstUnstableOffset: Int64? { open.values.min() }

    /// The aborted transactions with records in `range`, oldest first.
    func aborted(overlapping range: Range<Int64>) -> [AbortedTransaction] {
        var low = 0
        var high = aborted.count
        while low < high {
            let middle = (low + high) / 2
            if aborted[middle].lastOffset < range.lowerBound { low = middle + 1 } else { high = middle }
        }
        return aborted[low...].filter { $0.firstOffset < range.upperBound }
    }

    /// Forgets aborted transactions that ended before `offset` (their records were removed).
    mutating func forgetAborted(before offset: Int64) {
        if let first = aborted.first, first.lastOffset < offset { aborted.removeAll { $0.lastOffset < offset } }
    }

    // MARK: Snapshots (`<segment base>.snapshot`, written when a segment is sealed)

    /// Marks the second format, which follows transactions (the first began with a count).
    private static let transactionsFormat: UInt32 = 0xFFFF_FF02

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 16 + entries.count * 22 + open.count * 16 + aborted.count * 24)
        writer.write(Self.transactionsFormat)
        writer.write(UInt32(entries.count))
        for (id, entry) in entries.sorted(by: { $0.key < $1.key }) {
            writer.write(id)
            writer.write(entry.epoch)
            writer.write(entry.lastSequence)
            writer.write(entry.lastOffset)
        }
        writer.write(UInt32(open.count))
        for (id, first) in open.sorted(by: { $0.key < $1.key }) {
            writer.write(id)
            writer.write(first)
        }
        writer.write(UInt32(aborted.count))
        for transaction in aborted {
            writer.write(transaction.producerId)
            writer.write(transaction.firstOffset)
            writer.write(transaction.lastOffset)
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
        var state = ProducerState()
        let ok: Bool = Array(body).withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            do throws(WireError) {
                var count = try reader.read(UInt32.self)
                let transactions = count == Self.transactionsFormat
                if transactions { count = try reader.read(UInt32.self) }
                for _ in 0..<count {
                    let id = try reader.read(Int64.self)
                    state.entries[id] = Entry(
                        epoch: try reader.read(Int16.self), lastSequence: try reader.read(Int32.self), lastOffset: try reader.read(Int64.self))
                }
                if transactions {
                    for _ in 0..<(try reader.read(UInt32.self)) { state.open[try reader.read(Int64.self)] = try reader.read(Int64.self) }
                    for _ in 0..<(try reader.read(UInt32.self)) {
                        state.aborted.append(
                            AbortedTransaction(
                                producerId: try reader.read(Int64.self), firstOffset: try reader.read(Int64.self),
                                lastOffset: try reader.read(Int64.self)))
                    }
                }
                return reader.remaining == 0
            } catch {
                return false
            }
        }
        guard ok else { return nil }
        self = state
    }
}
