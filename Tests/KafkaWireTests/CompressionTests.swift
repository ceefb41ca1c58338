import KafkaWire
import Testing

@Suite struct CompressionTests {
    let records = (0..<50).map { index in
        ProducerRecord(
            key: index % 3 == 0 ? nil : Array("k\(index)".utf8), value: index == 7 ? nil : Array(String(repeating: "v\(index)-", count: index).utf8),
            headers: [RecordHeader(key: "h", value: [UInt8(index)])], timestamp: 1_700_000_000_000 + Int64(index))
    }

    func decoded(_ batch: [UInt8]) throws -> [ConsumerRecord] {
        try batch.withUnsafeBytes { raw in
            let header = try RecordBatch.header(raw)
            #expect(RecordBatch.verify(raw, header: header))
            return try RecordBatch.records(raw, header: header)
        }
    }

    @Test(arguments: CompressionCodec.allCases)
    func everyCodecRoundTripsABatch(codec: CompressionCodec) throws {
        let batch = try RecordBatch.encode(records, compression: codec, baseOffset: 100)
        let plain = RecordBatch.encode(records, baseOffset: 100)
        if codec != .none { #expect(batch.count < plain.count, "\(codec.name) makes this batch smaller") }
        let header = try batch.withUnsafeBytes { try RecordBatch.header($0) }
        #expect(header.compression == codec.rawValue)
        #expect(try decoded(batch) == (try decoded(plain)))
    }

    @Test func xerialFramedSnappyIsReadAsWellAsRaw() throws {
        // kafka-python and aiokafka frame snappy the Java way: magic, two versions, then blocks.
        let text = Array(String(repeating: "firestream ", count: 500).utf8)
        let raw = try BatchCompression.compress(text, codec: .snappy)
        let halves = [Array(text[..<2000]), Array(text[2000...])]
        var framed: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]
        for half in halves {
            let block = try BatchCompression.compress(half, codec: .snappy)
            framed += withUnsafeBytes(of: UInt32(block.count).bigEndian, Array.init) + block
        }
        #expect(try raw.withUnsafeBytes { try BatchCompression.decompress($0, codec: .snappy) } == text)
        #expect(try framed.withUnsafeBytes { try BatchCompression.decompress($0, codec: .snappy) } == text)
    }

    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4, .zstd])
    func aSmallBatchCannotDecompressPastTheLimit(codec: CompressionCodec) throws {
        let zeros = [UInt8](repeating: 0, count: 4 << 20)
        let bomb = try BatchCompression.compress(zeros, codec: codec)
        #expect(bomb.count < 1 << 20)
        #expect(throws: WireError.self) { try bomb.withUnsafeBytes { try BatchCompression.decompress($0, codec: codec, limit: 1 << 20) } }
        #expect(try bomb.withUnsafeBytes { try BatchCompression.decompress($0, codec: codec, limit: 8 << 20) }.count == zeros.count)
    }

    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4, .zstd])
    func damagedOrCutDataIsAnErrorNotACrash(codec: CompressionCodec) throws {
        let data = try BatchCompression.compress(Array(String(repeating: "abcdefgh", count: 300).utf8), codec: codec)
        for cut in [0, 1, data.count / 2, data.count - 1] {
            #expect(throws: WireError.self, "\(codec.name) cut at \(cut)") {
                try Array(data.prefix(cut)).withUnsafeBytes { try BatchCompression.decompress($0, codec: codec) }
            }
        }
        var flipped = data
        for index in stride(from: 4, to: flipped.count, by: 5) { flipped[index] ^= 0x5A }
        // Damage is found, or (snappy has no checksum) the output is wrong: never a trap.
        if let output = try? flipped.withUnsafeBytes({ try BatchCompression.decompress($0, codec: codec) }) {
            #expect(output != Array(String(repeating: "abcdefgh", count: 300).utf8))
        }
    }

    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4, .zstd])
    func recordsAreCheckedWithoutBeingCopiedAndTrailingBytesAreRefused(codec: CompressionCodec) throws {
        let batch = try RecordBatch.encode(records, compression: codec)
        try batch.withUnsafeBytes { raw in try RecordBatch.checkRecords(raw, header: try RecordBatch.header(raw)) }
        // The same records with one byte after the last, compressed and framed anew.
        let plain = RecordBatch.encode(records)
        var bad =
            Array(plain[0..<RecordBatchHeader.size]) + (try BatchCompression.compress(Array(plain[RecordBatchHeader.size...]) + [0], codec: codec))
        var writer = ByteWriter(capacity: 0)
        writer.bytes = bad
        writer.patch(Int32(bad.count - RecordBatchHeader.logOverhead), at: 8)
        writer.patch(Int16(codec.rawValue), at: RecordBatchHeader.attributesOffset)
        bad = writer.bytes
        #expect(throws: WireError.self) { try bad.withUnsafeBytes { raw in try RecordBatch.checkRecords(raw, header: try RecordBatch.header(raw)) } }
        #expect(throws: WireError.self) { try bad.withUnsafeBytes { raw in try RecordBatch.records(raw, header: try RecordBatch.header(raw)) } }
    }
}
