public import FirestreamLog
public import Foundation
public import KafkaWire

/// An app's step function for storage other than the embedded log (a Kafka cluster): the same
/// logic ``AppTask`` runs, without its journal. Feed it each step's input records; it returns
/// what the step changed, which the caller commits atomically (on Kafka: one transaction with
/// the outputs, the changed states and timers as changelog records, and the input offsets).
public struct AppStepper<App: StreamApp> {
    @usableFromInline var logic: AppLogic<App>

    /// One committed step's effects.
    public struct Step: Sendable {
        /// Next offset to read per input topic (by index in `inputTopics`).
        public var inputNext: [Int64]
        /// Changed keys' states as stored (JSON), nil where a key's state was removed.
        public var states: [(key: String, value: [UInt8]?)]
        /// Changed timers: the key's deadline in milliseconds, nil where cleared.
        public var timers: [(key: String, deadline: Int64?)]
        /// Outputs (topic 0) and dead letters (topic 1), per partition, in order.
        public var outputs: [(topic: Int, partition: Int, records: [ConsumerRecord])]

        @usableFromInline
        init(
            inputNext: [Int64], states: [(key: String, value: [UInt8]?)], timers: [(key: String, deadline: Int64?)],
            outputs: [(topic: Int, partition: Int, records: [ConsumerRecord])]
        ) {
            self.inputNext = inputNext
            self.states = states
            self.timers = timers
            self.outputs = outputs
        }
    }

    /// `inputNext`: where each input topic's partition is read from; `outputPartitions`: the
    /// output topic's partition count (outputs are partitioned by key, as Kafka's clients do).
    @inlinable
    public init(
        _ app: App, partition: Int, inputNext: [Int64], outputPartitions: Int, limits: TaskLimits = TaskLimits(),
        counters: AppCounters = AppCounters(), clock: @escaping @Sendable () -> Int64 = wallClockMilliseconds
    ) {
        logic = AppLogic(
            app: app, partition: partition, inputNext: inputNext, outputPartitions: outputPartitions, clock: clock, limits: limits,
            counters: counters)
    }

    /// Sets a restored key's state (as a step stored it) and timer; an undecodable state is an
    /// error (the app stops rather than guess).
    public mutating func restore(key: String, state: [UInt8]?, timer: Int64?) throws {
        if let state { logic.states[key] = try JSONDecoder().decode(App.State.self, from: Data(state)) }
        if let timer { logic.timers[key] = timer }
    }

    /// Keys with state.
    public var stateCount: Int { logic.states.count }
    /// The earliest timer's deadline, if any.
    public var nextTimer: Int64? { logic.timers.values.min() }
    public var inputNext: [Int64] { logic.inputNext }

    /// Processes `records` (per input topic, each partition's records in order; records before
    /// `inputNext` are dropped) and due timers; nil when there was nothing to do.
    @inlinable
    public mutating func step(_ records: [[ConsumerRecord]]) throws -> Step? {
        guard records.count == logic.inputNext.count else {
            throw RuntimeError.stopped(
                app: logic.app.name, reason: "a step got the records of \(records.count) inputs; the app reads \(logic.inputNext.count)")
        }
        let fresh = records.enumerated().map { index, batch in
            batch.filter { $0.offset >= logic.inputNext[index] }
        }
        guard let step = try logic.prepareStep(fresh) else { return nil }
        var outputs: [(topic: Int, partition: Int, records: [ConsumerRecord])] = []
        for batch in step.batches {
            let records = try batch.bytes.withUnsafeBytes { raw throws(WireError) in
                try RecordBatch.records(raw, header: try RecordBatch.header(raw))
            }
            outputs.append((Int(batch.topic), batch.partition, records))
        }
        return Step(inputNext: step.inputNext, states: step.states, timers: step.timers, outputs: outputs)
    }
}
