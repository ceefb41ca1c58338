import FirestreamDemo
import FirestreamJSON
import FirestreamLog
import FirestreamTesting
import Foundation
import KafkaWire
import Synchronization
import Testing

@testable import FirestreamStreams

/// Apps under power cuts: a producer appends readings while a deterministic app (Wiener) and a
/// non-deterministic one (Dice, which draws random numbers) run; the simulated disk loses what
/// was not synced at random moments. After every cut each acknowledged reading is still there,
/// and at the end both apps' outputs are exactly those of a run that never crashed: Wiener's
/// equal a recomputation, and Dice's form an unbroken chain per device (a recomputed step would
/// draw different numbers, so a lost journal commit or a dropped output shows up as a break).
@Suite struct PowerLossRuntimeTests {
    /// Counts each device's readings and adds up a random draw per reading.
    struct NoDevice: Error {}

    struct Dice: StreamApp {
        struct Outcome: Sendable {
            var device: String
            var count: Int64
            var draw: Double
            var sum: Double
        }
        struct State: Codable, Sendable {
            var count: Int64
            var sum: Double
        }
        let name = "dice"
        let inputTopics = ["metronome"]
        let outputTopic = "dice"

        func decode(_ value: [UInt8]) throws -> String {
            guard let device = try FlatJSONObject(parsing: value).string("device_id") else { throw NoDevice() }
            return device
        }
        func encode(_ output: Outcome) throws -> [UInt8] {
            var json = FlatJSONWriter()
            json.field("device_id", output.device)
            json.field("count", output.count)
            json.field("draw", output.draw)
            json.field("sum", output.sum)
            return json.finished()
        }
        func key(for input: String) -> String? { input }
        func key(for output: Outcome) -> String? { output.device }
        func process(_ device: String, state: inout State?, context: inout ProcessingContext) -> [Outcome] {
            let draw = Double.random(in: 0..<1)
            var current = state ?? State(count: 0, sum: 0)
            current.count += 1
            current.sum += draw
            state = current
            return [Outcome(device: device, count: current.count, draw: draw, sum: current.sum)]
        }
    }

    static let small = PartitionSettings(segmentBytes: 1024, indexIntervalBytes: 256)
    static let limits = TaskLimits(maxRecordsPerStep: 7, snapshotEveryBytes: 2048)

    func prepareTopics(_ log: Log) throws {
        for name in ["metronome", "wiener", "dice", "wiener.dlq", "dice.dlq"] {
            _ = try log.ensureTopic(name, partitions: name.hasSuffix(".dlq") ? 1 : 2, settings: Self.small)
        }
    }

