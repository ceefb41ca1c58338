import CFuzzMain
import KafkaProtocol
import KafkaWire

/// A request body after a 4-byte prefix (API key, version), decoded by the generated codec as
/// the broker would. Hostile bytes must fail with a ProtocolError, never trap or allocate more
/// than they hold; and whatever decodes must survive encode → decode → encode unchanged.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKafkaRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 4 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let key = Int16(bytes[0]) << 8 | Int16(bytes[1])
    let version = Int16(bytes[2]) << 8 | Int16(bytes[3])
    guard let type = KafkaRequests.types[key], type.versions.contains(version) else { return 0 }
    var reader = ProtocolReader(bytes, from: 4)
    guard let request = try? type.init(from: &reader, version: version) else { return 0 }
    let first = request.encoded(version: version)
    guard let again = try? type.init(decoding: first, version: version) else {
        preconditionFailure("\(type) v\(version): its own encoding does not decode")
    }
    precondition(again.encoded(version: version) == first, "\(type) v\(version) does not round-trip")
    return 0
}

/// The executable's entry point: libFuzzer's driver with this target.
@_cdecl("FuzzKafkaRequest_main")
public func fuzzKafkaRequestMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    firestream_fuzz_main(argc, argv) { data, size in fuzzKafkaRequest(data!, size) }
}
