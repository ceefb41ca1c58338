import FirestreamLog
import Testing

@testable import KafkaWire

/// Bytes from hex text.
func hexBytes(_ hex: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        bytes.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

@Suite struct CRC32CTests {
    @Test func standardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    /// RFC 3720 (iSCSI) appendix B.4 test vectors.
    @Test func rfc3720Vectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
    }

    @Test func incrementalEqualsOneShotAtEveryLengthAndSplit() {
        var generator = SplitMix64(seed: 7)
        let data = (0..<300).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        for length in [0, 1, 7, 8, 9, 63, 64, 65, 300] {
            let whole = CRC32C.checksum(data[0..<length])
            let split = length / 3
            let first = data[0..<split].withUnsafeBytes { CRC32C.update(0, $0) }
            let both = data[split..<length].withUnsafeBytes { CRC32C.update(first, $0) }
            #expect(whole == both, "length \(length)")
            #expect(whole == bitwiseCRC(Array(data[0..<length])), "length \(length)")
            let tables = data[0..<length].withUnsafeBytes { CRC32C.updateWithTables(0, $0) }
            #expect(tables == whole, "table path, length \(length)")
        }
    }

    /// The textbook one-bit-at-a-time CRC-32C, as an independent reference.
    private func bitwiseCRC(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }
}

@Suite struct Murmur2Tests {
    /// Values from Kafka's own partitioner (checked against kafka-python 3.0.12's `murmur2`).
    @Test func matchesKafkasPartitioner() {
        #expect(Int32(bitPattern: Murmur2.hash(Array("21".utf8))) == -973_932_308)
        #expect(Int32(bitPattern: Murmur2.hash(Array("foobar".utf8))) == -790_332_482)
        #expect(Murmur2.hash(Array("a-little-bit-long-string".utf8)) == 3_308_985_760)
        #expect(Murmur2.hash(Array("abc".utf8)) == 479_470_107)
        #expect(Murmur2.hash([UInt8]()) == 275_646_681)
        #expect(Murmur2.partition(for: Array("device-0001".utf8), partitions: 5) == 2)
        #expect(Murmur2.partition(for: Array("foobar".utf8), partitions: 5) == 1)
    }
}

@Suite struct VarintTests {
    @Test func zigZagEncodings() {
        for (value, expected) in [(0, [0x00]), (-1, [0x01]), (1, [0x02]), (-64, [0x7F]), (64, [0x80, 0x01]), (300, [0xD8, 0x04])]
            as [(Int64, [UInt8])]
        {
            var writer = ByteWriter()
            writer.writeVarint(value)
            #expect(writer.bytes == expected, "\(value)")
            #expect(ByteWriter.varintSize(value) == expected.count)
        }
    }

    @Test func roundTripsExtremes() throws {
        for value in [Int64.min, Int64.max, -1, 0, 1, Int64(Int32.min), 1 << 40] {
            var writer = ByteWriter()
            writer.writeVarint(value)
            let decoded = try writer.bytes.withUnsafeBytes { raw in
                var reader = ByteReader(raw)
                return try reader.readVarint()
            }
            #expect(decoded == value)
        }
    }
}

@Suite struct RecordBatchTests {
    /// A batch built by kafka-python 3.0.12's DefaultRecordBatchBuilder (partition leader epoch 0):
    /// two records, one keyed with a header, one with a null key.
    static let kafkaPythonBatch = hexBytes(
        "000000000000000000000057000000000242bb89f80000000000010000018bcfe568000000018bcfe56805ffffffffffffffffffffffffffff0000000232000000106465766963652d310e7b2278223a317d020268027616000a02010a68656c6c6f00"
    )
    static let records = [
        ProducerRecord(
            key: Array("device-1".utf8), value: Array("{\"x\":1}".utf8), headers: [RecordHeader(key: "h", value: [0x76])],
            timestamp: 1_700_000_000_000),
        ProducerRecord(key: nil, value: Array("hello".utf8), timestamp: 1_700_000_000_005),
    ]

    @Test func encodesExactlyAsAKafkaClientDoes() {
        #expect(RecordBatch.encode(Self.records, partitionLeaderEpoch: 0) == Self.kafkaPythonBatch)
    }

