/// Walks record batches laid back to back in bytes (a segment file, a fetch response): each step
/// yields one whole, CRC-checked batch, says how many bytes it needs to see the next one, or says
/// why the bytes there are not a batch. Reads, recovery and segment loading all walk this way.
public struct RecordBatchWalker {
    /// What lies at the walker's position.
    public enum Step: Equatable {
        /// A complete batch whose CRC matches, at `range`.
        case batch(RecordBatchHeader, range: Range<Int>)
        /// The bytes end before the batch does: `needed` bytes from the position would hold it.
        case needMore(needed: Int)
        /// Not a valid batch (bad header, CRC mismatch, or an offset out of sequence).
        case corrupt(String)
    }

    public let bytes: UnsafeRawBufferPointer
    public private(set) var position: Int
    /// The base offset the next batch must have (nil: any); follows each batch walked.
    public private(set) var expectedBaseOffset: Int64?

    public init(_ bytes: UnsafeRawBufferPointer, at position: Int = 0, expectedBaseOffset: Int64? = nil) {
        self.bytes = bytes
        self.position = position
        self.expectedBaseOffset = expectedBaseOffset
    }

    public var remaining: Int { bytes.count - position }

    /// The step at the current position, without moving.
    public func peek() -> Step {
        let rest = UnsafeRawBufferPointer(rebasing: bytes[position...])
        guard rest.count >= RecordBatchHeader.size else { return .needMore(needed: RecordBatchHeader.size) }
        let header: RecordBatchHeader
        do {
            header = try RecordBatch.header(rest)
        } catch {
            return .corrupt(error.message)
        }
        guard rest.count >= header.totalSize else { return .needMore(needed: header.totalSize) }
        guard RecordBatch.verify(rest, header: header) else { return .corrupt("CRC-32C mismatch in the batch at offset \(header.baseOffset)") }
        if let expected = expectedBaseOffset, header.baseOffset != expected {
            return .corrupt("batch base offset \(header.baseOffset), expected \(expected)")
        }
        return .batch(header, range: position..<(position + header.totalSize))
    }

    /// The step at the current position; moves past it when it is a batch.
    public mutating func next() -> Step {
        let step = peek()
        if case .batch(let header, let range) = step {
            position = range.upperBound
            expectedBaseOffset = header.lastOffset + 1
        }
        return step
    }
}
