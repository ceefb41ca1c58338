public import FirestreamStreams
public import KafkaWire

/// A stream app whose logic is a Python class (`firestream.App`), run by the same exactly-once
/// runtime as Swift apps: the runtime reads, journals and writes; each step's records go to a
/// Python worker in two exchanges (keys, then results given the keys' states), and the
/// per-record calls are answered from those results. A worker that dies mid-step costs nothing:
/// the step had not been committed, and is computed again.
public struct PythonApp: StreamApp {
    /// A record as the runtime sees it: its place in the step, and the key Python gave it.
    public struct Input: Sendable {
        let index: Int
        let key: String?
    }

    public struct Output: Sendable {
        let key: String?
        let value: [UInt8]
    }

    /// A key's state: the JSON text the Python app's state is written as.
    public struct State: Codable, Sendable, Equatable {
        public var json: String

        public init(json: String) { self.json = json }

        public init(from decoder: any Decoder) throws {
            json = try decoder.singleValueContainer().decode(String.self)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(json)
        }
    }

    /// What the Python code raised, with its traceback: the record's dead-letter reason.
    public struct Raised: Error, CustomStringConvertible {
        public var description: String
    }

    public let name: String
    public let inputTopics: [String]
    public let outputTopic: String
    public let workers: PythonWorkers
    let memory: StepMemory

    public init(name: String, inputs: [String], output: String, workers: PythonWorkers) {
        self.name = name
        self.inputTopics = inputs
        self.outputTopic = output
        self.workers = workers
        self.memory = StepMemory(partition: 0)
    }

    private init(_ app: PythonApp, partition: Int) {
        name = app.name
        inputTopics = app.inputTopics
        outputTopic = app.outputTopic
        workers = app.workers
        memory = StepMemory(partition: partition)
    }

    public func forTask(partition: Int) -> PythonApp { PythonApp(self, partition: partition) }

    public var statusNote: String? {
        let restarts = workers.restarts
        return restarts == 0 ? nil : "\(restarts) Python worker restart\(restarts == 1 ? "" : "s")"
    }

    public func prepare(records: [[ConsumerRecord]], now: Int64, state: (String) -> State?) throws {
        let count = records.reduce(0) { $0 + $1.count }
        memory.reset()
        guard count > 0 else { return }
        let records = PythonProtocol.records(records)
        (memory.keys, memory.results) = try workers.withWorker(partition: memory.partition) { worker in
            let keys = try PythonProtocol.keys(worker.exchange(.keys, records, expect: .keysDone), expected: count)
            var seen: Set<String> = []
            var states: [(key: String, json: String?)] = []
            for case .key(let key) in keys where seen.insert(key).inserted { states.append((key, state(key)?.json)) }
            let results = try PythonProtocol.results(
                worker.exchange(.process, PythonProtocol.states(now: now, states), expect: .processDone), expected: count)
            return (keys, results)
        }
    }

    public func prepareTimeouts(keys: [String], now: Int64, state: (String) -> State?) throws {
        let due = keys.map { (key: $0, json: state($0)?.json) }
        let request = PythonProtocol.states(now: now, due)
        memory.timeouts = try workers.withWorker(partition: memory.partition) { worker in
            try PythonProtocol.results(worker.exchange(.timeouts, request, expect: .timeoutsDone), expected: keys.count)
        }
        memory.nextTimeout = 0
    }

    public func decode(_ value: [UInt8]) throws -> Input {
        let index = memory.nextRecord
        memory.nextRecord += 1
        precondition(index < memory.keys.count, "a record the step did not prepare")
        switch memory.keys[index] {
        case .key(let key): return Input(index: index, key: key)
        case .none: return Input(index: index, key: nil)
        case .undecodable(let reason): throw Raised(description: reason)
        }
    }

    public func key(for input: Input) -> String? { input.key }
    public func key(for output: Output) -> String? { output.key }
    public func encode(_ output: Output) throws -> [UInt8] { output.value }

    public func process(_ input: Input, state: inout State?, context: inout ProcessingContext) throws -> [Output] {
        try Self.apply(memory.results[input.index], state: &state, context: &context)
    }

    public func timedOut(key: String, state: inout State?, context: inout ProcessingContext) throws -> [Output] {
        let index = memory.nextTimeout
        memory.nextTimeout += 1
        precondition(index < memory.timeouts.count, "a timeout the step did not prepare")
        return try Self.apply(memory.timeouts[index], state: &state, context: &context)
    }

    private static func apply(_ result: PythonProtocol.Result, state: inout State?, context: inout ProcessingContext) throws -> [Output] {
        switch result {
        case .failed(let traceback):
            throw Raised(description: traceback)
        case .done(let change, let timeout, let outputs):
            switch change {
            case .unchanged: break
            case .set(let json): state = State(json: json)
            case .cleared: state = nil
            }
            if let timeout { context.setTimeout(afterMilliseconds: timeout) } else { context.clearTimeout() }
            return outputs.map { Output(key: $0.key, value: $0.value) }
        }
    }
}

/// One task's answers for the step in progress. Only the task that owns it uses it, one call at
/// a time (the runtime's step loop), hence unchecked.
final class StepMemory: @unchecked Sendable {
    let partition: Int
    var keys: [PythonProtocol.KeyAnswer] = []
    var results: [PythonProtocol.Result] = []
    var nextRecord = 0
    var timeouts: [PythonProtocol.Result] = []
    var nextTimeout = 0

    init(partition: Int) { self.partition = partition }

    func reset() {
        keys.removeAll(keepingCapacity: true)
        results.removeAll(keepingCapacity: true)
        nextRecord = 0
    }
}