    @Test func decodesAKafkaClientsBatch() throws {
        try Self.kafkaPythonBatch.withUnsafeBytes { raw in
            let header = try RecordBatch.header(raw)
            #expect(header.totalSize == 99)
            #expect(header.crc == 0x42BB_89F8)
            #expect(header.recordCount == 2)
            #expect(header.lastOffsetDelta == 1)
            #expect(header.maxTimestamp == 1_700_000_000_005)
            #expect(header.producerId == -1)
            #expect(RecordBatch.verify(raw, header: header))
            let records = try RecordBatch.records(raw, header: header)
            #expect(records.map(\.offset) == [0, 1])
            #expect(records[0].key == Array("device-1".utf8))
            #expect(records[0].headers == [RecordHeader(key: "h", value: [0x76])])
            #expect(records[1].key == nil)
            #expect(records[1].timestamp == 1_700_000_000_005)
            #expect(records[1].value == Array("hello".utf8))
        }
    }

    @Test func baseOffsetIsOutsideTheCRC() throws {
        var bytes = Self.kafkaPythonBatch
        bytes.withUnsafeMutableBytes { RecordBatch.setBaseOffset(1000, in: $0) }
        try bytes.withUnsafeBytes { raw in
            let header = try RecordBatch.header(raw)
            #expect(RecordBatch.verify(raw, header: header))
            #expect(try RecordBatch.records(raw, header: header).map(\.offset) == [1000, 1001])
        }
    }

    @Test func everySingleByteFlipAfterTheCRCFieldIsDetected() throws {
        for index in RecordBatchHeader.attributesOffset..<Self.kafkaPythonBatch.count {
            var bytes = Self.kafkaPythonBatch
            bytes[index] ^= 0x01
            bytes.withUnsafeBytes { raw in
                // Either the header no longer parses, or the CRC no longer matches.
                if let header = try? RecordBatch.header(raw) {
                    #expect(!RecordBatch.verify(raw, header: header), "flip at \(index) went unnoticed")
                }
            }
        }
    }

    @Test func truncatedBatchesAreRejected() throws {
        for length in [0, 30, 60, 61, 98] {
            let prefix = Array(Self.kafkaPythonBatch.prefix(length))
            prefix.withUnsafeBytes { raw in
                if let header = try? RecordBatch.header(raw) {
                    #expect(!RecordBatch.verify(raw, header: header))
                }
            }
        }
    }

    @Test func roundTripsRandomRecords() throws {
        var generator = SplitMix64(seed: 42)
        for _ in 0..<200 {
            let count = Int(generator.next() % 20) + 1
            let base = Int64(generator.next() % 1_000_000_000_000)
            let records = (0..<count).map { _ in
                ProducerRecord(
                    key: generator.next() % 4 == 0 ? nil : randomBytes(&generator, max: 40),
                    value: generator.next() % 8 == 0 ? nil : randomBytes(&generator, max: 400),
                    headers: (0..<Int(generator.next() % 3)).map { index in
                        RecordHeader(key: "k\(index)", value: generator.next() % 2 == 0 ? nil : randomBytes(&generator, max: 10))
                    },
                    timestamp: base + Int64(generator.next() % 100_000))
            }
            let bytes = RecordBatch.encode(records, baseOffset: 77)
            try bytes.withUnsafeBytes { raw in
                let header = try RecordBatch.header(raw)
                #expect(header.totalSize == bytes.count)
                #expect(RecordBatch.verify(raw, header: header))
                let decoded = try RecordBatch.records(raw, header: header)
                #expect(decoded.map(\.offset) == (0..<count).map { 77 + Int64($0) })
                #expect(decoded.map(\.key) == records.map(\.key))
                #expect(decoded.map(\.value) == records.map(\.value))
                #expect(decoded.map(\.headers) == records.map(\.headers))
                #expect(decoded.map(\.timestamp) == records.map(\.timestamp))
            }
        }
    }

