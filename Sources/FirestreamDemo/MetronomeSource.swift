import FirestreamJSON
public import FirestreamLog
public import FirestreamStreams
public import KafkaWire
import Synchronization

/// The demo source: a metronome ticking at a fixed rate on the wall clock, joined to a small
/// device table — each tick writes one reading per device, keyed by device id:
/// `{device_id, event_time, index, magnitude ∈ [0,1), direction ∈ {0,1}}`.
///
/// Readings are a pure function of (seed, device, index), and each wake-up appends its ticks as
/// one batch per partition, so a crash never leaves half a tick; after a restart it continues
/// from the last tick stored (seconds the process was down are skipped, not back-filled).
public struct MetronomeSource: Runnable {
    public let name: String
    public let topic: String
    public let devices: [String]
    public let ticksPerSecond: Double
    public let seed: UInt64
    public let counters = AppCounters()
    private let clock: @Sendable () -> Int64

    public init(
        name: String = "metronome", topic: String = "metronome", devices: [String], ticksPerSecond: Double = 1, seed: UInt64,
        clock: @escaping @Sendable () -> Int64 = wallClockMilliseconds
    ) {
        precondition(ticksPerSecond > 0 && !devices.isEmpty)
        self.name = name
        self.topic = topic
        self.devices = devices
        self.ticksPerSecond = ticksPerSecond
        self.seed = seed
        self.clock = clock
    }

    public var role: RunnableRole { .source }
    public var usedTopics: [String: String] { [topic: "written by source \"\(name)\""] }
    public var status: String { "\(name): \(counters.outputs.load(ordering: .relaxed)) readings" }

    public var summary: String {
        let rate = ticksPerSecond == ticksPerSecond.rounded() ? String(Int(ticksPerSecond)) : String(ticksPerSecond)
        return "\(name) (source) → \(topic): \(devices.count) devices, \(rate) tick(s)/s"
    }

    /// `count` device ids that stay the same for a project (derived from its name).
    public static func deviceIDs(count: Int, seed: UInt64) -> [String] {
        (0..<count).map { index in
            var mixer = SplitMix64(seed: seed ^ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
            let hex = String(mixer.next() & 0xFF_FFFF, radix: 16)
            return "device-" + String(repeating: "0", count: 6 - hex.count) + hex
        }
    }

    /// A stable seed from a project name.
    public static func seed(forProject name: String) -> UInt64 { UInt64(stableProducerId("project/\(name)")) }

    public func prepare(_ storage: any RecordStorage) async throws {
        _ = try await storage.ensureTopic(topic, partitions: 1)
    }

    /// The record the metronome writes for `device` at tick `index`, stamped `time`.
    public func record(device: String, index: Int64, time: Int64) -> ProducerRecord {
        let (magnitude, direction) = reading(device: device, index: index)
        var json = FlatJSONWriter()
        json.field("device_id", device)
        json.field("event_time", time)
        json.field("index", index)
        json.field("magnitude", magnitude)
        json.field("direction", Int64(direction))
        return ProducerRecord(key: Array(device.utf8), value: json.finished(), timestamp: time)
    }

    /// The reading of `device` at tick `index`.
    public func reading(device: String, index: Int64) -> (magnitude: Double, direction: Int) {
        var mixer = SplitMix64(seed: seed ^ UInt64(bitPattern: stableProducerId(device)) ^ UInt64(bitPattern: index) &* 0xD1B5_4A32_D192_ED03)
        let bits = mixer.next()
        return (Double(bits >> 11) * 0x1p-53, Int(mixer.next() & 1))
    }

    public func run(_ storage: any RecordStorage) async throws {
        try await prepare(storage)
        let writer: any TickWriter =
            if let log = storage.log { try EmbeddedTicks(topic: log.topic(topic), producerId: stableProducerId("source/\(name)")) } else {
                StorageTicks(storage: storage, topic: topic, devices: Set(devices))
            }
        let interval = 1000.0 / ticksPerSecond
        let partitions = try await storage.partitionCount(of: topic) ?? 1
        var byPartition: [Int: [String]] = [:]
        for device in devices { byPartition[Murmur2.partition(for: Array(device.utf8), partitions: partitions), default: []].append(device) }

        // Resume after the last tick this source wrote.
        let last = try await writer.lastTick()
        var nextIndex = last.map { $0.index + 1 } ?? 0
        var origin = Double(max(clock(), last.map { $0.time + Int64(interval.rounded(.up)) } ?? 0))
        var ticksSinceOrigin: Int64 = 0

        while !Task.isCancelled {
            let now = clock()
            let due = origin + Double(ticksSinceOrigin) * interval
            if Double(now) < due {
                try? await Task.sleep(for: .milliseconds(max(1, Int64((due - Double(now)).rounded(.up)))))
                continue
            }
            let count = min(Int64((Double(now) - due) / interval) + 1, 10_000)
            var ticks: [(partition: Int, records: [ProducerRecord])] = []
            for (partitionIndex, partitionDevices) in byPartition.sorted(by: { $0.key < $1.key }) {
                var records: [ProducerRecord] = []
                records.reserveCapacity(Int(count) * partitionDevices.count)
                for tick in 0..<count {
                    let index = nextIndex + tick
                    let time = Int64((origin + Double(ticksSinceOrigin + tick) * interval).rounded(.down))
                    for device in partitionDevices { records.append(record(device: device, index: index, time: time)) }
                }
                ticks.append((partitionIndex, records))
            }
            try await writer.write(ticks)
            nextIndex += count
            ticksSinceOrigin += count
            if ticksSinceOrigin > 1_000_000 {
                origin += Double(ticksSinceOrigin) * interval
                ticksSinceOrigin = 0
            }
            counters.outputs.add(Int(count) * devices.count, ordering: .relaxed)
            counters.steps.add(1, ordering: .relaxed)
        }
    }
}

/// Where the metronome's ticks go, and where it finds the last one it wrote.
protocol TickWriter: Sendable {
    func lastTick() async throws -> (index: Int64, time: Int64)?
    /// Appends each partition's records and returns once all are durable.
    func write(_ ticks: [(partition: Int, records: [ProducerRecord])]) async throws
}

/// On the embedded log: one batch per partition under the source's own idempotent producer id, so
/// a crash never leaves half a tick, and the resume point is that producer's last record (records
/// others appended are not trusted).
struct EmbeddedTicks: TickWriter {
    let topic: Topic
    let producerId: Int64

