import FirestreamLog
import Foundation
import KafkaWire
import Synchronization

/// Live counters of a running app, read by `firestream up` for its status line.
public final class AppCounters: Sendable {
    public let records = Atomic<Int>(0)
    public let outputs = Atomic<Int>(0)
    public let deadLetters = Atomic<Int>(0)
    public let steps = Atomic<Int>(0)
    public let timeouts = Atomic<Int>(0)

    public init() {}
}

/// Tuning of the per-partition loop.
public struct TaskLimits: Sendable {
    /// Records consumed per step (one journal commit).
    public var maxRecordsPerStep = 8192
    /// Bytes fetched from an input partition per read.
    public var maxFetchBytes = 1 << 20

    public init(maxRecordsPerStep: Int = 8192, maxFetchBytes: Int = 1 << 20) {
        self.maxRecordsPerStep = maxRecordsPerStep
        self.maxFetchBytes = maxFetchBytes
    }
}

/// Runs one partition of one app: reads its input partition(s), applies the app, commits each
/// step to the task's journal partition, then publishes the step's outputs idempotently.
struct AppTask<App: StreamApp> {
    let app: App
    let partition: Int
    let inputs: [PartitionLog]
    let journal: PartitionLog
    let outputs: [Topic]  // [output, dead letters]
    let producerId: Int64
    let clock: @Sendable () -> Int64
    let limits: TaskLimits
    let counters: AppCounters

    private var states: [String: App.State] = [:]
    private var timers: [String: Int64] = [:]
    private var inputNext: [Int64]
    private var nextSequence: [OutputPartition: Int32] = [:]
    /// Published steps whose outputs are not yet known durable.
    private var inFlight: [(journalOffset: Int64, waits: [(PartitionLog, Int64)])] = []
    private var publishedThrough: Int64 = -1

    struct OutputPartition: Hashable {
        var topic: UInt8
        var partition: Int
    }

    init(
        app: App, partition: Int, inputs: [PartitionLog], journal: PartitionLog, outputs: [Topic], clock: @escaping @Sendable () -> Int64,
        limits: TaskLimits, counters: AppCounters
    ) {
        self.app = app
        self.partition = partition
        self.inputs = inputs
        self.journal = journal
        self.outputs = outputs
        self.producerId = stableProducerId("app/\(app.name)/\(partition)")
        self.clock = clock
        self.limits = limits
        self.counters = counters
        self.inputNext = inputs.map(\.startOffset)
    }

    /// Recovers, then processes until cancelled; on cancellation finishes the current step and
    /// waits for its outputs to be durable before returning.
    mutating func run() async throws {
        try recover()
        while !Task.isCancelled {
            if try await step() { continue }
            await waitForWork()
        }
        for (_, waits) in inFlight {
            for (log, offset) in waits { try? await log.waitUntilDurable(offset) }
        }
    }

    // MARK: Recovery

    /// Replays the journal: input positions, state, timers and sequences come back exactly as
    /// committed, and steps whose outputs may not have landed are published again (the log
    /// drops the parts it already has).
    mutating func recover() throws {
        var rawStates: [String: [UInt8]?] = [:]
        var pending: [(Int64, JournalStep)] = []
        var next = journal.startOffset
        while next < journal.durableOffset {
            let fetched = try journal.read(from: next, maxBytes: 4 << 20)
            if fetched.records.isEmpty { break }
            for record in fetched.records {
                let step = try JournalStep(decoding: record.value ?? [])
                if !step.inputNext.isEmpty { inputNext = step.inputNext }
                for (key, value) in step.states { rawStates[key] = value }
                for (key, deadline) in step.timers { timers[key] = deadline }
                for sequence in step.sequences {
                    let count = step.outputs.count { $0.topic == sequence.topic && $0.partition == sequence.partition }
                    nextSequence[OutputPartition(topic: sequence.topic, partition: sequence.partition)] = advance(sequence.baseSequence, by: count)
                }
                publishedThrough = max(publishedThrough, step.publishedThrough)
                pending.append((record.offset, step))
                pending.removeAll { $0.0 <= publishedThrough }
            }
            next = fetched.nextOffset
        }
        let decoder = JSONDecoder()
        for (key, raw) in rawStates {
            guard let raw else { continue }
            states[key] = try decoder.decode(App.State.self, from: Data(raw))
        }
        for (offset, step) in pending {
            inFlight.append((offset, try publish(step)))
        }
    }

