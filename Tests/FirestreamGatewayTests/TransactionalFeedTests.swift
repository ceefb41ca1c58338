import FirestreamLog
import FirestreamTesting
import Foundation
import KafkaWire
import Testing

@testable import FirestreamGateway

/// Topics written in Kafka transactions: markers and aborted records take offsets that readers
/// never see, so a feed's records do not follow each other. Subscribers still get each committed
/// record once, in order, whether they read the feed live or catch up behind it.
@Suite struct TransactionalFeedTests {
    /// Appends `rounds` transactions of three records: committed, except every third, aborted.
    /// Returns the values readers must see.
    static func transactions(_ partition: PartitionLog, rounds: Range<Int>, producer: Int64 = 9) async throws -> [String] {
        var committed: [String] = []
        for round in rounds {
            let values = (0..<3).map { "{\"n\":\(round * 3 + $0)}" }
            var batch = transactionalBatch(values, producerId: producer, sequence: Int32(round * 3))
            _ = try partition.appendBatch(&batch)
            let aborts = round % 3 == 2
            let marker = try partition.appendMarker(aborts ? .abort : .commit, producerId: producer, epoch: 0)
            try await partition.waitUntilDurable(marker.last + 1)
            if !aborts { committed += values }
        }
        return committed
    }

    @Test func subscribersGetEachCommittedRecordOnceLiveAndCatchingUp() async throws {
        let gateway = try await LiveGateway()
        defer { Task { await gateway.stop() } }
        let partition = try gateway.log.createTopic("t").partitions[0]
        let history = try await Self.transactions(partition, rounds: 0..<30)
        // One client follows live while more transactions arrive; one replays everything after.
        let live = Received()
        // Rounds 30..<60: twenty committed transactions of three records.
        let following = Task { try await gateway.subscribe("/ws/topics/t?from=latest", into: live) { $0.recordCount >= 60 } }
        try await eventually("the live client to subscribe") { !live.notices.isEmpty }
        let more = try await Self.transactions(partition, rounds: 30..<60)
        try await following.value
        let everything = try await gateway.subscribe("/ws/topics/t?from=earliest") { $0.recordCount >= history.count + more.count }

        func values(_ received: Received) -> [String] {
            received.records.map { record in
                let value = try! JSONSerialization.data(withJSONObject: record["value"]!)
                return String(decoding: value, as: UTF8.self)
            }
        }
        #expect(values(live) == more)
        #expect(values(everything) == history + more)
        let offsets = everything.offsets
        #expect(offsets == offsets.sorted() && Set(offsets).count == offsets.count)
    }
}
