/// The fixed 61-byte header of a Kafka record batch (magic 2), field by field.
public struct RecordBatchHeader: Sendable, Equatable {
    /// Bytes in the header, up to and including the record count.
    public static let size = 61
    /// The CRC covers everything from the attributes field to the end of the batch.
    public static let crcOffset = 17
    public static let attributesOffset = 21
    /// `baseOffset` and `batchLength` precede the length-counted part.
    public static let logOverhead = 12
    /// The largest batch this codec accepts (a damaged length field must not ask for gigabytes).
    public static let maxSize = 256 << 20

    public var baseOffset: Int64
    public var batchLength: Int32
    public var partitionLeaderEpoch: Int32
    public var magic: Int8
    public var crc: UInt32
    public var attributes: Int16
    public var lastOffsetDelta: Int32
    public var baseTimestamp: Int64
    public var maxTimestamp: Int64
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    public var recordCount: Int32

    /// Bytes the whole batch occupies in a segment.
    public var totalSize: Int { Self.logOverhead + Int(batchLength) }
    public var lastOffset: Int64 { baseOffset + Int64(lastOffsetDelta) }
    /// 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    public var compression: Int { Int(attributes & 0x7) }
    public var isTransactional: Bool { attributes & 0x10 != 0 }
    public var isControl: Bool { attributes & 0x20 != 0 }
}

