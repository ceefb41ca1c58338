import FirestreamLog
public import FirestreamStreams
import Foundation
import KafkaClient
import KafkaWire
public import Logging
import Synchronization

/// One app's share of the work in this process, on a Kafka cluster. Every worker of the app
/// joins its consumer group, which shares the input partitions among them; each partition this
/// worker owns is a task with its own transactional producer (transactional id per partition:
/// a new owner fences the old), its state restored from the app's changelog topic before any
/// record is read. Each step — records read, app logic, outputs — commits its outputs, its
/// state and timer changes (changelog records) and its input offsets in one transaction.
///
/// The loop runs on a thread of its own (librdkafka's calls block); rebalances are handled
/// inside its polls, between steps, so a revoked partition's steps are all committed.
public final class KafkaAppWorker<App: StreamApp>: Sendable {
    public let app: App
    public let options: KafkaWorkerOptions
    public let limits: TaskLimits
    public let counters: AppCounters
    let logger: Logger
    /// The input partitions this worker owns now, and whether their tasks are ready.
    private let owned = Locked<Set<Int>>([])
    private let ready = Locked(false)
    private let stopping = Locked(false)

    public init(_ runner: AppRunner<App>, options: KafkaWorkerOptions, logger: Logger = Logger(label: "firestream.worker")) {
        app = runner.app
        limits = runner.limits
        counters = runner.counters
        self.options = options
        self.logger = logger
    }

    /// One line for people: the app, its type, its topics.
    public var summary: String { "\(app.name) (\(App.self)) \(app.inputTopics.joined(separator: ", ")) → \(app.outputTopic)" }

    /// Its part of a status line: partitions owned, records in and out.
    public var status: String {
        let records = counters.records.load(ordering: .relaxed)
        let outputs = counters.outputs.load(ordering: .relaxed)
        return "\(app.name): partitions \(partitions), \(records) in, \(outputs) out\(isReady ? "" : " (joining)")"
    }

    /// The input partitions this worker owns, sorted.
    public var partitions: [Int] { owned.withLock { $0.sorted() } }
    /// In the group with every owned partition restored (what `/readyz` reports); false from a
    /// revocation until the next assignment is ready, and while the worker starts over.
    public var isReady: Bool { ready.withLock { $0 } }

    /// Checks and prepares the app's topics, then works until cancelled; a lost connection or
    /// group starts the work over after `restartDelay`. Throws when the topics cannot serve the
    /// app (missing inputs, partition counts that disagree).
    public func run() async throws {
        let layout = try await onThread { try self.prepareTopics() }
        try await withTaskCancellationHandler {
            while !Task.isCancelled {
                do {
                    try await onThread { try self.session(layout) }
                } catch let error as KafkaWorkerError {
                    throw error
                } catch {
                    ready.withLock { $0 = false }
                    guard !Task.isCancelled else { break }
                    logger.error("app \(app.name): \(error); starting over in \(options.restartDelay)")
                    try? await Task.sleep(for: options.restartDelay)
                }
            }
        } onCancel: {
            stopping.withLock { $0 = true }
        }
    }

    /// Partition counts: the inputs' (equal), the output's.
    struct Layout {
        var inputPartitions: Int
        var outputPartitions: Int
    }

    /// Inputs must exist with equal partition counts; the output, dead-letter and changelog
    /// topics are created when missing (the changelog compacted where the cluster allows).
    func prepareTopics() throws -> Layout {
        let admin = try KafkaAdmin(settings: options.settings)
        defer { admin.close() }
        let bootstrap = options.settings["bootstrap.servers"] ?? "?"
        var counts: [String: Int]
        do {
            counts = try admin.partitionCounts(timeout: options.connectTimeout)
        } catch {
            throw KafkaWorkerError("cannot reach the Kafka cluster at \(bootstrap): \(error)")
        }
        var inputs: [Int] = []
        for topic in app.inputTopics {
            guard let count = counts[topic] else {
                throw KafkaWorkerError("app \"\(app.name)\" reads topic \"\(topic)\", which the cluster at \(bootstrap) does not have; create it")
            }
            inputs.append(count)
        }
        guard let partitions = inputs.first, inputs.allSatisfy({ $0 == partitions }) else {
            throw KafkaWorkerError(
                "app \"\(app.name)\" reads \(app.inputTopics.joined(separator: ", ")), which have different partition counts (\(inputs)) on the cluster"
            )
        }
        let changelog = options.changelog(of: app.name)
        for (topic, count) in [(app.outputTopic, partitions), (app.deadLetterTopic, 1), (changelog, partitions)] where counts[topic] == nil {
            try create(topic, partitions: count, compacted: topic == changelog, admin: admin)
        }
        counts = try admin.partitionCounts()
        guard counts[changelog] == partitions else {
            throw KafkaWorkerError(
                "the changelog \(changelog) has \(counts[changelog] ?? 0) partitions but the inputs have \(partitions); they must match (delete the changelog only if the app's state may be lost)"
            )
        }
        return Layout(inputPartitions: partitions, outputPartitions: counts[app.outputTopic] ?? partitions)
    }

