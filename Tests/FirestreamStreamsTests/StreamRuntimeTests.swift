import FirestreamDemo
import FirestreamJSON
import FirestreamLog
import FirestreamTesting
import Foundation
import KafkaWire
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import FirestreamStreams

/// Metronome-shaped readings: `ticks` ticks of `devices` devices, one second apart.
func readings(devices: [String], ticks: Range<Int>, seed: UInt64 = 1) -> [ProducerRecord] {
    let source = MetronomeSource(devices: devices, seed: seed)
    return ticks.flatMap { tick in
        devices.map { source.record(device: $0, index: Int64(tick), time: 1_700_000_000_000 + Int64(tick) * 1000) }
    }
}

/// The Wiener positions computed directly, without the runtime: the reference for every test.
func referencePositions(_ records: [ProducerRecord]) -> [String: Double] {
    let app = WienerApp()
    var states: [String: WienerApp.State] = [:]
    var positions: [String: Double] = [:]
    for record in records {
        let reading = try! app.decode(record.value!)
        var state = states[reading.deviceID]
        var context = ProcessingContext(now: 0, timestamp: 0)
        for point in app.process(reading, state: &state, context: &context) { positions[point.deviceID] = point.measurement }
        states[reading.deviceID] = state
    }
    return positions
}

/// Runs `runnable` until `topic` holds `count` records (or `limit` passes: a safety net for a
/// loaded machine, not an expectation), then stops it.
func run(_ runnable: any Runnable, on log: Log, until topic: String, reaches count: Int, limit: Duration = .seconds(60)) async throws {
    let task = Task { try await runnable.run(EmbeddedStorage(log)) }
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if let target = log.topicIfExists(topic), target.recordCount >= count { break }
        try await Task.sleep(for: .milliseconds(5))
    }
    task.cancel()
    try await task.value
}

@Suite struct StreamRuntimeTests {
    let devices = ["device-a", "device-b", "device-c"]

