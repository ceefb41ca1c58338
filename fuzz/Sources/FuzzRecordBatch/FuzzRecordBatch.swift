import CFuzzMain
import KafkaWire

/// Record batches back to back, as a segment or a fetch holds them: walk them, decode their
/// records. Every batch the walker accepts has a matching CRC; decoding must fail cleanly or
/// give offsets inside the batch.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecordBatch(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    var walker = RecordBatchWalker(raw)
    while walker.remaining > 0, case .batch(let header, let range) = walker.next() {
        let bytes = UnsafeRawBufferPointer(rebasing: raw[range])
        precondition(RecordBatch.verify(bytes, header: header))
        if let records = try? RecordBatch.records(bytes, header: header) {
            for record in records { precondition(record.offset >= header.baseOffset && record.offset <= header.lastOffset) }
        }
    }
    // The same bytes taken as one batch, whatever its CRC says.
    if let header = try? RecordBatch.header(raw) {
        _ = try? RecordBatch.records(raw, header: header)
    }
    return 0
}

/// The executable's entry point: libFuzzer's driver with this target.
@_cdecl("FuzzRecordBatch_main")
public func fuzzRecordBatchMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    firestream_fuzz_main(argc, argv) { data, size in fuzzRecordBatch(data!, size) }
}
