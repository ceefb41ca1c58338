import CRC32CHardware

/// CRC-32C (Castagnoli), the checksum Kafka record batches carry over everything after the CRC
/// field. Uses the CPU's CRC-32C instructions when it has them (SSE4.2, ARMv8 CRC), otherwise
/// slice-by-8 tables (eight bytes per step).
public enum CRC32C {
    /// Whether checksums run on the CPU's CRC-32C instructions.
    public static let usesHardware = firestream_crc32c_hardware_available() != 0
    private static let tables: [[UInt32]] = {
        var tables = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            tables[0][byte] = crc
        }
        for byte in 0..<256 {
            for slice in 1..<8 {
                let previous = tables[slice - 1][byte]
                tables[slice][byte] = (previous >> 8) ^ tables[0][Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        update(0, bytes)
    }

    public static func checksum(_ bytes: some Collection<UInt8>) -> UInt32 {
        if let result = bytes.withContiguousStorageIfAvailable({ update(0, UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { update(0, $0) }
    }

    /// Continues a checksum over more bytes (`crc` is a previous result; start from 0).
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        if usesHardware { return ~firestream_crc32c_hardware_update(~crc, base, bytes.count) }
        return updateWithTables(crc, bytes)
    }

    /// The portable slice-by-8 implementation (also the reference the hardware path is tested against).
    static func updateWithTables(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = ~crc
        var index = 0
        let count = bytes.count
        tables.withUnsafeBufferPointer { all in
            let t0 = all[0]
            let t1 = all[1]
            let t2 = all[2]
            let t3 = all[3]
            let t4 = all[4]
            let t5 = all[5]
            let t6 = all[6]
            let t7 = all[7]
            t0.withUnsafeBufferPointer { t0 in
                t1.withUnsafeBufferPointer { t1 in
                    t2.withUnsafeBufferPointer { t2 in
                        t3.withUnsafeBufferPointer { t3 in
                            t4.withUnsafeBufferPointer { t4 in
                                t5.withUnsafeBufferPointer { t5 in
                                    t6.withUnsafeBufferPointer { t6 in
                                        t7.withUnsafeBufferPointer { t7 in
                                            while count - index >= 8 {
                                                let low = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self)) ^ crc
                                                let high = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index + 4, as: UInt32.self))
                                                crc =
                                                    t7[Int(low & 0xFF)] ^ t6[Int((low >> 8) & 0xFF)]
                                                    ^ t5[Int((low >> 16) & 0xFF)] ^ t4[Int(low >> 24)]
                                                    ^ t3[Int(high & 0xFF)] ^ t2[Int((high >> 8) & 0xFF)]
                                                    ^ t1[Int((high >> 16) & 0xFF)] ^ t0[Int(high >> 24)]
                                                index += 8
                                            }
                                            while index < count {
                                                crc = (crc >> 8) ^ t0[Int((crc ^ UInt32(bytes[index])) & 0xFF)]
                                                index += 1
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return ~crc
    }
}
