import FirestreamStreams
import KafkaClient
import KafkaWire

/// One input partition of an app on a Kafka cluster, owned by this worker: the app's step
/// function (``AppStepper``), the partition's transactional producer, and where it reads.
final class KafkaAppTask<App: StreamApp> {
    let partition: Int
    var stepper: AppStepper<App>
    let producer: KafkaProducerClient

    init(partition: Int, stepper: AppStepper<App>, producer: KafkaProducerClient) {
        self.partition = partition
        self.stepper = stepper
        self.producer = producer
    }

    /// Changelog record keys: a state, or a timer, of `key`.
    static func stateKey(_ key: String) -> [UInt8] { Array("s:\(key)".utf8) }
    static func timerKey(_ key: String) -> [UInt8] { Array("t:\(key)".utf8) }

    /// Reads the partition's changelog from the beginning into the stepper: the state and
    /// timers its previous owner committed.
    static func restore(
        _ stepper: inout AppStepper<App>, changelog: String, partition: Int, settings: [String: String]
    ) throws -> Int {
        var restoring = settings
        restoring["isolation.level"] = "read_committed"
        restoring["enable.partition.eof"] = "true"
        restoring["enable.auto.commit"] = "false"
        restoring["group.id"] = "firestream-restore"
        let reader = try BlockingConsumer(settings: restoring)
        defer { reader.close() }
        try reader.assign([TopicPartition(changelog, Int32(partition)): -2])
        var states: [String: [UInt8]?] = [:]
        var timers: [String: Int64?] = [:]
        var read = 0
        let deadline = ContinuousClock.now + .seconds(300)
        reading: while ContinuousClock.now < deadline {
            for event in try reader.poll(timeout: .milliseconds(500), max: 10_000) {
                switch event {
                case .end: break reading
                case .record(let record):
                    read += 1
                    let key = String(decoding: record.key ?? [], as: UTF8.self)
                    if key.hasPrefix("s:") {
                        states[String(key.dropFirst(2))] = record.value
                    } else if key.hasPrefix("t:") {
                        timers[String(key.dropFirst(2))] = record.value.flatMap(decodeDeadline)
                    }
                }
            }
        }
        guard ContinuousClock.now < deadline else {
            throw KafkaWorkerError(
                "restoring \(changelog)/\(partition) did not reach its end in 5 minutes (\(reader.lastClusterError ?? "no error reported"))")
        }
        for key in Set(states.keys).union(timers.keys) {
            try stepper.restore(key: key, state: states[key] ?? nil, timer: timers[key] ?? nil)
        }
        return read
    }
}

func encodeDeadline(_ deadline: Int64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: deadline >> (56 - 8 * $0)) }
}

func decodeDeadline(_ bytes: [UInt8]) -> Int64? {
    guard bytes.count == 8 else { return nil }
    return bytes.reduce(Int64(0)) { $0 << 8 | Int64($1) }
}