    @Test func wienerFollowsTheFormula() {
        let app = WienerApp()
        var state: WienerApp.State?
        var context = ProcessingContext(now: 0, timestamp: 0)
        let first = WienerApp.Reading(deviceID: "d", eventTime: 1000, magnitude: 0.5, direction: 1)
        #expect(app.process(first, state: &state, context: &context).isEmpty)
        // dW = ±magnitude·√dt: 2 s later, -0.25·√2.
        let second = WienerApp.Reading(deviceID: "d", eventTime: 3000, magnitude: 0.25, direction: 0)
        let points = app.process(second, state: &state, context: &context)
        #expect(
            points == [WienerApp.Point(deviceID: "d", eventTime: 3000, measurement: -0.25 * 2.0.squareRoot(), increment: -0.25 * 2.0.squareRoot())])
        let third = WienerApp.Reading(deviceID: "d", eventTime: 3500, magnitude: 1.0, direction: 1)
        let measurement = app.process(third, state: &state, context: &context).first?.measurement ?? .nan
        #expect(abs(measurement - (0.5.squareRoot() - 0.25 * 2.0.squareRoot())) < 1e-12)
        // A reading that is not later than the last one moves nothing.
        let late = WienerApp.Reading(deviceID: "d", eventTime: 3400, magnitude: 1.0, direction: 1)
        #expect(app.process(late, state: &state, context: &context).first?.increment == 0)
        #expect(state?.lastEventTime == 3500)
    }

    /// At 100 ticks/s the steps are 10 ms: each increment is magnitude·√0.01, a tenth of the
    /// magnitude, not a hundredth (which is what `magnitude·dt` gave).
    @Test func wienerIncrementsScaleWithTheSquareRootOfTheTimeStep() {
        let app = WienerApp()
        var state: WienerApp.State?
        var context = ProcessingContext(now: 0, timestamp: 0)
        _ = app.process(WienerApp.Reading(deviceID: "d", eventTime: 0, magnitude: 0.5, direction: 1), state: &state, context: &context)
        let step = app.process(WienerApp.Reading(deviceID: "d", eventTime: 10, magnitude: 0.5, direction: 1), state: &state, context: &context)
        #expect(abs(step[0].increment - 0.05) < 1e-15)
        // The variance over one second is the same whatever the rate: 100 steps of 0.1·m have
        // the same sum of squares as one step of m.
        #expect(abs(100 * step[0].increment * step[0].increment - 0.25) < 1e-12)
    }

    @Test func journalStepsRoundTrip() throws {
        let batch = RecordBatch.encode(
            [ProducerRecord(key: Array("a".utf8), value: Array("v".utf8), timestamp: 9)], producerId: 3, producerEpoch: 0, baseSequence: Int32.max)
        var step = JournalStep(
            inputNext: [42, 7], publishedThrough: 3, states: [("a", Array("{}".utf8)), ("gone", nil)],
            timers: [("a", 1_700_000_000_123), ("b", nil)],
            batches: [.init(topic: 0, partition: 2, bytes: batch), .init(topic: 1, partition: 0, bytes: [])])
        #expect(try JournalStep(decoding: step.encoded()) == step)
        step.snapshot = true
        step.sequences = [(0, 2, 17), (1, 0, Int32.max)]
        #expect(try JournalStep(decoding: step.encoded()) == step)
        #expect(throws: WireError.self) { try JournalStep(decoding: Array(step.encoded().dropLast(3))) }
    }

    @Test func wienerRunsEndToEndAndResumesWithoutDuplicates() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let input = try log.createTopic("metronome", partitions: 2)
        let firstHalf = readings(devices: devices, ticks: 0..<200)
        _ = try await input.append(firstHalf)
        let runner = AppRunner(WienerApp(), limits: TaskLimits(maxRecordsPerStep: 64))
        try await run(runner, on: log, until: "wiener", reaches: 597)
        let output = try log.topic("wiener")
        #expect(output.recordCount == 597)  // 3 devices × 199 increments

        // Restart with more input: state resumes, nothing is emitted twice.
        let secondHalf = readings(devices: devices, ticks: 200..<300)
        _ = try await input.append(secondHalf)
        try await run(AppRunner(WienerApp()), on: log, until: "wiener", reaches: 897)
        let records = try drain(output)
        #expect(records.count == 897)
        let points = try records.map { try FlatJSONObject(parsing: $0.value!) }
        let pairs = points.map { "\($0.string("device_id")!)@\(Int64($0.number("event_time")!))" }
        #expect(Set(pairs).count == pairs.count)
        let expected = referencePositions(firstHalf + secondHalf)
        for device in devices {
            let last = points.filter { $0.string("device_id") == device }.max { $0.number("event_time")! < $1.number("event_time")! }
            #expect(abs(last!.number("measurement")! - expected[device]!) < 1e-9)
        }
        // Outputs are keyed by device, on Kafka's partition for the key.
        for record in records {
            let device = String(decoding: record.key!, as: UTF8.self)
            #expect(
                try output.partition(output.partition(forKey: record.key)).read(from: record.offset).records.first?.key.map {
                    String(decoding: $0, as: UTF8.self)
                } == device)
        }
    }

    @Test func snapshotsLetTheJournalShrinkAndRecoveryStillMatches() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let input = try log.createTopic("metronome")
        let first = readings(devices: devices, ticks: 0..<400)
        _ = try await input.append(first)
        let limits = TaskLimits(maxRecordsPerStep: 12, snapshotEveryBytes: 4096)
        let runner = AppRunner(WienerApp(), limits: limits)
        try await run(runner, on: log, until: "wiener", reaches: 1197)
        let journal = try log.topic(runner.journalTopic).partitions[0]
        // About 100 steps were journaled; snapshots let the older segments go. How many went
        // depends on when outputs became durable (a loaded disk keeps more), not how little is left.
        #expect(journal.startOffset > 0, "old journal segments were deleted")
        #expect(journal.sizeInBytes < 64 * 1024, "the journal holds \(journal.sizeInBytes) bytes")

        let second = readings(devices: devices, ticks: 400..<500)
        _ = try await input.append(second)
        try await run(AppRunner(WienerApp(), limits: limits), on: log, until: "wiener", reaches: 1497)
        let points = try drain(try log.topic("wiener")).map { try FlatJSONObject(parsing: $0.value!) }
        #expect(points.count == 1497)
        let pairs = points.map { "\($0.string("device_id")!)@\(Int64($0.number("event_time")!))" }
        #expect(Set(pairs).count == pairs.count)
        let expected = referencePositions(first + second)
        for device in devices {
            let last = points.filter { $0.string("device_id") == device }.max { $0.number("event_time")! < $1.number("event_time")! }
            #expect(abs(last!.number("measurement")! - expected[device]!) < 1e-9)
        }
    }

    /// The dead-letter partition is written rarely, so most snapshots carry its sequence without a
    /// batch of their own: after the journal before them is gone, that sequence must survive.
    @Test func snapshotsKeepTheSequencesOfQuietOutputPartitions() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let input = try log.createTopic("metronome")
        let bad = ProducerRecord(key: nil, value: Array("{broken".utf8), timestamp: 1)
        _ = try await input.append([bad, bad] + readings(devices: devices, ticks: 0..<300))
        let limits = TaskLimits(maxRecordsPerStep: 12, snapshotEveryBytes: 4096)
        try await run(AppRunner(WienerApp(), limits: limits), on: log, until: "wiener", reaches: 897)
        #expect(try log.topic("__wiener.journal").partitions[0].startOffset > 0)
        _ = try await input.append([bad] + readings(devices: devices, ticks: 300..<310))
        try await run(AppRunner(WienerApp(), limits: limits), on: log, until: "wiener", reaches: 927)
        #expect(try log.topic("wiener.dlq").recordCount == 3)
    }

    @Test func aCommittedButUnpublishedStepIsPublishedOnceOnRestart() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let input = try log.createTopic("metronome")
        _ = try await input.append(readings(devices: devices, ticks: 0..<10))
        let runner = AppRunner(WienerApp())
        try await run(runner, on: log, until: "wiener", reaches: 27)
        let output = try log.topic("wiener")
        #expect(output.recordCount == 27)

        // Simulate a crash right after a journal commit, before its outputs were published:
        // append a step to the journal by hand, continuing the task's sequences.
        let journal = try log.topic(runner.journalTopic).partitions[0]
        let producer = stableProducerId("app/wiener/0")
        let next = ProducerSequence.advance(output.partitions[0].lastSequence(of: producer)!, by: 1)
        let crashed = RecordBatch.encode(
            [ProducerRecord(key: Array("device-a".utf8), value: Array("{\"crash\":1}".utf8), timestamp: 5)], producerId: producer,
            producerEpoch: 0, baseSequence: next)
        let step = JournalStep(
            inputNext: [30], publishedThrough: -1, states: [], timers: [], batches: [.init(topic: 0, partition: 0, bytes: crashed)])
        _ = try await journal.append([ProducerRecord(key: nil, value: step.encoded(), timestamp: 5)])

        // Restart twice; each run is stopped once its recovery is over (it reports its input
        // positions at the end of recovery, and the republished step is durable by then).
        for _ in 0..<2 {
            let runner = AppRunner(WienerApp())
            let restarted = Task { try await runner.run(log) }
            let deadline = ContinuousClock.now + .seconds(20)
            while runner.counters.inputPositions.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(!runner.counters.inputPositions.isEmpty, "recovery finished")
            restarted.cancel()
            try await restarted.value
        }
        let values = try drain(output).map { String(decoding: $0.value!, as: UTF8.self) }
        #expect(values.count == 28)
        #expect(values.filter { $0 == "{\"crash\":1}" }.count == 1)
    }

    @Test func undecodableRecordsGoToTheDeadLetterTopic() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let input = try log.createTopic("metronome")
        var records = readings(devices: ["d"], ticks: 0..<3)
        records.insert(ProducerRecord(key: nil, value: Array("{not json".utf8), timestamp: 1), at: 1)
        records.insert(ProducerRecord(key: nil, value: Array("{\"device_id\":\"d\"}".utf8), timestamp: 2), at: 2)
        _ = try await input.append(records)
        try await run(AppRunner(WienerApp()), on: log, until: "wiener", reaches: 2)
        #expect(try log.topic("wiener").recordCount == 2)
        let dead = try drain(try log.topic("wiener.dlq")).map { try FlatJSONObject(parsing: $0.value!) }
        #expect(dead.count == 2)
        #expect(dead[0].number("offset") == 1)
        #expect(dead[0].string("value") == "{not json")
        #expect(dead[0].string("error")?.hasPrefix("cannot decode: invalid JSON") == true)
        #expect(dead[1].string("error")?.contains("event_time") == true)
    }

    /// Counts records per key and reports a key once it has been idle for 150 ms.
    struct IdleDetector: StreamApp {
        struct Event: Codable, Sendable { var user: String }
        struct Report: Codable, Sendable, Equatable {
            var user: String
            var events: Int
        }
        struct State: Codable, Sendable { var events: Int }
        let name = "idle"
        let inputTopics = ["clicks"]
        let outputTopic = "idle-users"

        func key(for input: Event) -> String? { input.user }
        func key(for output: Report) -> String? { output.user }

        func process(_ input: Event, state: inout State?, context: inout ProcessingContext) -> [Report] {
            state = State(events: (state?.events ?? 0) + 1)
            context.setTimeout(afterMilliseconds: 150)
            return []
        }

        func timedOut(key: String, state: inout State?, context: inout ProcessingContext) -> [Report] {
            defer { state = nil }
            return [Report(user: key, events: state?.events ?? 0)]
        }
    }

    @Test func timeoutsFireOnIdleKeysWithoutNewInput() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let clicks = try log.createTopic("clicks")
        let event = { (user: String) in ProducerRecord(key: nil, value: Array("{\"user\":\"\(user)\"}".utf8), timestamp: 1) }
        _ = try await clicks.append([event("ann"), event("bob"), event("ann")])
        let started = ContinuousClock.now
        try await run(AppRunner(IdleDetector()), on: log, until: "idle-users", reaches: 2)
        #expect(ContinuousClock.now - started >= .milliseconds(150))
        let reports = try drain(try log.topic("idle-users")).map {
            try JSONDecoder().decode(IdleDetector.Report.self, from: Data($0.value!))
        }
        #expect(Set(reports.map(\.user)) == ["ann", "bob"])
        #expect(reports.first { $0.user == "ann" }?.events == 2)
        // The state was cleared by the timeout and the timer is gone: a restart reports nothing new.
        try await run(AppRunner(IdleDetector()), on: log, until: "idle-users", reaches: 3, limit: .milliseconds(400))
        #expect(try log.topic("idle-users").recordCount == 2)
    }

    struct Temperature: Codable, Sendable, Equatable {
        var sensor: String
        var celsius: Double
    }

    @Test func statelessMapAndFilter() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let input = try log.createTopic("temperatures")
        let values = [12.0, 31.5, 40.0, -3.0]
        _ = try await input.append(values.map { ProducerRecord(key: nil, value: Array("{\"sensor\":\"s\",\"celsius\":\($0)}".utf8), timestamp: 1) })
        let hot = StatelessApp<Temperature, Temperature>.filter(name: "hot", from: "temperatures", to: "hot") { $0.celsius > 30 }
        try await run(AppRunner(hot), on: log, until: "hot", reaches: 2)
        let fahrenheit = StatelessApp<Temperature, Temperature>.map(
            name: "fahrenheit", from: "hot", to: "hot-f", key: { $0.sensor },
            { Temperature(sensor: $0.sensor, celsius: $0.celsius * 9 / 5 + 32) })
        try await run(AppRunner(fahrenheit), on: log, until: "hot-f", reaches: 2)
        let converted = try drain(try log.topic("hot-f")).map { try JSONDecoder().decode(Temperature.self, from: Data($0.value!)) }
        #expect(converted.map(\.celsius) == [88.7, 104.0])
    }

    @Test func metronomeIsDeterministicAndResumesAfterItsLastTick() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let ids = MetronomeSource.deviceIDs(count: 5, seed: 99)
        #expect(ids == MetronomeSource.deviceIDs(count: 5, seed: 99))
        #expect(Set(ids).count == 5)
        #expect(ids != MetronomeSource.deviceIDs(count: 5, seed: 100))
        let source = MetronomeSource(devices: ids, ticksPerSecond: 200, seed: 99)
        try await run(source, on: log, until: "metronome", reaches: 50)
        let before = try drain(try log.topic("metronome")).map { try FlatJSONObject(parsing: $0.value!) }
        try await run(MetronomeSource(devices: ids, ticksPerSecond: 200, seed: 99), on: log, until: "metronome", reaches: before.count + 50)
        let after = try drain(try log.topic("metronome")).map { try FlatJSONObject(parsing: $0.value!) }
        let indexes = after.map { Int64($0.number("index")!) }
        // Every tick holds all five devices, indexes never repeat and never go back.
        for tick in Set(indexes) { #expect(indexes.count { $0 == tick } == 5) }
        #expect(indexes == indexes.sorted())
        for reading in after {
            let (magnitude, direction) = source.reading(device: reading.string("device_id")!, index: Int64(reading.number("index")!))
            #expect(reading.number("magnitude") == magnitude)
            #expect(reading.number("direction") == Double(direction))
            #expect((0..<1).contains(magnitude))
        }
        let times = after.map { Int64($0.number("event_time")!) }
        #expect(times == times.sorted())
    }
}

