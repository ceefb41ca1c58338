import CFuzzMain
import FirestreamLog
import FirestreamTesting
import KafkaWire

/// Segment recovery on damaged files: the input becomes one or two segment files of a partition
/// on a simulated disk; the log must open, read back what it kept with contiguous offsets, and
/// take a new append after it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecovery(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let disk = SimulatedDisk()
    let mount = disk.mount()
    let directory = "/d/topics/t/0"
    do throws(LogError) {
        try mount.createDirectory(directory)
        let metadata = #"{"name":"t","partitions":1,"settings":{"segmentBytes":1048576,"segmentMilliseconds":604800000,"indexIntervalBytes":64}}"#
        try write(Array(metadata.utf8), to: "/d/topics/t/topic.json", on: mount)
        // The first byte chooses where a second segment starts (offsets 0 and 3 in the name).
        let split = input.isEmpty ? 0 : min(Int(input[0]) * 4, input.count)
        try write(Array(input.dropFirst().prefix(split)), to: "\(directory)/00000000000000000000.log", on: mount)
        if split < input.count { try write(Array(input.dropFirst(1 + split)), to: "\(directory)/00000000000000000003.log", on: mount) }
        try mount.syncDirectory(directory)
    } catch {
        preconditionFailure("setting up the disk failed: \(error)")
    }
    guard let log = try? Log(directory: "/d", durability: .osBuffered, fileSystem: disk.mount()) else { return 0 }
    defer { log.close() }
    guard let partition = log.topicIfExists("t")?.partitions.first else { return 0 }
    var next = partition.startOffset
    while next < partition.durableOffset, let fetched = try? partition.read(from: next) {
        for record in fetched.records {
            precondition(record.offset >= next, "offsets went backwards")
            next = record.offset + 1
        }
        if fetched.records.isEmpty { break }
    }
    var batch = RecordBatch.encode([ProducerRecord(key: nil, value: [1, 2, 3], timestamp: 1)])
    if let appended = try? partition.appendBatch(&batch) {
        precondition(appended.first == partition.endOffset - 1, "an append after recovery went to the wrong offset")
    }
    return 0
}

func write(_ bytes: [UInt8], to path: String, on mount: any FileSystem) throws(LogError) {
    let file = try mount.open(path, create: true, readOnly: false)
    try file.write(bytes, at: 0)
    try file.sync()
}

/// The executable's entry point: libFuzzer's driver with this target.
@_cdecl("FuzzRecovery_main")
public func fuzzRecoveryMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    firestream_fuzz_main(argc, argv) { data, size in fuzzRecovery(data!, size) }
}
