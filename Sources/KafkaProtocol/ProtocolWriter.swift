public import KafkaWire

/// Kafka protocol primitives on top of the big-endian writer the record batch codec uses.
extension ByteWriter {
    public mutating func writeInt8(_ value: Int8) { write(value) }
    public mutating func writeInt16(_ value: Int16) { write(value) }
    public mutating func writeInt32(_ value: Int32) { write(value) }
    public mutating func writeInt64(_ value: Int64) { write(value) }
    public mutating func writeUint16(_ value: UInt16) { write(value) }
    public mutating func writeUint32(_ value: UInt32) { write(value) }
    public mutating func writeFloat64(_ value: Double) { write(value.bitPattern) }
    public mutating func writeBool(_ value: Bool) { write(UInt8(value ? 1 : 0)) }

    public mutating func writeUuid(_ value: KafkaUUID) {
        write(value.high)
        write(value.low)
    }

    public mutating func writeUnsignedVarint(_ value: UInt32) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// A length or count; nil is null. Lengths never exceed Int32 here: messages are bounded.
    mutating func writeLength(_ length: Int?, flexible: Bool, wide: Bool) {
        if flexible {
            writeUnsignedVarint(length.map { UInt32(clamping: $0 + 1) } ?? 0)
        } else if wide {
            writeInt32(length.map { Int32(clamping: $0) } ?? -1)
        } else {
            writeInt16(length.map { Int16(clamping: $0) } ?? -1)
        }
    }

    public mutating func writeNullableString(_ value: String?, flexible: Bool) {
        guard let value else { return writeLength(nil, flexible: flexible, wide: false) }
        writeLength(value.utf8.count, flexible: flexible, wide: false)
        write(value.utf8)
    }

    public mutating func writeString(_ value: String, flexible: Bool) { writeNullableString(value, flexible: flexible) }

    public mutating func writeNullableBytes(_ value: [UInt8]?, flexible: Bool) {
        guard let value else { return writeLength(nil, flexible: flexible, wide: true) }
        writeLength(value.count, flexible: flexible, wide: true)
        write(value)
    }

    public mutating func writeBytes(_ value: [UInt8], flexible: Bool) { writeNullableBytes(value, flexible: flexible) }

    public mutating func writeNullableArray<Element>(_ value: [Element]?, flexible: Bool, _ element: (inout ByteWriter, Element) -> Void) {
        guard let value else { return writeLength(nil, flexible: flexible, wide: true) }
        writeLength(value.count, flexible: flexible, wide: true)
        for item in value { element(&self, item) }
    }

    public mutating func writeArray<Element>(_ value: [Element], flexible: Bool, _ element: (inout ByteWriter, Element) -> Void) {
        writeNullableArray(value, flexible: flexible, element)
    }
}

/// Collects a message's tagged fields (only those that differ from their defaults), then writes
/// the section: count, and per field its tag, size and bytes, in tag order.
public struct TaggedFieldsWriter {
    var fields: [(tag: UInt32, bytes: [UInt8])] = []

    public init() {}

    public mutating func add(_ tag: UInt32, _ body: (inout ByteWriter) -> Void) {
        var writer = ByteWriter(capacity: 16)
        body(&writer)
        fields.append((tag, writer.bytes))
    }

    public func write(to writer: inout ByteWriter) {
        writer.writeUnsignedVarint(UInt32(fields.count))
        for field in fields.sorted(by: { $0.tag < $1.tag }) {
            writer.writeUnsignedVarint(field.tag)
            writer.writeUnsignedVarint(UInt32(field.bytes.count))
            writer.write(field.bytes)
        }
    }
}
