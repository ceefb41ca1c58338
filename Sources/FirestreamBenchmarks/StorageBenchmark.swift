import FirestreamKafka
import FirestreamLog
import Foundation
import KafkaBroker
import KafkaWire
import Logging

/// The storage seam's hot paths, as `up` uses them: appends as the gateway's ingest and the
/// sources make them (batches of 1,000 records of 100 B, acknowledged once durable, four batches
/// in flight), then one cursor reading the partition back as a feed or an effect does. First on
/// the embedded log, then on a Kafka cluster: Firestream's broker over TCP on 127.0.0.1 (fsync on,
/// in this process), through `KafkaStorage` (librdkafka: idempotent producer, read_committed
/// consumer).
enum StorageBenchmark {
    static let batch = 1000
    static let valueBytes = 100
    static let inFlight = 4

    static func run(records: Int, in base: String) async throws {
        let batches = max(1, records / batch)
        let path = Benchmarks.scratch(base)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = try Log(directory: path)
        defer { log.close() }
        try await measure(EmbeddedStorage(log), name: "embedded log", topic: "embedded", batches: batches)

        let quiet = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let broker = KafkaBroker(log: log, options: KafkaBroker.Options(advertisedHost: "127.0.0.1", advertisedPort: 0), logger: quiet)
        let (ports, bound) = AsyncStream.makeStream(of: Int.self)
        let server = KafkaServer(broker: broker, host: "127.0.0.1", port: 0, logger: quiet) { bound.yield($0) }
        let serving = Task { try await server.run() }
        defer { serving.cancel() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { Benchmarks.fail("the broker did not start") }
        let cluster = try KafkaStorage(bootstrap: "127.0.0.1:\(port)")
        try await measure(cluster, name: "Kafka cluster (Firestream's broker over TCP, librdkafka)", topic: "cluster", batches: batches)
    }

    static func measure(_ storage: any RecordStorage, name: String, topic: String, batches: Int) async throws {
        print("\n== storage: \(name), \(batches * batch) records of \(valueBytes) B, appended \(batch) a batch (\(inFlight) in flight), then read")
        _ = try await storage.ensureTopic(topic, partitions: 1)
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: valueBytes)
        let records = (0..<batch).map { _ in ProducerRecord(key: nil, value: value, timestamp: wallClockMilliseconds()) }
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<inFlight {
                group.addTask {
                    for _ in stride(from: lane, to: batches, by: inFlight) { _ = try await storage.append(records, to: topic) }
                }
            }
            try await group.waitForAll()
        }
        report("append (durable)", count: batches * batch, since: started)

        let reading = ContinuousClock.now
        let end = try await storage.bounds(of: topic, partition: 0).upperBound
        let cursor = try await storage.cursor(on: topic, partition: 0, from: 0, whenRemoved: .fail)
        defer { cursor.close() }
        var read = 0
        while cursor.position < end {
            let batch = try await cursor.poll(maxBytes: 1 << 20)
            if batch.isEmpty { break }
            read += batch.records.count
        }
        guard read == batches * batch else { Benchmarks.fail("read \(read) records of \(batches * batch)") }
        report("read (cursor)", count: read, since: reading)
    }

    static func report(_ what: String, count: Int, since start: ContinuousClock.Instant) {
        let seconds = Double((ContinuousClock.now - start).components.attoseconds) / 1e18 + Double((ContinuousClock.now - start).components.seconds)
        let perSecond = Double(count) / seconds
        print(String(format: "  %@: %.0f records/s, %.1f MB/s (%.2f s)", what, perSecond, perSecond * Double(valueBytes) / 1e6, seconds))
    }
}
