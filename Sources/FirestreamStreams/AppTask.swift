import FirestreamJSON
public import FirestreamLog
public import Foundation
public import KafkaWire
public import Synchronization

/// Runs one partition of one app: reads its input partition(s), applies the app, commits each
/// step to the task's journal partition, then publishes the step's outputs idempotently.
@usableFromInline
struct AppTask<App: StreamApp> {
    @usableFromInline let app: App
    @usableFromInline let partition: Int
    @usableFromInline let inputs: [PartitionLog]
    @usableFromInline let journal: PartitionLog
    @usableFromInline let outputs: [Topic]  // [output, dead letters]
    @usableFromInline let producerId: Int64
    @usableFromInline let clock: @Sendable () -> Int64
    @usableFromInline let limits: TaskLimits
    @usableFromInline let counters: AppCounters

    @usableFromInline var states: [String: App.State] = [:]
    @usableFromInline var timers: [String: Int64] = [:]
    @usableFromInline var inputNext: [Int64]
    @usableFromInline var nextSequence: [OutputPartition: Int32] = [:]
    /// Published steps whose outputs are not yet known durable.
    @usableFromInline var inFlight: [(journalOffset: Int64, waits: [(PartitionLog, Int64)])] = []
    @usableFromInline var publishedThrough: Int64 = -1
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
    ///
    /// Steps are pipelined: step k+1 is computed while step k's journal append is being synced;
    /// k's outputs are published only once k is durable, so nothing becomes visible uncommitted.
    @inlinable
    mutating func run() async throws {
        try recover()
        var committing: (step: JournalStep, offset: Int64)?
        while !Task.isCancelled {
            let next = try prepareStep()
            if let (step, offset) = committing {
                try await journal.waitUntilDurable(offset + 1)
                inFlight.append((offset, try publish(step)))
                committing = nil
                if step.snapshot {
                    // The durable snapshot covers everything before it, except steps whose
                    // outputs may not have landed yet (recovery publishes those again).
                    journal.deleteSegments(below: min(offset, inFlight.first?.journalOffset ?? offset))
                }
            }
            guard let next else {
                await waitForWork()
                continue
            }
            let value = next.encoded()
            var batch = RecordBatch.encode([ProducerRecord(key: nil, value: value, timestamp: clock())])
            committing = (next, try journal.appendBatch(&batch).first)
            bytesSinceSnapshot = next.snapshot ? 0 : bytesSinceSnapshot + Int64(value.count)
        }
        if let (step, offset) = committing {
            try await journal.waitUntilDurable(offset + 1)
            inFlight.append((offset, try publish(step)))
        }
        for (_, waits) in inFlight {
            for (log, offset) in waits { try? await log.waitUntilDurable(offset) }
        }
    }

    // MARK: Recovery

    /// Replays the journal: input positions, state, timers and sequences come back exactly as
    /// committed, and steps whose outputs may not have landed are published again (the log
    /// drops the parts it already has).
    @usableFromInline
    mutating func recover() throws {
        var rawStates: [String: [UInt8]?] = [:]
        var pending: [(Int64, JournalStep)] = []
        // Every step counts: a journal position retention removed is an error, never skipped.
        var reader = PartitionReader.earliest(journal, whenRemoved: .fail)
        while case let piece = try reader.poll(maxBytes: 4 << 20), !piece.isEmpty {
            for record in piece.records {
                let step: JournalStep
                do {
                    step = try JournalStep(decoding: record.value ?? [])
                } catch {
                    // Nothing is deleted or skipped: the state and outputs depend on every step.
                    throw UnreadableJournal(
                        description:
                            "its journal \(journal.topic)/\(journal.partition) holds a record at offset \(record.offset) that is not a journal step (\(error)); "
                            + "the journal, the state and the outputs are kept exactly as they are. If another Firestream version wrote it, run that version"
                    )
                }
                if step.snapshot {
                    rawStates.removeAll()
                    timers.removeAll()
                    nextSequence.removeAll()
                    bytesSinceSnapshot = 0
                    for sequence in step.sequences {
                        nextSequence[OutputPartition(topic: sequence.topic, partition: sequence.partition)] = sequence.next
                    }
                }
                bytesSinceSnapshot += Int64(record.value?.count ?? 0)
                if !step.inputNext.isEmpty { inputNext = step.inputNext }
                for (key, value) in step.states { rawStates[key] = value }
                for (key, deadline) in step.timers { timers[key] = deadline }
                for batch in step.batches {
                    let header = try batch.bytes.withUnsafeBytes { raw throws(WireError) in try RecordBatch.header(raw) }
                    nextSequence[OutputPartition(topic: batch.topic, partition: batch.partition)] =
                        ProducerSequence.advance(header.baseSequence, by: Int(header.recordCount))
                }
                publishedThrough = max(publishedThrough, step.publishedThrough)
                pending.append((record.offset, step))
                pending.removeAll { $0.0 <= publishedThrough }
            }
        }
        let decoder = JSONDecoder()
        for (key, raw) in rawStates {
            guard let raw else { continue }
            states[key] = try decoder.decode(App.State.self, from: Data(raw))
        }
        for (offset, step) in pending {
            inFlight.append((offset, try publish(step)))
        }
        for (input, next) in zip(inputs, inputNext) { counters.record(position: next, topic: input.topic, partition: input.partition) }
    }

