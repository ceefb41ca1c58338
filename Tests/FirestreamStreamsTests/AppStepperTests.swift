import FirestreamLog
import FirestreamStreams
import Foundation
import KafkaWire
import Testing

/// The step function workers on a Kafka cluster run: what a step changes, and a restored stepper
/// carrying on where another stopped.
@Suite struct AppStepperTests {
    typealias IdleDetector = StreamRuntimeTests.IdleDetector

    func click(_ user: String, at offset: Int64) -> ConsumerRecord {
        ConsumerRecord(offset: offset, timestamp: 1, key: nil, value: Array("{\"user\":\"\(user)\"}".utf8))
    }

    @Test func aStepReportsPositionsStatesTimersAndOutputsAndARestoredStepperCarriesOn() throws {
        let now = Locked<Int64>(1_000)
        var stepper = AppStepper(IdleDetector(), partition: 0, inputNext: [0], outputPartitions: 2, clock: { now.withLock { $0 } })
        let first = try #require(try stepper.step([[click("ann", at: 0), click("bob", at: 1), click("ann", at: 2)]]))
        #expect(first.inputNext == [3])
        #expect(first.states.map(\.key).sorted() == ["ann", "bob"])
        #expect(first.states.first { $0.key == "ann" }?.value.map { String(decoding: $0, as: UTF8.self) } == #"{"events":2}"#)
        #expect(first.timers.map(\.deadline) == [1_150, 1_150])
        #expect(first.outputs.isEmpty)
        #expect(try stepper.step([[click("ann", at: 1)]]) == nil, "records before the position are dropped")

        // The state and timer of ann, as a changelog would give them to the next owner.
        var next = AppStepper(IdleDetector(), partition: 0, inputNext: [3], outputPartitions: 2, clock: { now.withLock { $0 } })
        try next.restore(key: "ann", state: Array(#"{"events":2}"#.utf8), timer: 1_150)
        #expect(next.nextTimer == 1_150 && next.stateCount == 1)
        now.withLock { $0 = 1_200 }
        let fired = try #require(try next.step([[]]))
        #expect(fired.outputs.count == 1)
        let report = try JSONDecoder().decode(IdleDetector.Report.self, from: Data(fired.outputs[0].records[0].value ?? []))
        #expect(report == IdleDetector.Report(user: "ann", events: 2))
        #expect(
            fired.outputs[0].partition == Int(Murmur2.partition(for: Array("ann".utf8), partitions: 2)), "partitioned by key as Kafka's clients do")
        #expect(fired.states.map(\.key) == ["ann"] && fired.states[0].value == nil, "the timeout removed the state")
        #expect(fired.timers.map(\.deadline) == [nil])

        #expect(throws: RuntimeError.self) { try next.step([[], []]) }
        #expect(throws: (any Error).self) { try next.restore(key: "eve", state: Array("not json".utf8), timer: nil) }
    }
}
