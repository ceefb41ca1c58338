import FirestreamJSON
public import Foundation
public import KafkaWire
public import Synchronization

/// What an app task computes, whatever it reads from and commits to: the keys' states and
/// timers, the next input offsets, and, from a step's input records and due timers, the next
/// step (``JournalStep``: new positions, changed states and timers, the outputs as record
/// batches per output partition). ``AppTask`` commits steps to a journal in the embedded log;
/// a task on a Kafka cluster commits them in a transaction.
@usableFromInline
struct AppLogic<App: StreamApp> {
    @usableFromInline let app: App
    @usableFromInline let partition: Int
    /// Names the output batches' producer (the embedded log drops replayed ones by it).
    @usableFromInline let producerId: Int64
    @usableFromInline let outputPartitions: Int
    @usableFromInline let clock: @Sendable () -> Int64
    @usableFromInline let limits: TaskLimits
    @usableFromInline let counters: AppCounters

    @usableFromInline var states: [String: App.State] = [:]
    @usableFromInline var timers: [String: Int64] = [:]
    @usableFromInline var inputNext: [Int64]
    @usableFromInline var nextSequence: [OutputPartition: Int32] = [:]
    /// Journal bytes written since the last snapshot step.
    @usableFromInline var bytesSinceSnapshot: Int64 = 0

    @usableFromInline
    struct OutputPartition: Hashable {
        @usableFromInline var topic: UInt8
        @usableFromInline var partition: Int

        @usableFromInline
        init(topic: UInt8, partition: Int) {
            self.topic = topic
            self.partition = partition
        }
    }

    @inlinable
    init(
        app: App, partition: Int, inputNext: [Int64], outputPartitions: Int, clock: @escaping @Sendable () -> Int64, limits: TaskLimits,
        counters: AppCounters
    ) {
        self.app = app.forTask(partition: partition)
        self.partition = partition
        self.producerId = stableProducerId("app/\(app.name)/\(partition)")
        self.inputNext = inputNext
        self.outputPartitions = outputPartitions
        self.clock = clock
        self.limits = limits
        self.counters = counters
    }

    /// A changed key's state could not be encoded at the end of a step: the step is taken back
    /// and run again in careful mode, which finds the record responsible.
    @usableFromInline
    struct StateEncodingFailed: Error {
        @usableFromInline init() {}
    }

    /// Processes available input and due timers into the next step to commit; nil when idle.
    ///
    /// No record can stop the task: a record that cannot be decoded, makes the app throw, or
    /// yields an output or a state that cannot be encoded goes to the dead-letter topic with the
    /// reason, and its state change is not applied. (A trap in app code still ends the process:
    /// apps throw instead; see docs/apps.md.)
    @inlinable
    mutating func prepareStep(_ records: [[ConsumerRecord]]) throws -> JournalStep? {
        let before = (inputNext: inputNext, sequences: nextSequence)
        var touched: [String: (state: App.State?, timer: Int64?)] = [:]
        do {
            return try prepareStep(careful: false, touched: &touched, records: records)
        } catch is StateEncodingFailed {
            // Take the step back (nothing of it was written) and run it again record by record.
            for (key, previous) in touched {
                states[key] = previous.state
                timers[key] = previous.timer
            }
            inputNext = before.inputNext
            nextSequence = before.sequences
            touched.removeAll()
            return try prepareStep(careful: true, touched: &touched, records: records)
        }
    }

