import Foundation
public import KafkaWire

/// A stream app is a Swift type: it names its input and output topics, how records are decoded
/// and encoded, how they are keyed, and what happens to each record given the key's state
/// (mapGroupsWithState / flatMapGroupsWithState). The runtime owns partitioning, state
/// persistence, offsets, timers and output, and commits them atomically per step.
public protocol StreamApp: Sendable {
    associatedtype Input: Sendable
    associatedtype Output: Sendable
    associatedtype State: Codable & Sendable = EmptyState

    /// Unique among the project's apps; names its journal and dead-letter topics.
    var name: String { get }
    /// Topics to read; with more than one, they must have the same number of partitions.
    var inputTopics: [String] { get }
    var outputTopic: String { get }
    /// Where undecodable records and failures go (default `<name>.dlq`).
    var deadLetterTopic: String { get }

    func decode(_ value: [UInt8]) throws -> Input
    func encode(_ output: Output) throws -> [UInt8]
    /// The state key of an input record; nil for records that need no state.
    func key(for input: Input) -> String?
    /// The record key written with an output (chooses its partition); nil for none.
    func key(for output: Output) -> String?
    /// The per-record logic: read and change the key's state, return outputs.
    func process(_ input: Input, state: inout State?, context: inout ProcessingContext) throws -> [Output]
    /// Called when a timeout set for `key` expires with no new record for it.
    func timedOut(key: String, state: inout State?, context: inout ProcessingContext) throws -> [Output]

    /// The app a task of `partition` runs: an app that keeps working memory per task returns a
    /// copy with its own. Default: the app itself.
    func forTask(partition: Int) -> Self
    /// Called at the start of each step with its records (per input topic) and the step's time;
    /// `state` gives a key's state as the step starts. An app whose logic runs elsewhere (a
    /// Python process) computes the whole step here, then answers the per-record calls from
    /// that. Throwing ends the step with nothing of it applied. Default: nothing.
    func prepare(records: [[ConsumerRecord]], now: Int64, state: (String) -> State?) throws
    /// The same for the timeouts due in a step, after its records, in the order they fire.
    func prepareTimeouts(keys: [String], now: Int64, state: (String) -> State?) throws
    /// Something to add to the app's status line (a Python app's worker restarts); nil for none.
    var statusNote: String? { get }
}

/// The state of apps that keep none.
public struct EmptyState: Codable, Sendable, Equatable {
    public init() {}
}

/// What the runtime tells the per-record function, and the timeout it may set for the key.
public struct ProcessingContext: Sendable {
    /// Wall-clock milliseconds when the step started.
    public let now: Int64
    /// The current record's timestamp (milliseconds), or `now` for timeouts.
    public let timestamp: Int64
    /// Absolute deadline for this key's timeout, if one is set.
    public private(set) var timeoutAt: Int64?

    /// A context for calling an app's logic directly, e.g. in its unit tests.
    public init(now: Int64, timestamp: Int64) {
        self.now = now
        self.timestamp = timestamp
    }

    /// Fires ``StreamApp/timedOut(key:state:context:)`` after `milliseconds` of wall-clock time
    /// unless a new record for the key arrives first. Each call replaces the previous timeout;
    /// a record processed without setting one clears it.
    public mutating func setTimeout(afterMilliseconds milliseconds: Int64) {
        let (deadline, overflow) = now.addingReportingOverflow(max(0, milliseconds))
        timeoutAt = overflow ? Int64.max : deadline
    }

    public mutating func clearTimeout() { timeoutAt = nil }
}

extension StreamApp {
    public var deadLetterTopic: String { "\(name).dlq" }

    public func key(for output: Output) -> String? { nil }

    public func timedOut(key: String, state: inout State?, context: inout ProcessingContext) throws -> [Output] { [] }

    public func forTask(partition: Int) -> Self { self }

    public var statusNote: String? { nil }

    public func prepare(records: [[ConsumerRecord]], now: Int64, state: (String) -> State?) throws {}

    public func prepareTimeouts(keys: [String], now: Int64, state: (String) -> State?) throws {}
}

extension StreamApp where Input: Decodable {
    /// JSON through Foundation's decoder; apps on a hot path can supply their own.
    public func decode(_ value: [UInt8]) throws -> Input {
        try JSONDecoder().decode(Input.self, from: Data(value))
    }
}

extension StreamApp where Output: Encodable {
    public func encode(_ output: Output) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return [UInt8](try encoder.encode(output))
    }
}