    // MARK: Steps

    /// Processes available input and due timers as one committed step; false when idle.
    mutating func step() async throws -> Bool {
        let now = clock()
        var produced: [JournalStep.Output] = []
        var changed: [String] = []
        var changedSet: Set<String> = []
        var timerChanges: [String: Int64?] = [:]
        var consumed = 0
        let outputPartitions = outputs[0].partitions.count

        func note(key: String, state: App.State?, timeout: Int64?) {
            if changedSet.insert(key).inserted { changed.append(key) }
            states[key] = state
            if timers[key] != timeout {
                timers[key] = timeout
                timerChanges[key] = timeout
            }
        }

        for (index, input) in inputs.enumerated() where consumed < limits.maxRecordsPerStep {
            let fetched: FetchedRecords
            do {
                fetched = try input.read(from: inputNext[index], maxBytes: limits.maxFetchBytes)
            } catch {
                // Retention removed input this app never read: continue from what is left.
                guard case .offsetOutOfRange = error else { throw error }
                inputNext[index] = input.startOffset
                continue
            }
            for record in fetched.records.prefix(limits.maxRecordsPerStep - consumed) {
                consumed += 1
                inputNext[index] = record.offset + 1
                let decoded: App.Input
                do {
                    decoded = try app.decode(record.value ?? [])
                } catch {
                    produced.append(deadLetter(record, topic: app.inputTopics[index], error: "cannot decode: \(error)"))
                    continue
                }
                let key = app.key(for: decoded)
                var state = key.flatMap { states[$0] }
                var context = ProcessingContext(now: now, timestamp: record.timestamp)
                let results: [App.Output]
                do {
                    results = try app.process(decoded, state: &state, context: &context)
                } catch {
                    produced.append(deadLetter(record, topic: app.inputTopics[index], error: "\(error)"))
                    continue
                }
                if let key { note(key: key, state: state, timeout: context.timeoutAt) }
                for result in results {
                    produced.append(try output(result, timestamp: record.timestamp, partitions: outputPartitions))
                }
            }
        }
        var fired = 0
        for (key, deadline) in timers.sorted(by: { $0.value < $1.value }) where deadline <= now {
            var state = states[key]
            var context = ProcessingContext(now: now, timestamp: now)
            let results = try app.timedOut(key: key, state: &state, context: &context)
            note(key: key, state: state, timeout: context.timeoutAt)
            for result in results { produced.append(try output(result, timestamp: now, partitions: outputPartitions)) }
            fired += 1
        }
        guard consumed > 0 || fired > 0 else { return false }

        var sequences: [JournalStep.Sequence] = []
        var seen: Set<OutputPartition> = []
        for item in produced where seen.insert(OutputPartition(topic: item.topic, partition: item.partition)).inserted {
            let target = OutputPartition(topic: item.topic, partition: item.partition)
            let base = nextSequence[target] ?? 0
            let count = produced.count { $0.topic == item.topic && $0.partition == item.partition }
            nextSequence[target] = advance(base, by: count)
            sequences.append(JournalStep.Sequence(topic: item.topic, partition: item.partition, baseSequence: base))
        }
        while let first = inFlight.first, first.waits.allSatisfy({ $0.0.durableOffset >= $0.1 }) {
            publishedThrough = first.journalOffset
            inFlight.removeFirst()
        }
        let encoder = JSONEncoder()
        let encodedStates = try changed.map { key in (key: key, value: try states[key].map { [UInt8](try encoder.encode($0)) }) }
        let step = JournalStep(
            inputNext: inputNext, publishedThrough: publishedThrough, states: encodedStates,
            timers: timerChanges.sorted { $0.key < $1.key }.map { (key: $0.key, deadline: $0.value) }, outputs: produced,
            sequences: sequences)

        var batch = RecordBatch.encode([ProducerRecord(key: nil, value: step.encoded(), timestamp: now)])
        let committed = try journal.appendBatch(&batch)
        try await journal.waitUntilDurable(committed.last + 1)
        inFlight.append((committed.first, try publish(step)))

        counters.records.add(consumed, ordering: .relaxed)
        counters.outputs.add(produced.count { $0.topic == 0 }, ordering: .relaxed)
        counters.deadLetters.add(produced.count { $0.topic == 1 }, ordering: .relaxed)
        counters.timeouts.add(fired, ordering: .relaxed)
        counters.steps.add(1, ordering: .relaxed)
        return true
    }