    @Test func extremeTimestampsRoundTrip() throws {
        let records = [Int64.min, Int64.max, 0, -1].map { ProducerRecord(key: nil, value: [1], timestamp: $0) }
        let bytes = RecordBatch.encode(records)
        let decoded = try bytes.withUnsafeBytes { raw in try RecordBatch.records(raw, header: try RecordBatch.header(raw)) }
        #expect(decoded.map(\.timestamp) == [Int64.min, Int64.max, 0, -1])
    }

    /// Damaged fields that the CRC does not cover, or damage with a recomputed CRC (what a hostile
    /// client can send): always an error, never a trap or a huge allocation.
    @Test func hostileBatchesFailCleanly() throws {
        let valid = RecordBatch.encode(
            (0..<5).map {
                ProducerRecord(
                    key: Array("k\($0)".utf8), value: Array("value \($0)".utf8), headers: [RecordHeader(key: "h", value: [1])],
                    timestamp: 1_000 + Int64($0))
            })
        func withCRC(_ bytes: [UInt8]) -> [UInt8] {
            var fixed = bytes
            let crc = CRC32C.checksum(Array(fixed[RecordBatchHeader.attributesOffset...]))
            withUnsafeBytes(of: crc.bigEndian) { for (i, byte) in $0.enumerated() { fixed[RecordBatchHeader.crcOffset + i] = byte } }
            return fixed
        }
        func decode(_ bytes: [UInt8]) -> Bool {
            bytes.withUnsafeBytes { raw in
                guard let header = try? RecordBatch.header(raw), RecordBatch.verify(raw, header: header) else { return false }
                return (try? RecordBatch.records(raw, header: header)) != nil
            }
        }
        #expect(decode(valid))
        var huge = valid
        huge.replaceSubrange(0..<8, with: [0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(!decode(huge), "a base offset whose last offset overflows")
        // Found by the fuzzer: a last offset of exactly Int64.max left no offset after it.
        var atTheEdge = valid
        atTheEdge.replaceSubrange(0..<8, with: withUnsafeBytes(of: (Int64.max - 4).bigEndian, Array.init))
        #expect(!decode(atTheEdge), "a batch whose last offset is Int64.max")
        atTheEdge.withUnsafeBytes { raw in
            var walker = RecordBatchWalker(raw)
            if case .batch = walker.next() { Issue.record("the walker took a batch that ends at Int64.max") }
        }
        var negative = valid
        negative.replaceSubrange(0..<8, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(!decode(negative))
        var manyRecords = valid
        manyRecords.replaceSubrange(57..<61, with: [0x7F, 0xFF, 0xFF, 0xFF])
        #expect(!decode(withCRC(manyRecords)), "Int32.max records claimed in a small batch")
        var longLength = valid
        longLength.replaceSubrange(8..<12, with: [0x7F, 0xFF, 0xFF, 0xFF])
        #expect(!decode(longLength))
        // The first record's length varint as the largest varint there is.
        var longRecord = valid
        longRecord.replaceSubrange(61..<62, with: [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        #expect(!decode(withCRC(withBatchLength(longRecord))), "a record length of Int64.max")

        // Random damage with the CRC recomputed, so decoding goes past the checksum.
        var generator = SplitMix64(seed: 7)
        for _ in 0..<50_000 {
            var bytes = valid
            for _ in 0..<Int(generator.next() % 4) + 1 {
                let index = RecordBatchHeader.attributesOffset + Int(generator.next() % UInt64(bytes.count - RecordBatchHeader.attributesOffset))
                bytes[index] = UInt8(truncatingIfNeeded: generator.next())
            }
            _ = decode(withCRC(bytes))
        }
    }

    /// The batch with its length field set to its real length.
    private func withBatchLength(_ bytes: [UInt8]) -> [UInt8] {
        var fixed = bytes
        withUnsafeBytes(of: Int32(bytes.count - RecordBatchHeader.logOverhead).bigEndian) { for (i, byte) in $0.enumerated() { fixed[8 + i] = byte } }
        return fixed
    }

    private func randomBytes(_ generator: inout SplitMix64, max: Int) -> [UInt8] {
        (0..<Int(generator.next() % UInt64(max + 1))).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
    }
}
