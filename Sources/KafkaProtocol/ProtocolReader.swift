import Foundation
public import KafkaWire

/// Why a request or response could not be decoded: the codec's own error, with the byte offset
/// in the message being read.
public typealias ProtocolError = WireError

/// Reads Kafka protocol primitives from bytes that came off the network: every length and count
/// is checked against what is left before anything is allocated, so a hostile frame costs at
/// most its own size.
public struct ProtocolReader {
    public let bytes: [UInt8]
    public private(set) var position: Int
    let end: Int

    public init(_ bytes: [UInt8], from position: Int = 0) {
        self.bytes = bytes
        self.position = position
        self.end = bytes.count
    }

    public var remaining: Int { end - position }

    mutating func fixed<T: FixedWidthInteger>(_: T.Type) throws(ProtocolError) -> T {
        guard remaining >= MemoryLayout<T>.size else { throw ProtocolError("truncated \(T.self)", at: position) }
        var value: T = 0
        for index in 0..<MemoryLayout<T>.size { value = value << 8 | T(truncatingIfNeeded: bytes[position + index]) }
        position += MemoryLayout<T>.size
        return value
    }

    public mutating func int8() throws(ProtocolError) -> Int8 { try fixed(Int8.self) }
    public mutating func int16() throws(ProtocolError) -> Int16 { try fixed(Int16.self) }
    public mutating func int32() throws(ProtocolError) -> Int32 { try fixed(Int32.self) }
    public mutating func int64() throws(ProtocolError) -> Int64 { try fixed(Int64.self) }
    public mutating func uint16() throws(ProtocolError) -> UInt16 { try fixed(UInt16.self) }
    public mutating func uint32() throws(ProtocolError) -> UInt32 { try fixed(UInt32.self) }
    public mutating func float64() throws(ProtocolError) -> Double { Double(bitPattern: try fixed(UInt64.self)) }

    public mutating func bool() throws(ProtocolError) -> Bool { try fixed(UInt8.self) != 0 }

    public mutating func uuid() throws(ProtocolError) -> KafkaUUID {
        KafkaUUID(high: try fixed(UInt64.self), low: try fixed(UInt64.self))
    }

    /// An unsigned varint of at most 5 bytes (Kafka's lengths, counts and tags are 32-bit).
    public mutating func unsignedVarint() throws(ProtocolError) -> UInt32 {
        var result: UInt32 = 0
        for shift in stride(from: 0, through: 28, by: 7) {
            guard position < end else { throw ProtocolError("truncated varint", at: position) }
            let byte = bytes[position]
            position += 1
            if shift == 28 && byte > 0x0F { throw ProtocolError("varint does not fit 32 bits", at: position - 1) }
            result |= UInt32(byte & 0x7F) << UInt32(shift)
            if byte & 0x80 == 0 { return result }
        }
        throw ProtocolError("varint longer than 5 bytes", at: position)
    }

    /// A length: int16 (strings) or int32 (bytes, arrays) before flexible versions, an unsigned
    /// varint holding length + 1 from them on. nil stands for null (-1, or 0 when compact).
    mutating func length(flexible: Bool, wide: Bool) throws(ProtocolError) -> Int? {
        let start = position
        let length: Int
        if flexible {
            length = Int(try unsignedVarint()) - 1
        } else {
            length = wide ? Int(try int32()) : Int(try int16())
        }
        if length == -1 { return nil }
        guard length >= 0 else { throw ProtocolError("negative length \(length)", at: start) }
        return length
    }

    mutating func take(_ count: Int, what: String) throws(ProtocolError) -> ArraySlice<UInt8> {
        guard count <= remaining else { throw ProtocolError("\(what) of \(count) bytes, but only \(remaining) remain", at: position) }
        defer { position += count }
        return bytes[position..<position + count]
    }

