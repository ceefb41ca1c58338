public import KafkaProtocol
public import KafkaWire

/// The header every request starts with. Version 1 (non-flexible APIs) ends after the client id;
/// version 2 (flexible) adds a tagged-field section. The client id is a plain nullable string in
/// both.
public struct RequestHeader: Sendable, Equatable {
    public var apiKey: Int16
    public var apiVersion: Int16
    public var correlationID: Int32
    public var clientID: String?

    public init(apiKey: Int16, apiVersion: Int16, correlationID: Int32, clientID: String?) {
        self.apiKey = apiKey
        self.apiVersion = apiVersion
        self.correlationID = correlationID
        self.clientID = clientID
    }

    /// Reads the fixed part; the tagged fields (if the API's version is flexible) are read by
    /// ``readTaggedFields(_:)`` once the caller knows the API.
    public init(from reader: inout ProtocolReader) throws(ProtocolError) {
        apiKey = try reader.int16()
        apiVersion = try reader.int16()
        correlationID = try reader.int32()
        clientID = try reader.nullableString(flexible: false)
    }

    public static func readTaggedFields(_ reader: inout ProtocolReader) throws(ProtocolError) {
        try reader.taggedFields { _, _ throws(ProtocolError) in false }
    }

    /// A request frame (size prefix included), for clients and tests.
    public func frame<Request: KafkaRequest>(_ request: Request) -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        writer.writeInt32(0)
        writer.writeInt16(apiKey)
        writer.writeInt16(apiVersion)
        writer.writeInt32(correlationID)
        writer.writeNullableString(clientID, flexible: false)
        if Request.isFlexible(apiVersion) { writer.writeUnsignedVarint(0) }
        request.write(to: &writer, version: apiVersion)
        writer.patch(Int32(writer.bytes.count - 4), at: 0)
        return writer.bytes
    }
}

/// A response frame: size, correlation id, an empty tagged-field section for flexible versions
/// (except ApiVersions, whose response header is always version 0 so that a client can read it
/// before it knows what the broker speaks), then the body.
func responseFrame<Response: KafkaResponse>(_ response: Response, version: Int16, correlationID: Int32) -> [UInt8] {
    var writer = ByteWriter(capacity: 256)
    writer.writeInt32(0)
    writer.writeInt32(correlationID)
    if Response.isFlexible(version) && Response.apiKey != ApiVersionsResponse.apiKey { writer.writeUnsignedVarint(0) }
    response.write(to: &writer, version: version)
    writer.patch(Int32(writer.bytes.count - 4), at: 0)
    return writer.bytes
}