/// Encodes and decodes Kafka record batches, magic 2 — the log's on-disk format and the Kafka
/// protocol's record format (see the Kafka protocol docs, "Record Batch").
public enum RecordBatch {
    /// Appends one uncompressed batch holding `records` (at least one) to `writer`. Offsets are
    /// `baseOffset` + index; the base timestamp is the first record's.
    public static func encode(
        _ records: [ProducerRecord], baseOffset: Int64 = 0, producerId: Int64 = -1, producerEpoch: Int16 = -1,
        baseSequence: Int32 = -1, partitionLeaderEpoch: Int32 = -1, into writer: inout ByteWriter
    ) {
        precondition(!records.isEmpty, "a record batch holds at least one record")
        let start = writer.bytes.count
        let baseTimestamp = records[0].timestamp
        var maxTimestamp = baseTimestamp
        for record in records where record.timestamp > maxTimestamp { maxTimestamp = record.timestamp }
        writer.write(baseOffset)
        writer.write(Int32(0))  // batchLength, patched below
        writer.write(partitionLeaderEpoch)
        writer.write(Int8(2))
        writer.write(UInt32(0))  // crc, patched below
        writer.write(Int16(0))  // attributes: no compression, create time, not transactional
        writer.write(Int32(records.count - 1))
        writer.write(baseTimestamp)
        writer.write(maxTimestamp)
        writer.write(producerId)
        writer.write(producerEpoch)
        writer.write(baseSequence)
        writer.write(Int32(records.count))
        for (index, record) in records.enumerated() {
            encodeRecord(record, offsetDelta: Int64(index), timestampDelta: record.timestamp &- baseTimestamp, into: &writer)
        }
        writer.patch(Int32(writer.bytes.count - start - RecordBatchHeader.logOverhead), at: start + 8)
        let crc = writer.bytes.withUnsafeBytes { raw in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(start + RecordBatchHeader.attributesOffset)...]))
        }
        writer.patch(crc, at: start + RecordBatchHeader.crcOffset)
    }

    /// One batch as a new byte array.
    public static func encode(
        _ records: [ProducerRecord], baseOffset: Int64 = 0, producerId: Int64 = -1, producerEpoch: Int16 = -1,
        baseSequence: Int32 = -1, partitionLeaderEpoch: Int32 = -1
    ) -> [UInt8] {
        var writer = ByteWriter(capacity: 64 + records.reduce(0) { $0 + 24 + ($1.key?.count ?? 0) + ($1.value?.count ?? 0) })
        encode(
            records, baseOffset: baseOffset, producerId: producerId, producerEpoch: producerEpoch,
            baseSequence: baseSequence, partitionLeaderEpoch: partitionLeaderEpoch, into: &writer)
        return writer.bytes
    }

    /// One batch whose records are compressed with `codec`, as a Kafka client would send it.
    public static func encode(
        _ records: [ProducerRecord], compression codec: CompressionCodec, baseOffset: Int64 = 0, producerId: Int64 = -1,
        producerEpoch: Int16 = -1, baseSequence: Int32 = -1
    ) throws(WireError) -> [UInt8] {
        let plain = encode(records, baseOffset: baseOffset, producerId: producerId, producerEpoch: producerEpoch, baseSequence: baseSequence)
        guard codec != .none else { return plain }
        var batch = Array(plain[0..<RecordBatchHeader.size])
        batch += try BatchCompression.compress(Array(plain[RecordBatchHeader.size...]), codec: codec)
        var writer = ByteWriter(capacity: 0)
        writer.bytes = batch
        writer.patch(Int32(batch.count - RecordBatchHeader.logOverhead), at: 8)
        writer.patch(Int16(codec.rawValue), at: RecordBatchHeader.attributesOffset)
        let crc = writer.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.attributesOffset...])) }
        writer.patch(crc, at: RecordBatchHeader.crcOffset)
        return writer.bytes
    }

    private static func encodeRecord(_ record: ProducerRecord, offsetDelta: Int64, timestampDelta: Int64, into writer: inout ByteWriter) {
        var bodySize = 1 + ByteWriter.varintSize(timestampDelta) + ByteWriter.varintSize(offsetDelta)
        bodySize += sizeOfBytes(record.key) + sizeOfBytes(record.value)
        bodySize += ByteWriter.varintSize(Int64(record.headers.count))
        for header in record.headers {
            bodySize += sizeOfBytes(Array(header.key.utf8)) + sizeOfBytes(header.value)
        }
        writer.writeVarint(Int64(bodySize))
        writer.write(Int8(0))
        writer.writeVarint(timestampDelta)
        writer.writeVarint(offsetDelta)
        writeBytes(record.key, into: &writer)
        writeBytes(record.value, into: &writer)
        writer.writeVarint(Int64(record.headers.count))
        for header in record.headers {
            writeBytes(Array(header.key.utf8), into: &writer)
            writeBytes(header.value, into: &writer)
        }
    }

    private static func sizeOfBytes(_ bytes: [UInt8]?) -> Int {
        guard let bytes else { return ByteWriter.varintSize(-1) }
        return ByteWriter.varintSize(Int64(bytes.count)) + bytes.count
    }

    private static func writeBytes(_ bytes: [UInt8]?, into writer: inout ByteWriter) {
        guard let bytes else {
            writer.writeVarint(-1)
            return
        }
        writer.writeVarint(Int64(bytes.count))
        writer.write(bytes)
    }

    /// Parses the header at the start of `bytes` and checks the magic byte and the length fields;
    /// the CRC is checked separately by ``verify(_:)``.
    public static func header(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> RecordBatchHeader {
        var reader = ByteReader(bytes)
        guard bytes.count >= RecordBatchHeader.size else {
            throw WireError("truncated batch header: \(bytes.count) of \(RecordBatchHeader.size) bytes", at: 0)
        }
        let header = RecordBatchHeader(
            baseOffset: try reader.read(Int64.self), batchLength: try reader.read(Int32.self),
            partitionLeaderEpoch: try reader.read(Int32.self), magic: try reader.read(Int8.self),
            crc: try reader.read(UInt32.self), attributes: try reader.read(Int16.self),
            lastOffsetDelta: try reader.read(Int32.self), baseTimestamp: try reader.read(Int64.self),
            maxTimestamp: try reader.read(Int64.self), producerId: try reader.read(Int64.self),
            producerEpoch: try reader.read(Int16.self), baseSequence: try reader.read(Int32.self),
            recordCount: try reader.read(Int32.self))
        guard header.magic == 2 else { throw WireError("unsupported record batch magic \(header.magic)", at: 16) }
        guard Int(header.batchLength) >= RecordBatchHeader.size - RecordBatchHeader.logOverhead else {
            throw WireError("batch length \(header.batchLength) is smaller than a batch header", at: 8)
        }
        guard header.totalSize <= RecordBatchHeader.maxSize else {
            throw WireError("batch length \(header.batchLength) is larger than \(RecordBatchHeader.maxSize) bytes", at: 8)
        }
        guard header.recordCount >= 0, header.lastOffsetDelta >= 0 else {
            throw WireError("negative record count or offset delta", at: 57)
        }
        // The base offset is outside the CRC: a damaged one must not make offsets overflow (the
        // offset after the last record, lastOffset + 1, must exist too).
        guard header.baseOffset >= 0, header.baseOffset < Int64.max - Int64(header.lastOffsetDelta) else {
            throw WireError("base offset \(header.baseOffset) is out of range", at: 0)
        }
        return header
    }

    /// Whether the batch at the start of `bytes` is complete and its CRC-32C matches.
    public static func verify(_ bytes: UnsafeRawBufferPointer, header: RecordBatchHeader) -> Bool {
        guard bytes.count >= header.totalSize else { return false }
        let covered = UnsafeRawBufferPointer(rebasing: bytes[RecordBatchHeader.attributesOffset..<header.totalSize])
        return CRC32C.checksum(covered) == header.crc
    }

    /// Decodes every record of a batch, decompressing it first if it is compressed (gzip,
    /// snappy raw or xerial-framed, lz4, zstd). Call ``verify(_:header:)`` first.
    public static func records(_ bytes: UnsafeRawBufferPointer, header: RecordBatchHeader) throws(WireError) -> [ConsumerRecord] {
        try walk(bytes, header: header, keep: true)
    }

    /// Checks that all of a batch's records decode (decompressing them if needed), and that
    /// nothing follows the last, without copying them out. What Produce checks of every
    /// compressed batch.
    public static func checkRecords(_ bytes: UnsafeRawBufferPointer, header: RecordBatchHeader) throws(WireError) {
        _ = try walk(bytes, header: header, keep: false)
    }

    private static func walk(_ bytes: UnsafeRawBufferPointer, header: RecordBatchHeader, keep: Bool) throws(WireError) -> [ConsumerRecord] {
        guard bytes.count >= header.totalSize else { throw WireError("truncated batch: \(bytes.count) of \(header.totalSize) bytes", at: 0) }
        guard header.compression != 0 else {
            var reader = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[0..<header.totalSize]), at: RecordBatchHeader.size)
            return try records(&reader, header: header, keep: keep)
        }
        guard let codec = CompressionCodec(rawValue: header.compression) else {
            throw WireError("unknown compression codec \(header.compression)", at: RecordBatchHeader.attributesOffset)
        }
        let compressed = UnsafeRawBufferPointer(rebasing: bytes[RecordBatchHeader.size..<header.totalSize])
        let decompressed = try BatchCompression.decompress(compressed, codec: codec)
        let result: Result<[ConsumerRecord], WireError> = decompressed.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            return Result { () throws(WireError) in
                let records = try records(&reader, header: header, keep: keep)
                guard reader.remaining == 0 else {
                    throw WireError("\(reader.remaining) bytes after the last record of a \(codec.name) batch", at: reader.position)
                }
                return records
            }
        }
        return try result.get()
    }

    /// The records section: `header.recordCount` records from `reader`'s position, every field
    /// checked. With `keep` false, keys, values and headers are skipped rather than copied, and
    /// nothing is returned.
    private static func records(_ reader: inout ByteReader, header: RecordBatchHeader, keep: Bool) throws(WireError) -> [ConsumerRecord] {
        var records: [ConsumerRecord] = []
        // A record takes at least 7 bytes: never reserve more than the batch could hold.
        if keep { records.reserveCapacity(min(Int(header.recordCount), reader.remaining / 7)) }
        let readBytes = keep ? Self.readBytes : Self.skipBytes
        for _ in 0..<header.recordCount {
            let length = try reader.readVarint()
            guard length > 0, length <= Int64(reader.remaining) else {
                throw WireError("record length \(length) overruns the batch", at: reader.position)
            }
            let end = reader.position + Int(length)
            _ = try reader.read(Int8.self)
            let timestampDelta = try reader.readVarint()
            let offsetDelta = try reader.readVarint()
            guard offsetDelta >= 0, offsetDelta <= Int64(header.lastOffsetDelta) else {
                throw WireError("record offset delta \(offsetDelta) is outside the batch (0...\(header.lastOffsetDelta))", at: reader.position)
            }
            let key = try readBytes(&reader)
            let value = try readBytes(&reader)
            let headerCount = try reader.readVarint()
            guard headerCount >= 0, headerCount <= Int64(reader.remaining) else {
                throw WireError("header count \(headerCount) overruns the record", at: reader.position)
            }
            var headers: [RecordHeader] = []
            for _ in 0..<headerCount {
                guard let keyBytes = try readBytes(&reader) else { throw WireError("null header key", at: reader.position) }
                let value = try readBytes(&reader)
                if keep { headers.append(RecordHeader(key: String(decoding: keyBytes, as: UTF8.self), value: value)) }
            }
            guard reader.position == end else { throw WireError("record length does not match its fields", at: reader.position) }
            // Timestamp deltas wrap, as they are written (see `encode`), so any pair round-trips.
            if keep {
                records.append(
                    ConsumerRecord(
                        offset: header.baseOffset + offsetDelta, timestamp: header.baseTimestamp &+ timestampDelta, key: key,
                        value: value, headers: headers))
            }
        }
        return records
    }

    /// Skips a length-prefixed byte string, checked like ``readBytes(_:)``: nil when null, an
    /// empty array (which allocates nothing) otherwise.
    private static func skipBytes(_ reader: inout ByteReader) throws(WireError) -> [UInt8]? {
        let length = try reader.readVarint()
        if length < 0 { return nil }
        guard length <= Int64(reader.remaining) else { throw WireError("\(length) bytes past the end", at: reader.position) }
        reader.position += Int(length)
        return []
    }

    private static func readBytes(_ reader: inout ByteReader) throws(WireError) -> [UInt8]? {
        let length = try reader.readVarint()
        if length < 0 { return nil }
        return try reader.readBytes(Int(length))
    }

    /// Rewrites the base offset of the batch at the start of `bytes` (not covered by the CRC, so the
    /// log can assign offsets without re-encoding).
    public static func setBaseOffset(_ offset: Int64, in bytes: UnsafeMutableRawBufferPointer) {
        bytes.storeBytes(of: offset.bigEndian, toByteOffset: 0, as: Int64.self)
    }
}

/// Idempotent producers number their records; the numbers wrap after Int32.max, as Kafka's do.
public enum ProducerSequence {
    /// `sequence` advanced by `count` records.
    public static func advance(_ sequence: Int32, by count: Int) -> Int32 {
        Int32((Int64(sequence) + Int64(count)) % (Int64(Int32.max) + 1))
    }
}