    func lastTick() async throws -> (index: Int64, time: Int64)? {
        topic.partitions.compactMap { MetronomeSource.lastTick(in: $0, producerId: producerId) }.max { $0.index < $1.index }
    }

    func write(_ ticks: [(partition: Int, records: [ProducerRecord])]) async throws {
        var waits: [(PartitionLog, Int64)] = []
        for (index, records) in ticks {
            let partition = topic.partitions[index]
            let sequence = partition.lastSequence(of: producerId).map { ProducerSequence.advance($0, by: 1) } ?? 0
            var batch = RecordBatch.encode(records, producerId: producerId, producerEpoch: 0, baseSequence: sequence)
            let appended = try partition.appendBatch(&batch)
            waits.append((partition, appended.last + 1))
        }
        for (partition, offset) in waits { try await partition.waitUntilDurable(offset) }
    }
}

/// On other storage (a Kafka cluster): appended through the storage; the resume point is the
/// newest reading of one of the source's devices among each partition's last records. A crash
/// between the append and its acknowledgement may write a tick twice (at least once).
struct StorageTicks: TickWriter {
    let storage: any RecordStorage
    let topic: String
    let devices: Set<String>

    func lastTick() async throws -> (index: Int64, time: Int64)? {
        var last: (index: Int64, time: Int64)?
        for partition in 0..<(try await storage.partitionCount(of: topic) ?? 0) {
            let end = try await storage.bounds(of: topic, partition: partition).upperBound
            try await storage.forEachRecord(of: topic, partition: partition, from: end - Int64(2 * devices.count)) { record in
                guard let key = record.key, devices.contains(String(decoding: key, as: UTF8.self)),
                    let tick = MetronomeSource.tick(in: record), tick.index >= last?.index ?? -1
                else { return }
                last = tick
            }
        }
        return last
    }

    func write(_ ticks: [(partition: Int, records: [ProducerRecord])]) async throws {
        _ = try await storage.append(ticks.flatMap(\.records), to: topic)
    }
}

extension MetronomeSource {
    /// The index and time of the last tick this source's producer wrote to `partition`; nil when
    /// it wrote none that is still stored.
    static func lastTick(in partition: PartitionLog, producerId: Int64) -> (index: Int64, time: Int64)? {
        guard let offset = partition.lastOffset(of: producerId) else { return nil }
        var reader = PartitionReader(partition, from: offset, whenRemoved: .fail)
        guard let record = try? reader.poll(maxBytes: 4096, maxRecords: 1).records.first, record.offset == offset else { return nil }
        return tick(in: record)
    }

    /// The index and time of a reading.
    static func tick(in record: ConsumerRecord) -> (index: Int64, time: Int64)? {
        guard let object = try? FlatJSONObject(parsing: record.value ?? []),
            let index = object.number("index"), let time = object.number("event_time"),
            (0...0x1p53).contains(index), (0...0x1p53).contains(time)
        else { return nil }
        return (Int64(index), Int64(time))
    }
}
