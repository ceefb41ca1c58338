import FirestreamConfig
import FirestreamDemo
import FirestreamEmbedded
import FirestreamJSON
import FirestreamLog
import FirestreamStreams
import FirestreamTesting
import FirestreamWarehouse
import Foundation
import KafkaWire
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Kills the real `firestream up` with SIGKILL at random moments while the demo runs fast, and
/// checks the results are exactly those of a run that never crashed.
@Suite(.serialized) struct CrashRecoveryTests {
    static func start(_ arguments: [String], in directory: URL) throws -> Process {
        let process = Process()
        process.executableURL = FirestreamProcess.binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    @Test func outputsAreExactlyOnceAcrossRepeatedSIGKILL() async throws {
        let scratch = TemporaryDirectory()
        let data = scratch.url.appendingPathComponent("data").path
        let seed = UInt64(ProcessInfo.processInfo.environment["FIRESTREAM_CRASH_SEED"] ?? "") ?? 20_261_125
        var random = SplitMix64(seed: seed)  // seeded, so a failure can be replayed (the seed is in every message)
        // Tiny snapshot interval: snapshots and journal deletions happen all the time, crashes included.
        let arguments = [
            "up", "--kafka-port", "0", "--no-http", "--rate", "500", "--status-interval", "0", "--snapshot-every", "16Ki", "--data-dir", data,
        ]
        let kills = 15
        for _ in 0..<kills {
            let child = try Self.start(arguments, in: scratch.url)
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...700, using: &random)))
            kill(child.processIdentifier, SIGKILL)
            await child.exited()
            #expect(child.terminationReason == .uncaughtSignal)
        }
        // A last run ends gracefully, once it is running (its signal handler is installed then).
        let last = try RuntimeCommandTests.Running(arguments, in: scratch.url)
        try await last.waitFor("Running.")
        #expect(await last.stop() == 0, "\(last.text)")

        // Restart only the Wiener app, in this process, until it has consumed every reading.
        let log = try Log(directory: data)
        defer { log.close() }
        let readings = try log.topic("metronome").partitions[0]
        let wiener = try log.topic("wiener")
        let devices = 5
        let expectedOutputs = Int(readings.durableOffset) - devices
        #expect(expectedOutputs > 1000, "the demo produced too little to test (seed \(seed))")
        let app = Task { try await AppRunner(WienerApp(), limits: TaskLimits(snapshotEveryBytes: 16 * 1024)).run(log) }
        try await eventually("wiener to catch up with every reading (seed \(seed))") { wiener.recordCount >= expectedOutputs }
        app.cancel()
        try await app.value

        // The crash-free reference, computed from the readings actually stored.
        let model = WienerApp()
        var states: [String: WienerApp.State] = [:]
        var expected: [String: [WienerApp.Point]] = [:]
        var ticks: [Int64: Int] = [:]
        do {
            for record in try drain(readings) {
                let reading = try model.decode(record.value!)
                let object = try FlatJSONObject(parsing: record.value!)
                ticks[Int64(object.number("index")!), default: 0] += 1
                var state = states[reading.deviceID]
                var context = ProcessingContext(now: 0, timestamp: 0)
                expected[reading.deviceID, default: []] += model.process(reading, state: &state, context: &context)
                states[reading.deviceID] = state
            }
        }
        #expect(ticks.values.allSatisfy { $0 == devices }, "a tick is missing readings or has duplicates (seed \(seed))")
        #expect(expected.count == devices)

        var actual: [String: [WienerApp.Point]] = [:]
        var seen: Set<String> = []
        var duplicates = 0
        do {
            for record in try drain(wiener.partitions[0]) {
                let object = try FlatJSONObject(parsing: record.value!)
                let point = WienerApp.Point(
                    deviceID: object.string("device_id")!, eventTime: Int64(object.number("event_time")!),
                    measurement: object.number("measurement")!, increment: object.number("increment")!)
                if !seen.insert("\(point.deviceID)@\(point.eventTime)").inserted { duplicates += 1 }
                actual[point.deviceID, default: []].append(point)
            }
        }
        #expect(duplicates == 0, "wiener holds \(duplicates) duplicate outputs (seed \(seed))")
        #expect(wiener.recordCount == expectedOutputs, "(seed \(seed))")
        let journal = try log.topic("__wiener.journal").partitions[0]
        #expect(journal.startOffset > 0, "snapshots never let the journal shrink (seed \(seed))")
        for (device, points) in expected {
            #expect(actual[device] == points, "device \(device) diverges from the crash-free reference (seed \(seed))")
            #expect(actual[device]?.last?.measurement == points.last?.measurement)
        }
    }

    /// Tables filled by `up` while it is killed again and again hold each record of their topic
    /// exactly once (append) and each key's last record (upsert): what a run without crashes holds.
    @Test func tablesAreExactlyOnceAcrossRepeatedSIGKILL() async throws {
        let scratch = TemporaryDirectory()
        try scratch.write(
            "firestream.json",
            """
            {"name": "crashes", "tables": [
              {"name": "points", "from": "wiener", "columns": {"device_id": {}, "measurement": {"type": "real"}, "event_time": {"type": "integer"}}},
              {"name": "latest", "from": "wiener", "mode": "upsert", "key": "device_id", "columns": {"device_id": {}, "measurement": {"type": "real"}}},
              {"name": "ticks", "from": "metronome", "columns": {"device_id": {}, "index": {"type": "integer"}}}
            ]}
            """)
        let data = scratch.url.appendingPathComponent("data").path
        let seed = UInt64(ProcessInfo.processInfo.environment["FIRESTREAM_CRASH_SEED"] ?? "") ?? 20_261_126
        var random = SplitMix64(seed: seed)
        let arguments = ["up", "--kafka-port", "0", "--no-http", "--rate", "500", "--status-interval", "0", "--data-dir", data]
        for _ in 0..<8 {
            let child = try Self.start(arguments, in: scratch.url)
            try await Task.sleep(for: .milliseconds(Int.random(in: 300...900, using: &random)))
            kill(child.processIdentifier, SIGKILL)
            await child.exited()
            #expect(child.terminationReason == .uncaughtSignal)
        }
        let log = try Log(directory: data)
        defer { log.close() }
        let tablesPath = WarehouseFiles.tables(in: data)
        let engine = SQLiteQueryEngine(log: log, tablesPath: tablesPath)
        func rows(_ sql: String) async throws -> [[SQLValue]] {
            try await engine.query(sql, limits: QueryLimits(maxRows: 1_000_000)) { _ in true }.rows
        }
        let filled = try await rows("SELECT count(*) FROM points")
        #expect(filled != [[.integer(0)]], "up never filled a table before it was killed (seed \(seed))")

        // Catch the tables up with their topics in this process, from where the killed runs left them.
        let store = SQLiteTableStore(path: tablesPath)
        let config = try #require(ConfigLoader.load(scratch.url.appendingPathComponent("firestream.json").path).config)
        let sinks = config.tables.map { TableSink(TableDefinition($0), store: store, report: { _ in }) }
        let storage = EmbeddedStorage(log)
        let running = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for sink in sinks { group.addTask { try await sink.run(storage) } }
                try await group.waitForAll()
            }
        }
        let wienerEnd = try log.topic("wiener").partitions[0].lastStableOffset
        let metronomeEnd = try log.topic("metronome").partitions[0].lastStableOffset
        let caughtUp: [[SQLValue]] = [
            [.text("latest"), .integer(wienerEnd)], [.text("points"), .integer(wienerEnd)], [.text("ticks"), .integer(metronomeEnd)],
        ]
        try await eventually("the tables to reach their topics' ends (seed \(seed))") {
            try await rows("SELECT table_name, next_offset FROM _firestream_offsets ORDER BY 1") == caughtUp
        }
        running.cancel()
        try await running.value

        var expectedPoints: [[SQLValue]] = []
        var latest: [String: Double] = [:]
        for record in try drain(try log.topic("wiener").partitions[0]) {
            let object = try FlatJSONObject(parsing: record.value!)
            let device = object.string("device_id")!
            expectedPoints.append([
                .integer(record.offset), .text(device), .real(object.number("measurement")!), .integer(Int64(object.number("event_time")!)),
            ])
            latest[device] = object.number("measurement")!
        }
        #expect(try await rows("SELECT _offset, device_id, measurement, event_time FROM points ORDER BY _offset") == expectedPoints, "(seed \(seed))")
        #expect(
            try await rows("SELECT device_id, measurement FROM latest ORDER BY 1")
                == latest.sorted { $0.key < $1.key }.map { [.text($0.key), .real($0.value)] })
        let readings = Int64(try drain(try log.topic("metronome").partitions[0]).count)
        #expect(
            try await rows("SELECT count(*), count(DISTINCT _offset) FROM ticks") == [[.integer(readings), .integer(readings)]], "(seed \(seed))")
    }
}
