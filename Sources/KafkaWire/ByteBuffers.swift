/// Appends big-endian integers and zig-zag varints to a byte array, as the Kafka wire format needs.
public struct ByteWriter {
    public var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable public mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    @inlinable public mutating func write(_ data: some Collection<UInt8>) {
        bytes.append(contentsOf: data)
    }

    /// Zig-zag varint (Kafka `varint`/`varlong`).
    @inlinable public mutating func writeVarint(_ value: Int64) {
        var zigzag = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        while zigzag >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: zigzag) | 0x80)
            zigzag >>= 7
        }
        bytes.append(UInt8(zigzag))
    }

    /// Overwrites a big-endian integer already written at `offset`.
    @inlinable public mutating func patch<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeBytes(of: value.bigEndian) { raw in
            for (i, byte) in raw.enumerated() { bytes[offset + i] = byte }
        }
    }

    /// Bytes a zig-zag varint of `value` takes.
    @inlinable public static func varintSize(_ value: Int64) -> Int {
        var zigzag = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        var size = 1
        while zigzag >= 0x80 {
            zigzag >>= 7
            size += 1
        }
        return size
    }
}

/// Why bytes could not be decoded; `offset` is relative to the start of what was being read.
public struct WireError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var offset: Int

    public init(_ message: String, at offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "\(message) (at byte \(offset))" }
}

/// Reads big-endian integers and zig-zag varints from raw bytes, checking every bound.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    public var position: Int

    public init(_ bytes: UnsafeRawBufferPointer, at position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    public var remaining: Int { bytes.count - position }

    @inlinable public mutating func read<T: FixedWidthInteger>(_: T.Type) throws(WireError) -> T {
        guard remaining >= MemoryLayout<T>.size else { throw WireError("truncated \(T.self)", at: position) }
        let value = T(bigEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
        position += MemoryLayout<T>.size
        return value
    }

    @inlinable public mutating func readVarint() throws(WireError) -> Int64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count else { throw WireError("truncated varint", at: position) }
            let byte = bytes[position]
            position += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
            guard shift < 64 else { throw WireError("varint longer than 10 bytes", at: position) }
        }
        return Int64(bitPattern: result >> 1) ^ -Int64(bitPattern: result & 1)
    }

    /// `count` bytes as a new array.
    @inlinable public mutating func readBytes(_ count: Int) throws(WireError) -> [UInt8] {
        guard count >= 0, remaining >= count else { throw WireError("truncated: \(count) bytes expected", at: position) }
        let slice = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[position..<position + count]))
        position += count
        return slice
    }
}
