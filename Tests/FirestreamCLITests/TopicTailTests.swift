import FirestreamEmbedded
import FirestreamLog
import FirestreamTesting
import Foundation
import KafkaWire
import Testing

/// `topics tail` streams: each step reads a bounded piece, so a topic of any size prints with
/// bounded memory, and every record comes exactly once, in order.
@Suite struct TopicTailTests {
    @Test func readsInBoundedPiecesAndMissesNothing() async throws {
        let scratch = TemporaryDirectory()
        let log = try Log(directory: scratch.url.path)
        defer { log.close() }
        let topic = try log.createTopic("t", partitions: 2)
        let value = [UInt8](repeating: UInt8(ascii: "v"), count: 1000)
        for batch in 0..<40 {
            _ = try await topic.append((0..<50).map { ProducerRecord(key: Array("k\(batch)-\($0)".utf8), value: value, timestamp: 1) })
        }
        var tail = try TopicTail(topic: topic, partition: nil, start: .beginning)
        var seen: [Int: [Int64]] = [:]
        var pieces = 0
        while case let piece = try tail.next(maxBytes: 64 << 10), !piece.isEmpty {
            pieces += 1
            #expect(
                piece.records.reduce(0) { $0 + ($1.record.value?.count ?? 0) } <= 2 * (64 << 10 + 60_000),
                "one piece per partition, each about maxBytes")
            #expect(piece.skipped.isEmpty)
            for (partition, record) in piece.records { seen[partition, default: []].append(record.offset) }
        }
        #expect(pieces > 10)
        for (partition, offsets) in seen { #expect(offsets == Array(0..<topic.partitions[partition].durableOffset)) }
        #expect(seen.values.reduce(0) { $0 + $1.count } == 2000)
    }

    @Test func recordsRemovedBeforeTheyArePrintedAreNamed() async throws {
        let scratch = TemporaryDirectory()
        let log = try Log(directory: scratch.url.path)
        defer { log.close() }
        let topic = try log.createTopic("t", settings: PartitionSettings(segmentBytes: 300))
        for index in 0..<30 { _ = try await topic.append([ProducerRecord(key: nil, value: Array("r\(index)-padding-padding".utf8), timestamp: 1)]) }
        var tail = try TopicTail(topic: topic, partition: nil, start: .beginning)
        _ = topic.partitions[0].deleteSegments(below: 15)
        let start = topic.partitions[0].startOffset
        let piece = try tail.next()
        #expect(piece.skipped.count == 1)
        #expect(piece.skipped.first?.offsets == 0..<start)
        #expect(piece.records.first?.record.offset == start)
    }
}
