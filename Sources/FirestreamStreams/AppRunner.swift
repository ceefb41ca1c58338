public import FirestreamLog
import Synchronization

/// What a runnable does with the log: it decides the order of a graceful shutdown (sources stop
/// first, then apps finish their steps, then effects stop).
public enum RunnableRole: Sendable {
    /// Brings data from outside into topics.
    case source
    /// Reads topics and writes topics.
    case app
    /// Sends topics' records outside.
    case effect
}

/// Something the runtime runs until cancelled: an app, a source or an effect.
public protocol Runnable: Sendable {
    var name: String { get }
    var role: RunnableRole { get }
    /// Its part of the status line `up` prints.
    var status: String { get }
    /// One line for people: what it is, what it reads and writes.
    var summary: String { get }
    var counters: AppCounters { get }
    /// Topics this runnable reads, writes, or keeps internally (created before anything runs).
    func prepare(_ storage: any RecordStorage) async throws
    /// Runs until cancelled (or, for a finite source, until done).
    func run(_ storage: any RecordStorage) async throws
    /// Topics only this runnable writes (its outputs, dead letters, journal), with what each is:
    /// clients may not write them.
    var ownedTopics: [String: String] { get }
    /// Every topic it reads or writes, with how: deleting one would stop it.
    var usedTopics: [String: String] { get }
    /// Whether it does its work now (what `/readyz` reports): an app on a Kafka cluster is not
    /// while it joins its group or restores its partitions' state.
    var isReady: Bool { get }
}

extension Runnable {
    public var ownedTopics: [String: String] { [:] }
    public var usedTopics: [String: String] { ownedTopics }
    public var role: RunnableRole { .app }
    public var isReady: Bool { true }

    public var status: String {
        "\(name): \(counters.records.load(ordering: .relaxed)) in, \(counters.outputs.load(ordering: .relaxed)) out, \(counters.deadLetters.load(ordering: .relaxed)) dead letters"
    }
}

/// Runs every partition of a ``StreamApp`` in parallel, one task per input partition.
public struct AppRunner<App: StreamApp>: Runnable {
    public let app: App
    public let limits: TaskLimits
    public let counters = AppCounters()
    @usableFromInline let clock: @Sendable () -> Int64

    public init(_ app: App, limits: TaskLimits = TaskLimits(), clock: @escaping @Sendable () -> Int64 = wallClockMilliseconds) {
        self.app = app
        self.limits = limits
        self.clock = clock
    }

    public var name: String { app.name }

    public var summary: String {
        "\(app.name) (\(App.self)) \(app.inputTopics.joined(separator: ", ")) → \(app.outputTopic)"
    }

    public var status: String {
        "\(name): \(counters.records.load(ordering: .relaxed)) in, \(counters.outputs.load(ordering: .relaxed)) out, "
            + "\(counters.deadLetters.load(ordering: .relaxed)) dead letters" + (app.statusNote.map { ", \($0)" } ?? "")
    }

    /// The internal topic holding the app's committed steps.
    public var journalTopic: String { "__\(app.name).journal" }

    public var ownedTopics: [String: String] {
        [
            app.outputTopic: "the output of app \"\(app.name)\"", app.deadLetterTopic: "the dead-letter topic of app \"\(app.name)\"",
            journalTopic: "the journal of app \"\(app.name)\"",
        ]
    }

    public var usedTopics: [String: String] {
        app.inputTopics.reduce(into: ownedTopics) { used, input in used[input] = used[input] ?? "an input of app \"\(app.name)\"" }
    }

    public func prepare(_ storage: any RecordStorage) async throws { try prepare(try Self.embeddedLog(storage, app: app.name)) }

    public func run(_ storage: any RecordStorage) async throws { try await run(try Self.embeddedLog(storage, app: app.name)) }

    /// The storage's embedded log: the runtime journals each step there. On a Kafka cluster apps
    /// run as workers instead (FirestreamKafka).
    public static func embeddedLog(_ storage: any RecordStorage, app: String) throws -> Log {
        guard let log = storage.log else { throw RuntimeError.needsEmbeddedLog(app: app, storage: storage.location) }
        return log
    }

    public func prepare(_ log: Log) throws {
        let inputs = try app.inputTopics.map { name -> Topic in
            do {
                return try log.topic(name)
            } catch {
                throw RuntimeError.missingInput(app: app.name, topic: name)
            }
        }
        guard let partitions = inputs.first?.partitions.count else { throw RuntimeError.noInput(app: app.name) }
        guard inputs.allSatisfy({ $0.partitions.count == partitions }) else {
            throw RuntimeError.partitionMismatch(app: app.name, topics: app.inputTopics)
        }
        _ = try log.ensureTopic(app.outputTopic, partitions: partitions)
        _ = try log.ensureTopic(app.deadLetterTopic, partitions: 1)
        // Kept until a snapshot step covers it (the task deletes older segments itself).
        _ = try log.ensureTopic(
            journalTopic, partitions: partitions,
            settings: PartitionSettings(segmentBytes: limits.journalSegmentBytes, retentionMilliseconds: nil))
    }

    @inlinable
    public func run(_ log: Log) async throws {
        try prepare(log)
        let inputs = try app.inputTopics.map { try log.topic($0) }
        let outputs = [try log.topic(app.outputTopic), try log.topic(app.deadLetterTopic)]
        let journal = try log.topic(journalTopic)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for partition in 0..<inputs[0].partitions.count {
                let task = AppTask(
                    app: app, partition: partition, inputs: inputs.map { $0.partitions[partition] },
                    journal: journal.partitions[partition], outputs: outputs, clock: clock, limits: limits, counters: counters)
                group.addTask {
                    var task = task
                    try await task.run()
                }
            }
            try await group.waitForAll()
        }
    }
}

/// Why an app could not start.
public enum RuntimeError: Error, Equatable, CustomStringConvertible {
    case missingInput(app: String, topic: String)
    case noInput(app: String)
    case partitionMismatch(app: String, topics: [String])
    case unknownKind(app: String, kind: String, known: [String])
    case badSetting(app: String, key: String, reason: String)
    case stopped(app: String, reason: String)
    case needsEmbeddedLog(app: String, storage: String)

    public var description: String {
        switch self {
        case .missingInput(let app, let topic):
            "app \"\(app)\" reads topic \"\(topic)\", which does not exist (declare it under \"topics\" or create it with `firestream topics create \(topic)`)"
        case .noInput(let app): "app \"\(app)\" declares no input topic"
        case .needsEmbeddedLog(let app, let storage):
            "app \"\(app)\" runs on the embedded log, not on \(storage): on a Kafka cluster apps run as workers (firestream worker)"
        case .stopped(let app, let reason): "\"\(app)\" stopped: \(reason)"
        case .partitionMismatch(let app, let topics):
            "app \"\(app)\" reads \(topics.joined(separator: ", ")), which have different partition counts"
        case .unknownKind(let app, let kind, let known):
            "apps[\"\(app)\"].kind: unknown app kind \"\(kind)\" (this binary knows \(known.joined(separator: ", ")))"
        case .badSetting(let app, let key, let reason): "apps[\"\(app)\"].settings.\(key): \(reason)"
        }
    }
}

/// A runnable that is a stream app: how a runner for storage other than the embedded log (a
/// Kafka cluster) finds the app and its limits in any runnable.
public protocol StreamAppRunnable: Runnable {
    associatedtype App: StreamApp
    var appRunner: AppRunner<App> { get }
}

extension AppRunner: StreamAppRunnable {
    public var appRunner: AppRunner<App> { self }
}
