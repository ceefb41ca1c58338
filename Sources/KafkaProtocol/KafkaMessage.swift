public import KafkaWire

/// A message of one Kafka API, in every version its spec defines; generated from Apache Kafka's
/// JSON specs by `scripts/kafka-codegen.py`.
public protocol KafkaMessage: Sendable {
    static var apiKey: Int16 { get }
    static var versions: ClosedRange<Int16> { get }
    /// The first version with compact lengths and tagged fields; nil when none has them.
    static var flexibleFrom: Int16? { get }

    init()
    init(from reader: inout ProtocolReader, version: Int16) throws(ProtocolError)
    func write(to writer: inout ByteWriter, version: Int16)
}

extension KafkaMessage {
    public static func isFlexible(_ version: Int16) -> Bool { flexibleFrom.map { version >= $0 } ?? false }

    /// The message alone (no header), for tests and golden bytes.
    public func encoded(version: Int16) -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        write(to: &writer, version: version)
        return writer.bytes
    }

    /// Decodes a whole message: bytes left over are an error.
    public init(decoding bytes: [UInt8], version: Int16) throws(ProtocolError) {
        var reader = ProtocolReader(bytes)
        self = try Self(from: &reader, version: version)
        guard reader.remaining == 0 else { throw ProtocolError("\(reader.remaining) bytes after the message", at: reader.position) }
    }
}

public protocol KafkaRequest: KafkaMessage {}
public protocol KafkaResponse: KafkaMessage {}