/// A runnable that fails at once, or runs until cancelled.
struct ScriptedRunnable: Runnable {
    let name: String
    let fails: Bool
    let counters = AppCounters()
    var summary: String { name }
    func prepare(_ storage: any RecordStorage) async throws {}
    func run(_ storage: any RecordStorage) async throws {
        if fails { throw RuntimeError.noInput(app: name) }
        counters.steps.add(1, ordering: .relaxed)
        // Like a real runnable: a sleep cut short by cancellation throws.
        while !Task.isCancelled { try await Task.sleep(for: .milliseconds(10)) }
    }
}

@Suite struct RuntimeFailureTests {
    @Test func theFirstFailureStopsTheRuntimeAtOnceAndNamesTheApp() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let group = ServiceGroup(
            services: [
                RunnableService(ScriptedRunnable(name: "steady", fails: false), log: log),
                RunnableService(ScriptedRunnable(name: "broken", fails: true), log: log),
            ],
            logger: Logger(label: "test"))
        // "steady" never stops by itself: the group returns only if the failure cancelled it.
        // (The timeout is there for the bug; a correct group returns at once.)
        let outcome = await withTaskGroup(of: String.self) { tasks in
            tasks.addTask {
                do {
                    try await group.run()
                    return "returned without an error"
                } catch {
                    return "\(error)"
                }
            }
            tasks.addTask {
                try? await Task.sleep(for: .seconds(60))
                return "still running after 60 s: the failure did not stop the others"
            }
            let first = await tasks.next() ?? ""
            tasks.cancelAll()
            return first
        }
        #expect(outcome == RuntimeError.stopped(app: "broken", reason: "app \"broken\" declares no input topic").description)
    }

    @Test func aGracefulShutdownStopsEveryRunnableWithoutAnError() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let steady = [ScriptedRunnable(name: "a", fails: false), ScriptedRunnable(name: "b", fails: false)]
        let group = ServiceGroup(services: steady.map { RunnableService($0, log: log) }, logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        try await eventually("both runnables to start") { steady.allSatisfy { $0.counters.steps.load(ordering: .relaxed) > 0 } }
        await group.triggerGracefulShutdown()
        try await running.value
    }
}