    public mutating func nullableString(flexible: Bool, nullable: Bool = true) throws(ProtocolError) -> String? {
        let start = position
        guard let length = try length(flexible: flexible, wide: false) else {
            guard nullable else { throw ProtocolError("null where a string is required", at: start) }
            return nil
        }
        return String(decoding: try take(length, what: "a string"), as: UTF8.self)
    }

    public mutating func string(flexible: Bool) throws(ProtocolError) -> String {
        let start = position
        guard let text = try nullableString(flexible: flexible, nullable: false) else {
            throw ProtocolError("null where a string is required", at: start)
        }
        return text
    }

    public mutating func nullableBytes(flexible: Bool, nullable: Bool = true) throws(ProtocolError) -> [UInt8]? {
        let start = position
        guard let length = try length(flexible: flexible, wide: true) else {
            guard nullable else { throw ProtocolError("null where bytes are required", at: start) }
            return nil
        }
        return Array(try take(length, what: "bytes"))
    }

    public mutating func bytes(flexible: Bool) throws(ProtocolError) -> [UInt8] {
        try nullableBytes(flexible: flexible, nullable: false) ?? []
    }

    public mutating func nullableArray<Element>(
        flexible: Bool, nullable: Bool = true, _ element: (inout ProtocolReader) throws(ProtocolError) -> Element
    ) throws(ProtocolError) -> [Element]? {
        let start = position
        guard let count = try length(flexible: flexible, wide: true) else {
            guard nullable else { throw ProtocolError("null where an array is required", at: start) }
            return nil
        }
        // Every element takes at least one byte: a count beyond what is left is a lie.
        guard count <= remaining else { throw ProtocolError("array of \(count) elements, but only \(remaining) bytes remain", at: start) }
        var elements: [Element] = []
        elements.reserveCapacity(count)
        for _ in 0..<count { elements.append(try element(&self)) }
        return elements
    }

    public mutating func array<Element>(
        flexible: Bool, _ element: (inout ProtocolReader) throws(ProtocolError) -> Element
    ) throws(ProtocolError) -> [Element] {
        try nullableArray(flexible: flexible, nullable: false, element) ?? []
    }

    /// A tagged-field section: `field` reads the fields it knows (and says so); unknown tags
    /// are skipped by their length. A known field must take exactly its stated length.
    public mutating func taggedFields(_ field: (inout ProtocolReader, UInt32) throws(ProtocolError) -> Bool) throws(ProtocolError) {
        let count = try unsignedVarint()
        guard count <= remaining else { throw ProtocolError("\(count) tagged fields, but only \(remaining) bytes remain", at: position) }
        var previous: UInt32?
        for _ in 0..<count {
            let start = position
            let tag = try unsignedVarint()
            if let previous, tag <= previous { throw ProtocolError("tagged fields out of order (\(tag) after \(previous))", at: start) }
            previous = tag
            let size = Int(try unsignedVarint())
            guard size <= remaining else { throw ProtocolError("tagged field of \(size) bytes, but only \(remaining) remain", at: position) }
            let body = position
            var inner = ProtocolReader(bytes, from: body, end: body + size)
            if try field(&inner, tag) {
                guard inner.position == body + size else {
                    throw ProtocolError("tagged field \(tag) holds \(size) bytes but its value took \(inner.position - body)", at: body)
                }
            }
            position = body + size
        }
    }

    init(_ bytes: [UInt8], from position: Int, end: Int) {
        self.bytes = bytes
        self.position = position
        self.end = end
    }
}

/// A Kafka UUID (topic ids): 16 bytes, as two big-endian halves.
public struct KafkaUUID: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public static let zero = KafkaUUID(high: 0, low: 0)

    /// Kafka prints topic ids in URL-safe base64 without padding.
    public var description: String {
        var bytes = Data()
        withUnsafeBytes(of: high.bigEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: low.bigEndian) { bytes.append(contentsOf: $0) }
        return String(bytes.base64EncodedString().replacing("+", with: "-").replacing("/", with: "_").prefix { $0 != "=" })
    }
}
