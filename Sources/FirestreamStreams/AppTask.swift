import FirestreamJSON
public import FirestreamLog
public import Foundation
public import KafkaWire
public import Synchronization

/// Runs one partition of one app: reads its input partition(s), applies the app, commits each
/// step to the task's journal partition, then publishes the step's outputs idempotently.
@usableFromInline
struct AppTask<App: StreamApp> {
    @usableFromInline var logic: AppLogic<App>
    @usableFromInline let inputs: [PartitionLog]
    @usableFromInline let journal: PartitionLog
    @usableFromInline let outputs: [Topic]  // [output, dead letters]

    /// Published steps whose outputs are not yet known durable.
    @usableFromInline var inFlight: [(journalOffset: Int64, waits: [(PartitionLog, Int64)])] = []
    @usableFromInline var publishedThrough: Int64 = -1

    @inlinable
    init(
        app: App, partition: Int, inputs: [PartitionLog], journal: PartitionLog, outputs: [Topic], clock: @escaping @Sendable () -> Int64,
        limits: TaskLimits, counters: AppCounters
    ) {
        self.logic = AppLogic(
            app: app, partition: partition, inputNext: inputs.map(\.startOffset), outputPartitions: outputs[0].partitions.count, clock: clock,
            limits: limits, counters: counters)
        self.inputs = inputs
        self.journal = journal
        self.outputs = outputs
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
            var next = try logic.prepareStep(readInputs())
            while let first = inFlight.first, first.waits.allSatisfy({ $0.0.durableOffset >= $0.1 }) {
                publishedThrough = first.journalOffset
                inFlight.removeFirst()
            }
            next?.publishedThrough = publishedThrough
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
            var batch = RecordBatch.encode([ProducerRecord(key: nil, value: value, timestamp: logic.clock())])
            committing = (next, try journal.appendBatch(&batch).first)
            logic.bytesSinceSnapshot = next.snapshot ? 0 : logic.bytesSinceSnapshot + Int64(value.count)
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
                    logic.timers.removeAll()
                    logic.nextSequence.removeAll()
                    logic.bytesSinceSnapshot = 0
                    for sequence in step.sequences {
                        logic.nextSequence[AppLogic<App>.OutputPartition(topic: sequence.topic, partition: sequence.partition)] = sequence.next
                    }
                }
                logic.bytesSinceSnapshot += Int64(record.value?.count ?? 0)
                if !step.inputNext.isEmpty { logic.inputNext = step.inputNext }
                for (key, value) in step.states { rawStates[key] = value }
                for (key, deadline) in step.timers { logic.timers[key] = deadline }
                for batch in step.batches {
                    let header = try batch.bytes.withUnsafeBytes { raw throws(WireError) in try RecordBatch.header(raw) }
                    logic.nextSequence[AppLogic<App>.OutputPartition(topic: batch.topic, partition: batch.partition)] =
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
            logic.states[key] = try decoder.decode(App.State.self, from: Data(raw))
        }
        for (offset, step) in pending {
            inFlight.append((offset, try publish(step)))
        }
        for (input, next) in zip(inputs, logic.inputNext) { logic.counters.record(position: next, topic: input.topic, partition: input.partition) }
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

    /// The records of the next step from each input partition (at most `maxRecordsPerStep` in
    /// all). Retention may remove input this app never read: it continues from what is left; and
    /// transaction markers and aborted records are passed over.
    @usableFromInline
    mutating func readInputs() throws -> [[ConsumerRecord]] {
        var consumed = 0
        var records: [[ConsumerRecord]] = []
        for (index, input) in inputs.enumerated() {
            guard consumed < logic.limits.maxRecordsPerStep else {
                records.append([])
                continue
            }
            var reader = PartitionReader(input, from: logic.inputNext[index], whenRemoved: .skip)
            let fetched = try reader.poll(maxBytes: logic.limits.maxFetchBytes, maxRecords: logic.limits.maxRecordsPerStep - consumed)
            if fetched.records.isEmpty { logic.inputNext[index] = max(logic.inputNext[index], reader.position) }
            consumed += fetched.records.count
            records.append(fetched.records)
        }
        return records
    }

    /// Suspends until input arrives on any input partition or the earliest timer is due.
    @usableFromInline
    func waitForWork() async {
        let readers = inputs.enumerated().map { PartitionReader($1, from: logic.inputNext[$0], whenRemoved: .skip) }
        let delay = logic.timers.values.min().map { Duration.milliseconds(max(0, $0 - logic.clock())) }
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