    /// One step. In careful mode each changed state is encoded right after its record, so a state
    /// that cannot be encoded dead-letters that record alone.
    @inlinable
    mutating func prepareStep(
        careful: Bool, touched: inout [String: (state: App.State?, timer: Int64?)], records: [[ConsumerRecord]]
    ) throws -> JournalStep? {
        let now = clock()
        try app.prepare(records: records, now: now) { states[$0] }
        var produced = Outputs()
        var changed: [String] = []
        var timerChanges: [String: Int64?] = [:]
        var consumed = 0
        let encoder = JSONEncoder()
        var encoded: [(Int, ProducerRecord)] = []  // reused by every record's apply

        /// Applies a processed record's (or timeout's) results, or says why they cannot be kept.
        func apply(key: String?, state: App.State?, timeout: Int64?, results: [App.Output], timestamp: Int64) -> String? {
            encoded.removeAll(keepingCapacity: true)
            for result in results {
                do {
                    encoded.append(try output(result, timestamp: timestamp, partitions: outputPartitions))
                } catch {
                    return "cannot encode an output: \(error)"
                }
            }
            if let key {
                if careful, let state {
                    do {
                        _ = try encoder.encode(state)
                    } catch {
                        return "cannot encode the new state of key \"\(key)\": \(error)"
                    }
                }
                if touched[key] == nil {
                    touched[key] = (states[key], timers[key])
                    changed.append(key)
                }
                states[key] = state
                if timeout != nil || !timers.isEmpty, timers[key] != timeout {
                    timers[key] = timeout
                    timerChanges[key] = timeout
                }
            }
            for (target, record) in encoded { produced.add(record, to: 0, partition: target) }
            return nil
        }

        for (index, batch) in records.enumerated() {
            for record in batch {
                consumed += 1
                inputNext[index] = record.offset + 1
                let decoded: App.Input
                do {
                    decoded = try app.decode(record.value ?? [])
                } catch {
                    produced.add(deadLetter(record, topic: app.inputTopics[index], error: "cannot decode: \(error)"), to: 1, partition: 0)
                    continue
                }
                let key = app.key(for: decoded)
                var state = key.flatMap { states[$0] }
                var context = ProcessingContext(now: now, timestamp: record.timestamp)
                let results: [App.Output]
                do {
                    results = try app.process(decoded, state: &state, context: &context)
                } catch {
                    produced.add(deadLetter(record, topic: app.inputTopics[index], error: "\(error)"), to: 1, partition: 0)
                    continue
                }
                if let problem = apply(key: key, state: state, timeout: context.timeoutAt, results: results, timestamp: record.timestamp) {
                    produced.add(deadLetter(record, topic: app.inputTopics[index], error: problem), to: 1, partition: 0)
                }
            }
        }
        var fired = 0
        let due = timers.filter { $0.value <= now }.sorted { ($0.value, $0.key) < ($1.value, $1.key) }
        if !due.isEmpty { try app.prepareTimeouts(keys: due.map(\.key), now: now) { states[$0] } }
        for (key, _) in due {
            fired += 1
            var state = states[key]
            var context = ProcessingContext(now: now, timestamp: now)
            let problem: String?
            do {
                let results = try app.timedOut(key: key, state: &state, context: &context)
                problem = apply(key: key, state: state, timeout: context.timeoutAt, results: results, timestamp: now)
            } catch {
                problem = "\(error)"
            }
            if let problem {
                // The timeout is dropped (it would fail again) and the key keeps its state.
                _ = apply(key: key, state: states[key], timeout: nil, results: [], timestamp: now)
                produced.add(timeoutDeadLetter(key: key, at: now, error: problem), to: 1, partition: 0)
            }
        }
        guard consumed > 0 || fired > 0 else { return nil }

        let snapshot = bytesSinceSnapshot >= limits.snapshotEveryBytes
        let encodedStates: [(key: String, value: [UInt8]?)]
        let timerEntries: [(key: String, deadline: Int64?)]
        do {
            if snapshot {
                encodedStates = try states.sorted { $0.key < $1.key }.map { (key: $0.key, value: [UInt8](try encoder.encode($0.value))) }
                timerEntries = timers.sorted { $0.key < $1.key }.map { (key: $0.key, deadline: $0.value) }
            } else {
                encodedStates = try changed.map { key in (key: key, value: try states[key].map { [UInt8](try encoder.encode($0)) }) }
                timerEntries = timerChanges.sorted { $0.key < $1.key }.map { (key: $0.key, deadline: $0.value) }
            }
        } catch {
            guard !careful else { throw error }
            throw StateEncodingFailed()
        }

        // Each output partition's records become one batch, encoded once, under the task's
        // producer id and the partition's next sequence.
        var batches: [JournalStep.Batch] = []
        for (target, records) in zip(produced.order, produced.records) {
            let base = nextSequence[target] ?? 0
            nextSequence[target] = ProducerSequence.advance(base, by: records.count)
            batches.append(
                JournalStep.Batch(
                    topic: target.topic, partition: target.partition,
                    bytes: RecordBatch.encode(records, producerId: producerId, producerEpoch: 0, baseSequence: base)))
        }
        // The storage sets how far the outputs are known published.
        var step = JournalStep(
            inputNext: inputNext, publishedThrough: -1, states: encodedStates, timers: timerEntries, batches: batches)
        if snapshot {
            step.snapshot = true
            // Every output partition's next sequence, including those this step did not write
            // (recovery re-applies this step's own batches after the reset).
            step.sequences = nextSequence.map { ($0.key.topic, $0.key.partition, $0.value) }
                .sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
        }

        counters.records.add(consumed, ordering: .relaxed)
        counters.outputs.add(produced.count(topic: 0), ordering: .relaxed)
        counters.deadLetters.add(produced.count(topic: 1), ordering: .relaxed)
        counters.timeouts.add(fired, ordering: .relaxed)
        counters.steps.add(1, ordering: .relaxed)
        for (index, next) in inputNext.enumerated() { counters.record(position: next, topic: app.inputTopics[index], partition: partition) }
        return step
    }