    @Test(arguments: 0..<16)
    func outputsAreExactlyOnceAcrossPowerCuts(seed: Int) async throws {
        var random = SplitMix64(seed: UInt64(seed) &+ 77)
        let disk = SimulatedDisk(syncLatencyMicroseconds: 300)
        let devices = ["d-1", "d-2", "d-3", "d-4"]
        let source = MetronomeSource(devices: devices, seed: 3)
        var acknowledged: [String] = []
        var nextTick: Int64 = 0
        for round in 0..<6 {
            let log = try Log(directory: "/data", fileSystem: disk.mount())
            try prepareTopics(log)
            let input = try log.topic("metronome")
            let ticks = Int(random.next() % 40) + 5
            let cutsBefore = disk.cuts
            // The cut lands at a random write or sync: mid-step, mid-roll, mid-snapshot.
            disk.armPowerCut(
                afterOperations: Int(random.next() % 1500) + 10, keeping: round % 2 == 0 ? .randomParts : .none, seed: random.next())
            let firstTick = nextTick
            nextTick += Int64(ticks)
            let acked = Shared<[String]>([])
            let producing = Shared(true)
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    defer { producing.update { $0 = false } }
                    for tick in firstTick..<(firstTick + Int64(ticks)) {
                        let records = devices.map { source.record(device: $0, index: tick, time: 1_700_000_000_000 + tick * 1000) }
                        guard (try? await input.append(records)) != nil else { return }
                        acked.update { $0 += records.map { String(decoding: $0.value!, as: UTF8.self) } }
                    }
                }
                group.addTask { _ = try? await AppRunner(WienerApp(), limits: Self.limits).run(log) }
                group.addTask { _ = try? await AppRunner(Dice(), limits: Self.limits).run(log) }
                while disk.cuts == cutsBefore && producing.value { await Task.yield() }
                // The producer finished first: the apps have had time to catch up; cut now.
                if disk.cuts == cutsBefore { disk.powerCut(keeping: .randomParts, seed: random.next()) }
                group.cancelAll()
            }
            log.close()
            acknowledged += acked.value
            // Every acknowledged reading survived.
            let reopened = try Log(directory: "/data", fileSystem: disk.mount())
            let stored = Set(try drain(try reopened.topic("metronome")).map { String(decoding: $0.value!, as: UTF8.self) })
            let missing = acknowledged.filter { !stored.contains($0) }
            #expect(missing.isEmpty, "\(missing.count) acknowledged readings lost (seed \(seed), round \(round))")
            reopened.close()
        }

        // A last run without cuts, until both apps have caught up.
        let log = try Log(directory: "/data", fileSystem: disk.mount())
        defer { log.close() }
        try prepareTopics(log)
        let inputs = try log.topic("metronome")
        let readingsPerDevice = Dictionary(grouping: try drain(inputs), by: { String(decoding: $0.key!, as: UTF8.self) })
        let total = readingsPerDevice.values.reduce(0) { $0 + $1.count }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await AppRunner(WienerApp(), limits: Self.limits).run(log) }
            group.addTask { try await AppRunner(Dice(), limits: Self.limits).run(log) }
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                let done = try log.topic("dice").recordCount >= total && log.topic("wiener").recordCount >= total - devices.count
                if done { break }
                try await Task.sleep(for: .milliseconds(5))
            }
            group.cancelAll()
            try await group.waitForAll()
        }

        // Wiener: exactly the crash-free recomputation over the stored readings, per device.
        let app = WienerApp()
        let wiener = Dictionary(grouping: try drain(try log.topic("wiener")), by: { String(decoding: $0.key!, as: UTF8.self) })
        for (device, records) in readingsPerDevice {
            var state: WienerApp.State?
            var expected: [String] = []
            for record in records.sorted(by: { $0.offset < $1.offset }) {
                var context = ProcessingContext(now: 0, timestamp: 0)
                expected += try app.process(try app.decode(record.value!), state: &state, context: &context).map {
                    String(decoding: try app.encode($0), as: UTF8.self)
                }
            }
            let actual = (wiener[device] ?? []).sorted { $0.offset < $1.offset }.map { String(decoding: $0.value!, as: UTF8.self) }
            #expect(actual == expected, "wiener outputs of \(device) differ from a crash-free run (seed \(seed))")
        }
        // Dice: per device, counts 1...n with no gap or repeat, and each sum is the previous sum
        // plus this draw — a chain a replay with new random draws would break.
        let dice = Dictionary(grouping: try drain(try log.topic("dice")), by: { String(decoding: $0.key!, as: UTF8.self) })
        for (device, records) in readingsPerDevice {
            let outcomes = try (dice[device] ?? []).sorted { $0.offset < $1.offset }.map { try FlatJSONObject(parsing: $0.value!) }
            #expect(outcomes.map { $0.number("count")! } == (1...records.count).map(Double.init), "dice counts of \(device) (seed \(seed))")
            var sum = 0.0
            for outcome in outcomes {
                sum += outcome.number("draw")!
                #expect(outcome.number("sum")! == sum, "dice chain of \(device) broken at \(outcome.number("count")!) (seed \(seed))")
                sum = outcome.number("sum")!
            }
        }
        #expect(try log.topic("wiener.dlq").recordCount == 0)
        #expect(try log.topic("dice.dlq").recordCount == 0)
    }
}