    private func create(_ topic: String, partitions: Int, compacted: Bool, admin: KafkaAdmin) throws {
        var refused: KafkaClientError?
        do {
            try admin.createTopic(topic, partitions: partitions, configs: compacted ? ["cleanup.policy": "compact"] : [:])
        } catch {
            refused = error
        }
        // INVALID_CONFIG (40): a cluster without compaction (Firestream's own broker) keeps it whole.
        if let refused {
            guard compacted, refused.code == 40 else { throw refused }
            try admin.createTopic(topic, partitions: partitions)
        }
        logger.info("app \(app.name): created topic \(topic) with \(partitions) partition(s)")
    }

    // MARK: The loop

    /// One membership in the group: poll, step every task, commit; until stopped or failed.
    func session(_ layout: Layout) throws {
        let session = Session()
        var consumerSettings = groupSettings
        consumerSettings["auto.offset.reset"] = "earliest"
        let consumer = try BlockingConsumer(settings: consumerSettings) { [self] rebalance in
            switch rebalance {
            case .assigned(let assigned):
                do {
                    return try assign(assigned, layout: layout, into: session)
                } catch {
                    session.failure = error
                    return [:]
                }
            case .revoked(let revoked):
                for partition in Set(revoked.map { Int($0.partition) }) {
                    session.tasks.removeValue(forKey: partition)?.producer.close(timeout: .seconds(5))
                }
                owned.withLock { $0 = Set(session.tasks.keys) }
                ready.withLock { $0 = false }
                logger.info("app \(app.name): partitions \(revoked.map(\.partition).sorted()) moved away")
                return [:]
            }
        }
        defer {
            consumer.close()
            for task in session.tasks.values { task.producer.close(timeout: .seconds(5)) }
            owned.withLock { $0 = [] }
            ready.withLock { $0 = false }
        }
        try consumer.subscribe(app.inputTopics)
        let inputIndex = Dictionary(uniqueKeysWithValues: app.inputTopics.enumerated().map { ($1, $0) })
        while !stopping.withLock({ $0 }) {
            let wait = session.tasks.values.compactMap { $0.stepper.nextTimer }.min().map {
                Duration.milliseconds(max(0, $0 - wallClockMilliseconds()))
            }
            let events = try consumer.poll(timeout: min(options.idleWait, wait ?? options.idleWait), max: limits.maxRecordsPerStep)
            if let failure = session.failure { throw failure }
            var records: [Int: [[ConsumerRecord]]] = [:]
            for case .record(let record) in events {
                guard let index = inputIndex[record.topic] else { continue }
                records[Int(record.partition), default: Array(repeating: [], count: app.inputTopics.count)][index].append(
                    ConsumerRecord(offset: record.offset, timestamp: record.timestamp, key: record.key, value: record.value))
            }
            for (partition, task) in session.tasks.sorted(by: { $0.key < $1.key }) {
                let input = records[partition] ?? Array(repeating: [], count: app.inputTopics.count)
                guard let step = try task.stepper.step(input) else { continue }
                try commit(step, of: task, consumer: consumer)
            }
        }
    }

    /// A consumer in the app's group: committed reads only, offsets committed by the steps.
    private var groupSettings: [String: String] {
        options.settings.merging(
            ["group.id": options.group(of: app.name), "isolation.level": "read_committed", "enable.auto.commit": "false"]) { _, ours in ours }
    }

    /// The tasks of one membership. Touched only by the loop's thread (rebalances run inside
    /// its polls).
    final class Session: @unchecked Sendable {
        var tasks: [Int: KafkaAppTask<App>] = [:]
        var failure: (any Error)?
    }

