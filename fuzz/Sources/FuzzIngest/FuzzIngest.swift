import CFuzzMain
import FirestreamFormats
import FirestreamJSON

/// Ingest bodies: any bytes, both framings, with a key pointer. Whatever is accepted must be
/// JSON, and compacting valid JSON must keep it valid and value-for-value the same length or less.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIngest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    for framing in [IngestBody.Framing.json, .ndjson] {
        if let records = try? IngestBody.parse(raw, framing: framing, keyPointer: JSONPointer("/a/0/b")) {
            for record in records {
                precondition(JSONBytes.isValid(record.value), "an accepted record is not JSON")
            }
        }
    }
    if JSONBytes.isValid(raw) {
        let compact = JSONBytes.compacted(raw, 0..<size)
        precondition(compact.count <= size && JSONBytes.isValid(compact), "compacting broke valid JSON")
        _ = JSONPointer("/a/0/b")?.keyText(in: compact)
        compact.withUnsafeBytes { bytes in
            for item in JSONBytes.arrayItems(bytes, in: 0..<bytes.count) { _ = JSONBytes.scalarText(bytes, item) }
        }
    }
    // The pointer reader is also called on bytes nobody validated (it must not trap).
    _ = JSONPointer("/x")?.keyText(in: raw, 0..<size)
    return 0
}

/// The executable's entry point: libFuzzer's driver with this target.
@_cdecl("FuzzIngest_main")
public func fuzzIngestMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    firestream_fuzz_main(argc, argv) { data, size in fuzzIngest(data!, size) }
}