    /// Appends a step's outputs, one idempotent batch per output partition, without waiting.
    private func publish(_ step: JournalStep) throws -> [(PartitionLog, Int64)] {
        var waits: [(PartitionLog, Int64)] = []
        for sequence in step.sequences {
            let records = step.outputs.filter { $0.topic == sequence.topic && $0.partition == sequence.partition }.map {
                ProducerRecord(key: $0.key, value: $0.value, timestamp: $0.timestamp)
            }
            guard !records.isEmpty else { continue }
            var batch = RecordBatch.encode(records, producerId: producerId, producerEpoch: 0, baseSequence: sequence.baseSequence)
            let log = try outputs[Int(sequence.topic)].partition(sequence.partition)
            let appended = try log.appendBatch(&batch)
            if !appended.duplicate { waits.append((log, appended.last + 1)) }
        }
        return waits
    }

    private func output(_ result: App.Output, timestamp: Int64, partitions: Int) throws -> JournalStep.Output {
        let key = app.key(for: result).map { Array($0.utf8) }
        let target = key.map { Murmur2.partition(for: $0, partitions: partitions) } ?? partition % partitions
        return JournalStep.Output(topic: 0, partition: target, key: key, value: try app.encode(result), timestamp: timestamp)
    }

    private func deadLetter(_ record: ConsumerRecord, topic: String, error: String) -> JournalStep.Output {
        let original = String(decoding: record.value ?? [], as: UTF8.self)
        let value =
            "{\"app\":\(quoted(app.name)),\"topic\":\(quoted(topic)),\"partition\":\(partition),\"offset\":\(record.offset),\"error\":\(quoted(error)),\"value\":\(quoted(original))}"
        return JournalStep.Output(topic: 1, partition: 0, key: record.key, value: Array(value.utf8), timestamp: record.timestamp)
    }

    /// Suspends until input arrives on any input partition or the earliest timer is due.
    private func waitForWork() async {
        let positions = inputNext
        let inputs = self.inputs
        let delay = timers.values.min().map { max(0, $0 - clock()) }
        await withTaskGroup(of: Void.self) { group in
            for (index, input) in inputs.enumerated() {
                group.addTask { _ = await input.waitForRecord(at: positions[index]) }
            }
            if let delay {
                group.addTask { try? await Task.sleep(for: .milliseconds(delay)) }
            }
            await group.next()
            group.cancelAll()
        }
    }
}

/// Sequences advance by record count and wrap after Int32.max, as Kafka's do.
func advance(_ sequence: Int32, by count: Int) -> Int32 {
    Int32((Int64(sequence) + Int64(count)) % (Int64(Int32.max) + 1))
}

/// A positive 63-bit id that stays the same across restarts (FNV-1a of `name`).
func stableProducerId(_ name: String) -> Int64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in name.utf8 {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01b3
    }
    return Int64(bitPattern: hash & 0x7fff_ffff_ffff_ffff)
}

/// A JSON string literal.
func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
