import FirestreamDemo
import FirestreamJSON
import FirestreamLog
import FirestreamTesting
import Foundation
import KafkaWire
import Testing

@testable import FirestreamStreams

/// No record stops an app: whatever fails goes to the dead-letter topic, and the rest goes on as
/// if the failing record had never arrived.
@Suite struct DeadLetterTests {
    /// What crash-looped the demo: readings whose numbers do not fit.
    @Test func hostileReadingsAreDeadLettersAndTheDemoGoesOn() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let input = try log.createTopic("metronome")
        let hostile = [
            #"{"device_id":"d","event_time":1e300,"index":0,"magnitude":0.5,"direction":1}"#,
            #"{"device_id":"d","event_time":-9.3e18,"index":0,"magnitude":0.5,"direction":1}"#,
            #"{"device_id":"d","event_time":1.5,"index":0,"magnitude":0.5,"direction":1}"#,
            #"{"device_id":"d","event_time":1000,"index":0,"magnitude":1e300,"direction":1}"#,
            #"{"device_id":"d","event_time":1000,"index":0,"magnitude":-1,"direction":1}"#,
            #"{"device_id":"d","event_time":1000,"index":0,"magnitude":0.5,"direction":7}"#,
        ].map { ProducerRecord(key: Array("d".utf8), value: Array($0.utf8), timestamp: 1) }
        _ = try await input.append(hostile + readings(devices: ["d"], ticks: 0..<3))
        try await run(AppRunner(WienerApp()), on: log, until: "wiener", reaches: 2)
        #expect(try log.topic("wiener").recordCount == 2)
        let dead = try drain(try log.topic("wiener.dlq")).map { try FlatJSONObject(parsing: $0.value!) }
        #expect(dead.map { $0.number("offset") } == [0, 1, 2, 3, 4, 5])
        #expect(dead.allSatisfy { $0.string("error")?.hasPrefix("cannot decode:") == true })
        #expect(dead[0].string("error")?.contains("event_time") == true)
        #expect(dead[3].string("error")?.contains("magnitude") == true)
    }

    /// A ledger that fails on purpose, in every way an app can fail.
    struct Ledger: StreamApp {
        struct Entry: Codable, Sendable {
            var account: String
            var amount: Double
            /// "process", "output", "state" or "timeout": where to fail.
            var fail: String?
        }
        struct Balance: Sendable, Equatable {
            var account: String
            var total: Double
            var unencodable = false
        }
        struct State: Codable, Sendable { var total: Double }
        struct Refused: Error, CustomStringConvertible { var description: String }

        let name = "ledger"
        let inputTopics = ["entries"]
        let outputTopic = "balances"

        func key(for input: Entry) -> String? { input.account }
        func key(for output: Balance) -> String? { output.account }

        func encode(_ output: Balance) throws -> [UInt8] {
            if output.unencodable { throw Refused(description: "this balance cannot be written") }
            return Array("{\"account\":\"\(output.account)\",\"total\":\(output.total)}".utf8)
        }

        func process(_ input: Entry, state: inout State?, context: inout ProcessingContext) throws -> [Balance] {
            if input.fail == "process" { throw Refused(description: "entry refused") }
            let total = (state?.total ?? 0) + input.amount
            // NaN has no JSON form: the state cannot be journaled.
            state = State(total: input.fail == "state" ? .nan : total)
            if input.fail == "timeout" { context.setTimeout(afterMilliseconds: 0) }
            return [Balance(account: input.account, total: total, unencodable: input.fail == "output")]
        }

        func timedOut(key: String, state: inout State?, context: inout ProcessingContext) throws -> [Balance] {
            throw Refused(description: "the timeout of \(key) failed")
        }
    }

    @Test func failuresOfEveryKindAreDeadLettersAndLeaveTheStateAlone() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let entries = try log.createTopic("entries")
        let rows: [(String, Double, String?)] = [
            ("a", 1, nil), ("a", 10, "process"), ("a", 2, nil), ("a", 100, "output"), ("a", 4, nil), ("b", 1, nil),
            ("b", 1000, "state"), ("b", 2, nil), ("c", 5, "timeout"), ("a", 8, nil),
        ]
        _ = try await entries.append(
            rows.map { account, amount, fail in
                let failure = fail.map { ",\"fail\":\"\($0)\"" } ?? ""
                return ProducerRecord(key: nil, value: Array("{\"account\":\"\(account)\",\"amount\":\(amount)\(failure)}".utf8), timestamp: 1)
            })
        // One record per step and many per step must give the same result.
        for (run, limits) in [TaskLimits(maxRecordsPerStep: 1), TaskLimits()].enumerated() {
            let prefix = "run\(run)"
            let renamed = RenamedLedger(base: Ledger(), name: "ledger-\(prefix)", output: "balances-\(prefix)")
            try await FirestreamStreamsTests.run(AppRunner(renamed, limits: limits), on: log, until: "ledger-\(prefix).dlq", reaches: 4)
            let balances = try drain(try log.topic("balances-\(prefix)")).map { String(decoding: $0.value!, as: UTF8.self) }
            // a: 1, (10 refused), 3, (100 unencodable), 7, 15; b: 1, (1000: NaN state), 3; c: 5.
            #expect(
                balances.sorted()
                    == [
                        #"{"account":"a","total":1.0}"#, #"{"account":"a","total":15.0}"#, #"{"account":"a","total":3.0}"#,
                        #"{"account":"a","total":7.0}"#, #"{"account":"b","total":1.0}"#, #"{"account":"b","total":3.0}"#,
                        #"{"account":"c","total":5.0}"#,
                    ].sorted(), "\(limits.maxRecordsPerStep) records per step")
            let dead = try drain(try log.topic("ledger-\(prefix).dlq")).map { try FlatJSONObject(parsing: $0.value!) }
            #expect(dead.count == 4)
            #expect(Set(dead.compactMap { $0.number("offset") }) == [1, 3, 6])
            #expect(dead.contains { $0.string("error") == "entry refused" })
            #expect(dead.contains { $0.string("error")?.hasPrefix("cannot encode an output:") == true })
            #expect(dead.contains { $0.string("error")?.hasPrefix("cannot encode the new state of key \"b\"") == true })
            #expect(dead.contains { $0.string("timeout") == "c" && $0.string("error") == "the timeout of c failed" })
        }
    }

    /// The same ledger under another name, so both runs share one log.
    struct RenamedLedger: StreamApp {
        let base: Ledger
        let name: String
        let output: String
        var inputTopics: [String] { base.inputTopics }
        var outputTopic: String { output }
        func decode(_ value: [UInt8]) throws -> Ledger.Entry { try base.decode(value) }
        func encode(_ output: Ledger.Balance) throws -> [UInt8] { try base.encode(output) }
        func key(for input: Ledger.Entry) -> String? { base.key(for: input) }
        func key(for output: Ledger.Balance) -> String? { base.key(for: output) }
        func process(_ input: Ledger.Entry, state: inout Ledger.State?, context: inout ProcessingContext) throws -> [Ledger.Balance] {
            try base.process(input, state: &state, context: &context)
        }
        func timedOut(key: String, state: inout Ledger.State?, context: inout ProcessingContext) throws -> [Ledger.Balance] {
            try base.timedOut(key: key, state: &state, context: &context)
        }
    }

    /// A record in the journal that is not a step (written by something else) stops the app with
    /// the place and keeps everything: it never advises throwing data away.
    @Test func anUnreadableJournalStopsTheAppAndKeepsEverything() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let input = try log.createTopic("metronome")
        _ = try await input.append(readings(devices: ["d"], ticks: 0..<5))
        try await run(AppRunner(WienerApp()), on: log, until: "wiener", reaches: 4)
        let journal = try log.topic("__wiener.journal").partitions[0]
        let foreign = try await journal.append([ProducerRecord(key: nil, value: Array("{}".utf8), timestamp: 1)])
        let before = (journal.durableOffset, try log.topic("wiener").recordCount)
        do {
            try await AppRunner(WienerApp()).run(log)
            Issue.record("the app ran on an unreadable journal")
        } catch {
            let message = "\(error)"
            #expect(message.contains("__wiener.journal/0 holds a record at offset \(foreign) that is not a journal step"))
            #expect(message.contains("kept exactly as they are"))
            #expect(!message.contains("aside") && !message.contains("delete") && !message.contains("afresh"))
        }
        #expect(journal.durableOffset == before.0)
        #expect(try log.topic("wiener").recordCount == before.1)
    }

    /// The metronome resumes from the last record it wrote itself; a hostile record appended
    /// after it (huge index, absurd time) is ignored instead of trapping at start.
    @Test func theMetronomeResumesFromItsOwnLastTickOnly() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        defer { log.close() }
        let ids = MetronomeSource.deviceIDs(count: 2, seed: 7)
        try await run(MetronomeSource(devices: ids, ticksPerSecond: 200, seed: 7), on: log, until: "metronome", reaches: 20)
        let topic = try log.topic("metronome")
        let lastIndex = try drain(topic).compactMap { try FlatJSONObject(parsing: $0.value!).number("index") }.max()!
        _ = try await topic.append([
            ProducerRecord(
                key: nil, value: Array(#"{"device_id":"x","event_time":1e300,"index":9.2e18,"magnitude":1,"direction":1}"#.utf8), timestamp: 1)
        ])
        let before = topic.recordCount
        try await run(MetronomeSource(devices: ids, ticksPerSecond: 200, seed: 7), on: log, until: "metronome", reaches: Int(before) + 10)
        let resumed = try drain(topic).filter { $0.offset >= before }.map { try FlatJSONObject(parsing: $0.value!) }
        #expect(!resumed.isEmpty)
        #expect(resumed.first?.number("index") == lastIndex + 1)
        #expect(resumed.allSatisfy { ($0.number("event_time") ?? 0) < 1e15 })
    }
}