    /// A step's outputs grouped by output partition, in first-use order.
    @usableFromInline
    struct Outputs {
        @usableFromInline var order: [OutputPartition] = []
        @usableFromInline var records: [[ProducerRecord]] = []
        @usableFromInline var slots: [OutputPartition: Int] = [:]
        /// Consecutive outputs usually go to the same partition: skip the lookup then.
        @usableFromInline var last: (target: OutputPartition, slot: Int)?

        @inlinable init() {}

        @inlinable mutating func add(_ record: ProducerRecord, to topic: UInt8, partition: Int) {
            let target = OutputPartition(topic: topic, partition: partition)
            let slot: Int
            if let last, last.target == target {
                slot = last.slot
            } else if let known = slots[target] {
                slot = known
            } else {
                slot = order.count
                slots[target] = slot
                order.append(target)
                records.append([])
            }
            last = (target, slot)
            records[slot].append(record)
        }

        @inlinable func count(topic: UInt8) -> Int {
            zip(order, records).reduce(0) { $0 + ($1.0.topic == topic ? $1.1.count : 0) }
        }
    }

    @inlinable
    func output(_ result: App.Output, timestamp: Int64, partitions: Int) throws -> (Int, ProducerRecord) {
        let key = app.key(for: result).map { Array($0.utf8) }
        let target = key.map { Murmur2.partition(for: $0, partitions: partitions) } ?? partition % partitions
        return (target, ProducerRecord(key: key, value: try app.encode(result), timestamp: timestamp))
    }

    /// The dead letter for a timeout that failed: no input record, so the key stands for it.
    @usableFromInline
    func timeoutDeadLetter(key: String, at time: Int64, error: String) -> ProducerRecord {
        var json = FlatJSONWriter()
        json.field("app", app.name)
        json.field("timeout", key)
        json.field("partition", Int64(partition))
        json.field("error", error)
        return ProducerRecord(key: Array(key.utf8), value: json.finished(), timestamp: time)
    }

    @usableFromInline
    func deadLetter(_ record: ConsumerRecord, topic: String, error: String) -> ProducerRecord {
        var json = FlatJSONWriter()
        json.field("app", app.name)
        json.field("topic", topic)
        json.field("partition", Int64(partition))
        json.field("offset", record.offset)
        json.field("error", error)
        json.field("value", String(decoding: record.value ?? [], as: UTF8.self))
        return ProducerRecord(key: record.key, value: json.finished(), timestamp: record.timestamp)
    }
}