    /// Makes the tasks of newly assigned partitions: fence, restore, find where to read.
    private func assign(_ assigned: [TopicPartition], layout: Layout, into session: Session) throws -> [TopicPartition: Int64] {
        var offsets: [TopicPartition: Int64] = [:]
        let byPartition = Dictionary(grouping: assigned, by: { Int($0.partition) })
        for (partition, parts) in byPartition.sorted(by: { $0.key < $1.key }) {
            guard Set(parts.map(\.topic)) == Set(app.inputTopics) else {
                logger.warning("app \(app.name): partition \(partition) assigned for \(parts.map(\.topic)) only; waiting for every input")
                continue
            }
            var producerSettings = options.settings
            producerSettings["enable.idempotence"] = "true"
            if options.exactlyOnce {
                producerSettings["transactional.id"] = options.transactionalID(of: app.name, partition: partition)
                producerSettings["transaction.timeout.ms"] = String(options.transactionTimeout.components.seconds * 1000)
            }
            let producer = try KafkaProducerClient(settings: producerSettings)
            do {
                // Fences the previous owner: its open transaction is aborted, one ending finished.
                if options.exactlyOnce { try producer.blocking.initTransactions() }
                let committed = try consumerCommitted(parts)
                var stepper = AppStepper(
                    app, partition: partition, inputNext: app.inputTopics.map { max(0, committed[TopicPartition($0, Int32(partition))] ?? 0) },
                    outputPartitions: layout.outputPartitions, limits: limits, counters: counters)
                let restored = try KafkaAppTask<App>.restore(
                    &stepper, changelog: options.changelog(of: app.name), partition: partition, settings: options.settings)
                session.tasks[partition] = KafkaAppTask(partition: partition, stepper: stepper, producer: producer)
                for part in parts { offsets[part] = committed[part].flatMap { $0 >= 0 ? $0 : nil } ?? -2 }
                logger.info(
                    "app \(app.name): partition \(partition) is this worker's, from offsets \(stepper.inputNext); \(stepper.stateCount) keys restored from \(restored) changelog records"
                )
            } catch {
                producer.close(timeout: .zero)
                throw error
            }
        }
        owned.withLock { $0 = Set(session.tasks.keys) }
        ready.withLock { $0 = true }
        return offsets
    }

    /// The group's committed offsets, asked by a consumer of their own (the group's consumer is
    /// inside its rebalance).
    private func consumerCommitted(_ parts: [TopicPartition]) throws -> [TopicPartition: Int64] {
        let reader = try BlockingConsumer(settings: groupSettings)
        defer { reader.close() }
        return try reader.committed(parts)
    }

    /// One step, on the cluster: outputs, changelog records and input offsets, in one
    /// transaction (or, at least once: flushed, then offsets committed).
    private func commit(_ step: AppStepper<App>.Step, of task: KafkaAppTask<App>, consumer: BlockingConsumer) throws {
        let producer = task.producer
        let changelog = options.changelog(of: app.name)
        if options.exactlyOnce { try producer.blocking.beginTransaction() }
        for output in step.outputs {
            let topic = output.topic == 0 ? app.outputTopic : app.deadLetterTopic
            for record in output.records {
                try producer.enqueue(
                    record.value, key: record.key, headers: record.headers.map { ($0.key, $0.value) }, to: topic, partition: Int32(output.partition))
            }
        }
        for (key, value) in step.states {
            try producer.enqueue(value, key: KafkaAppTask<App>.stateKey(key), to: changelog, partition: Int32(task.partition))
        }
        for (key, deadline) in step.timers {
            try producer.enqueue(deadline.map(encodeDeadline), key: KafkaAppTask<App>.timerKey(key), to: changelog, partition: Int32(task.partition))
        }
        let offsets = Dictionary(
            uniqueKeysWithValues: app.inputTopics.enumerated().map { (TopicPartition($1, Int32(task.partition)), step.inputNext[$0]) })
        if options.exactlyOnce {
            try producer.blocking.sendOffsets(offsets, consumer: consumer)
            try producer.blocking.commitTransaction()
        } else {
            try producer.flush(timeout: .seconds(60))
            try consumer.commit(offsets)
        }
    }

    /// Runs blocking work on a thread of its own, not on the cooperative pool.
    private func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try work() }) }
            thread.name = "firestream-worker-\(app.name)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }
}