    // MARK: Steps

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
    mutating func prepareStep() throws -> JournalStep? {
        let before = (inputNext: inputNext, sequences: nextSequence)
        var touched: [String: (state: App.State?, timer: Int64?)] = [:]
        do {
            return try prepareStep(careful: false, touched: &touched)
        } catch is StateEncodingFailed {
            // Take the step back (nothing of it was written) and run it again record by record.
            for (key, previous) in touched {
                states[key] = previous.state
                timers[key] = previous.timer
            }
            inputNext = before.inputNext
            nextSequence = before.sequences
            touched.removeAll()
            return try prepareStep(careful: true, touched: &touched)
        }
    }

    /// One step. In careful mode each changed state is encoded right after its record, so a state
    /// that cannot be encoded dead-letters that record alone.
    @inlinable
    mutating func prepareStep(careful: Bool, touched: inout [String: (state: App.State?, timer: Int64?)]) throws -> JournalStep? {
        let now = clock()
        var produced = Outputs()
        var changed: [String] = []
        var timerChanges: [String: Int64?] = [:]
        var consumed = 0
        let outputPartitions = outputs[0].partitions.count
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

        for (index, input) in inputs.enumerated() where consumed < limits.maxRecordsPerStep {
            // Retention may remove input this app never read: it continues from what is left.
            var reader = PartitionReader(input, from: inputNext[index], whenRemoved: .skip)
            let fetched = try reader.poll(maxBytes: limits.maxFetchBytes, maxRecords: limits.maxRecordsPerStep - consumed)
            if let skipped = fetched.skipped { inputNext[index] = skipped.upperBound }
            for record in fetched.records {
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
        for (key, deadline) in timers.sorted(by: { $0.value < $1.value }) where deadline <= now {
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
        while let first = inFlight.first, first.waits.allSatisfy({ $0.0.durableOffset >= $0.1 }) {
            publishedThrough = first.journalOffset
            inFlight.removeFirst()
        }
        var step = JournalStep(
            inputNext: inputNext, publishedThrough: publishedThrough, states: encodedStates, timers: timerEntries, batches: batches)
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
        for (input, next) in zip(inputs, inputNext) { counters.record(position: next, topic: input.topic, partition: input.partition) }
        return step
    }

    /// Appends a step's output batches without waiting; batches the log already holds (a replay
    /// after a crash) are dropped by their producer sequence.
    @usableFromInline
    func publish(_ step: JournalStep) throws -> [(PartitionLog, Int64)] {
        var waits: [(PartitionLog, Int64)] = []
        for batch in step.batches {
            var bytes = batch.bytes
            let log = try outputs[Int(batch.topic)].partition(batch.partition)
            let appended = try log.appendBatch(&bytes)
            if !appended.duplicate { waits.append((log, appended.last + 1)) }
        }
        return waits
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

    /// Suspends until input arrives on any input partition or the earliest timer is due.
    @usableFromInline
    func waitForWork() async {
        let readers = inputs.enumerated().map { PartitionReader($1, from: inputNext[$0], whenRemoved: .skip) }
        let delay = timers.values.min().map { Duration.milliseconds(max(0, $0 - clock())) }
        _ = await PartitionReader.waitForAny(readers, maxWait: delay)
    }
}

/// A journal record recovery cannot read: the app stops rather than guess.
struct UnreadableJournal: Error, CustomStringConvertible {
    var description: String
}

/// A positive 63-bit id that stays the same across restarts (FNV-1a of `name`): sources and
/// apps name their idempotent producer with it, so a restart continues its sequences.
public func stableProducerId(_ name: String) -> Int64 {
    Int64(bitPattern: fnv1a64(name) & 0x7fff_ffff_ffff_ffff)
}
