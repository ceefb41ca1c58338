import FirestreamDemo
import FirestreamJSON
import FirestreamLog
import FirestreamStreams
import Foundation
import KafkaWire
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Benchmarks of the hot paths (not tests): they print throughput figures.
///
///   swift run -c release firestream-bench [wiener|log|all] [--records N] [--dir PATH]
///   swift run -c release firestream-bench fanout [--clients 1000] [--rate 10000] [--seconds 10]
///   swift run -c release firestream-bench ingest [--records N]
///   swift run -c release firestream-bench kafka [--records N] [--dir PATH]
///   swift run -c release firestream-bench storage [--records N] [--dir PATH]
///   swift run -c release firestream-bench sql [--records N] [--dir PATH]
///   swift run -c release firestream-bench tables [--records N] [--dir PATH]
@main
struct Benchmarks {
    static func main() async throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        let which = arguments.first.map { $0.hasPrefix("--") ? "all" : arguments.removeFirst() } ?? "all"
        var records = 1_000_000
        var directory = FileManager.default.temporaryDirectory.path
        var clients = 1000
        var rate = 10_000
        var seconds = 10
        var pythonApp = "Sources/FirestreamCLI/Templates/python/wiener.py"
        while !arguments.isEmpty {
            let flag = arguments.removeFirst()
            guard let value = arguments.first else { fail("\(flag) needs a value") }
            arguments.removeFirst()
            switch flag {
            case "--records":
                guard let number = Int(value), number >= 10 else { fail("--records takes a number (at least 10)") }
                records = number
            case "--dir": directory = value
            case "--clients": clients = Int(value) ?? 0
            case "--rate": rate = Int(value) ?? 0
            case "--seconds": seconds = Int(value) ?? 0
            case "--python-app": pythonApp = value
            default:
                fail(
                    "unknown option \(flag); usage: firestream-bench [wiener|python|log|ingest|kafka|storage|sql|tables|all|fanout] [--records N] [--dir PATH] [--clients N --rate N --seconds N] [--python-app FILE.py]"
                )
            }
        }
        print(
            "machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB; data in \(directory)"
        )
        if which == "wiener" || which == "all" { try await wiener(records: records, in: directory) }
        if which == "python" {
            try await wiener(records: records, in: directory)
            try await PythonBenchmark.run(records: records, in: directory, app: pythonApp)
        }
        if which == "log" || which == "all" { try await log(in: directory) }
        if which == "ingest" || which == "all" { try await IngestBenchmark.run(records: records, in: directory) }
        if which == "kafka" || which == "all" { try await KafkaBenchmark.run(records: records, in: directory) }
        if which == "storage" || which == "all" { try await StorageBenchmark.run(records: records, in: directory) }
        if which == "sql" || which == "all" { try await SQLBenchmark.run(records: records, in: directory) }
        if which == "tables" { try await TableBenchmark.run(records: records, in: directory) }
        if which == "fanout" {
            guard clients > 0, rate > 0, seconds > 0 else { fail("--clients, --rate and --seconds take positive numbers") }
            try await FanOutBenchmark.run(clients: clients, rate: rate, seconds: seconds, in: directory)
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("firestream-bench: \(message)\n".utf8))
        exit(2)
    }

    static func scratch(_ base: String) -> String {
        let path = "\(base)/firestream-bench-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    // MARK: Wiener end to end

    /// The demo's readings for 5 devices, one tick a second: `count` rounded down to whole ticks.
    static func metronomeReadings(_ count: Int) -> (values: [ProducerRecord], devices: [String]) {
        let devices = MetronomeSource.deviceIDs(count: 5, seed: 7)
        let source = MetronomeSource(devices: devices, seed: 7)
        let ticks = count / devices.count
        var values: [ProducerRecord] = []
        values.reserveCapacity(ticks * devices.count)
        for tick in 0..<ticks {
            let time = 1_700_000_000_000 + Int64(tick) * 1000
            for device in devices { values.append(source.record(device: device, index: Int64(tick), time: time)) }
        }
        return (values, devices)
    }

    static func wiener(records: Int, in base: String) async throws {
        let path = scratch(base)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (values, devices) = metronomeReadings(records)
        print("\n== wiener: \(values.count) pre-generated metronome records, JSON decode + state + JSON encode + durable append")
        let log = try Log(directory: path)
        defer { log.close() }
        let input = try log.createTopic("metronome")
        for start in stride(from: 0, to: values.count, by: 5000) {
            _ = try await input.partitions[0].append(Array(values[start..<min(start + 5000, values.count)]))
        }
        let inputBytes = input.partitions[0].sizeInBytes

        // Where the time goes: each stage alone, single-threaded, on the same records.
        let app = WienerApp()
        let clock = ContinuousClock()
        var decoded: [WienerApp.Reading] = []
        decoded.reserveCapacity(values.count)
        let decodeTime = try clock.measure { for value in values { decoded.append(try app.decode(value.value!)) } }
        var states: [String: WienerApp.State] = [:]
        var points: [WienerApp.Point] = []
        points.reserveCapacity(values.count)
        let processTime = clock.measure {
            for reading in decoded {
                var state = states[reading.deviceID]
                var context = ProcessingContext(now: 0, timestamp: 0)
                points += app.process(reading, state: &state, context: &context)
                states[reading.deviceID] = state
            }
        }
        var encodedBytes = 0
        let encodeTime = try clock.measure { for point in points { encodedBytes += try app.encode(point).count } }
        let rate = { (count: Int, time: Duration) in String(format: "%.2f M/s", Double(count) / seconds(time) / 1e6) }
        print(
            "  stage alone: decode \(rate(values.count, decodeTime)), state \(rate(values.count, processTime)), encode \(rate(points.count, encodeTime))"
        )

        let runner = AppRunner(WienerApp())
        try runner.prepare(log)
        let started = clock.now
        let task = Task { try await runner.run(log) }
        let output = try log.topic("wiener")
        let expected = Int64(values.count - devices.count)
        while output.recordCount < expected { try await Task.sleep(for: .milliseconds(2)) }
        let elapsed = clock.now - started
        task.cancel()
        try await task.value
        let journalBytes = try log.topic(runner.journalTopic).partitions[0].sizeInBytes
        print(
            String(
                format: "  end to end: %d events in %.3f s = %.0f events/s (%d steps; read %.1f MB, wrote %.1f MB output + %.1f MB journal)",
                values.count, seconds(elapsed), Double(values.count) / seconds(elapsed), runner.counters.steps.load(ordering: .relaxed),
                Double(inputBytes) / 1e6, Double(output.partitions[0].sizeInBytes) / 1e6, Double(journalBytes) / 1e6))
    }

    // MARK: Raw log

    static func log(in base: String) async throws {
        let total = 512 << 20
        let recordSize = 1024
        let perBatch = 256
        print(
            "\n== log: \(total >> 20) MiB of \(recordSize)-byte records, \(perBatch) per batch (\(perBatch * recordSize >> 10) KiB batches), fsync group commit"
        )
        let payload = [UInt8](repeating: 0x61, count: recordSize - 40)
        let batches = total / (recordSize * perBatch)
        let clock = ContinuousClock()

        // The disk's own sequential write speed, with one fsync at the end, for comparison.
        let rawPath = scratch(base)
        defer { try? FileManager.default.removeItem(atPath: rawPath) }
        let chunk = [UInt8](repeating: 0x62, count: perBatch * recordSize)
        let fd = open("\(rawPath)/raw", O_CREAT | O_WRONLY, 0o644)
        let rawTime = clock.measure {
            for _ in 0..<batches { _ = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
            fsync(fd)
        }
        close(fd)
        let rawRate = Double(total) / seconds(rawTime) / 1e6
        print(String(format: "  disk baseline (write(2) + one fsync): %.0f MB/s", rawRate))

        for pipelined in [true, false] {
            let path = scratch(base)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let log = try Log(directory: path)
            let partition = try log.createTopic("bench", settings: PartitionSettings(segmentBytes: 128 << 20)).partitions[0]
            let encoded = (0..<perBatch).map { index in ProducerRecord(key: Array("k\(index)".utf8), value: payload, timestamp: 1_700_000_000_000) }
            var template = ByteWriter(capacity: perBatch * recordSize + 64)
            RecordBatch.encode(encoded, into: &template)
            let batchBytes = template.bytes.count
            let count = batches
            let time = try await clock.measure {
                var last: Int64 = 0
                for _ in 0..<count {
                    var batch = template.bytes
                    last = try partition.appendBatch(&batch).last
                    if !pipelined { try await partition.waitUntilDurable(last + 1) }
                }
                try await partition.waitUntilDurable(last + 1)
            }
            let mb = Double(count * batchBytes) / 1e6
            let label = pipelined ? "append, pipelined (await once at the end)" : "append, one producer awaiting each batch"
            print(
                String(
                    format: "  %@: %.0f MB/s (%.0f%% of baseline), %.0f records/s", label, mb / seconds(time), mb / seconds(time) / rawRate * 100,
                    Double(count * perBatch) / seconds(time)))

            if pipelined {
                var reader = PartitionReader.earliest(partition, whenRemoved: .fail)
                var bytesRead = 0
                let readTime = try clock.measure {
                    while case let batch = try reader.poll(maxBytes: 1 << 20), !batch.isEmpty {
                        for record in batch.records { bytesRead += record.value?.count ?? 0 }
                    }
                }
                print(
                    String(
                        format: "  read (page cache, CRC verified, records decoded): %.0f MB/s of values", Double(bytesRead) / seconds(readTime) / 1e6
                    ))
            }
            log.close()
        }
    }
}
