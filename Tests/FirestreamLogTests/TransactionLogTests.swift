import FirestreamTesting
import Foundation
import KafkaWire
import Testing

@testable import FirestreamLog

/// Transactions as the log keeps them: records of open transactions are held back from readers
/// (the last stable offset), markers end them, and aborted records are never read; all of it
/// survives reopening and a power cut once durable.
@Suite struct TransactionLogTests {
    func values(_ partition: PartitionLog, from offset: Int64 = 0) throws -> [String] {
        var reader = PartitionReader(partition, from: offset, whenRemoved: .fail)
        var values: [String] = []
        while case let batch = try reader.poll(), !batch.isEmpty {
            values += batch.records.map { String(decoding: $0.value ?? [], as: UTF8.self) }
        }
        return values
    }

    @Test func openRecordsWaitForTheirMarkerAndAbortedOnesAreNeverRead() async throws {
        let data = TemporaryDirectory()
        let log = try Log(directory: data.path)
        let partition = try log.createTopic("t").partitions[0]
        try await partition.append([ProducerRecord(key: nil, value: Array("plain".utf8), timestamp: 1)])
        var open = transactionalBatch(["t1", "t2"], producerId: 7, sequence: 0)
        let first = try partition.appendBatch(&open)
        try await partition.waitUntilDurable(first.last + 1)
        // Records after an open transaction wait for it too (read_committed order).
        try await partition.append([ProducerRecord(key: nil, value: Array("after".utf8), timestamp: 2)])
        #expect(partition.durableOffset == 4)
        #expect(partition.lastStableOffset == 1)
        #expect(try values(partition) == ["plain"])

        // A reader waiting at the stable end is woken by the commit, not by the open records.
        let woken = Task { await partition.waitForRecord(at: 1) }
        let commit = try partition.appendMarker(.commit, producerId: 7, epoch: 0)
        try await partition.waitUntilDurable(commit.last + 1)
        #expect(await woken.value)
        #expect(partition.lastStableOffset == 5)
        #expect(try values(partition) == ["plain", "t1", "t2", "after"])

        var aborted = transactionalBatch(["x1"], producerId: 7, sequence: 2)
        _ = try partition.appendBatch(&aborted)
        let abort = try partition.appendMarker(.abort, producerId: 7, epoch: 0)
        try await partition.waitUntilDurable(abort.last + 1)
        #expect(try values(partition) == ["plain", "t1", "t2", "after"])
        #expect(try values(partition, from: 5).isEmpty, "a reader inside the aborted transaction passes over it")
        #expect(partition.abortedTransactions(in: 0..<7) == [AbortedTransaction(producerId: 7, firstOffset: 5, lastOffset: 6)])
        #expect(partition.abortedTransactions(in: 0..<5).isEmpty)
        // Kafka clients get the batches as stored (they drop aborted records themselves), up to
        // the stable offset when they read committed.
        #expect(try partition.readBatches(from: 0, committed: true).nextOffset == 7)
    }

    @Test func transactionsSurviveReopeningThroughSnapshotsAndScansAndAPowerCut() async throws {
        let disk = SimulatedDisk()
        var log = try Log(directory: "/data", fileSystem: disk.mount())
        var partition = try log.createTopic("t", settings: PartitionSettings(segmentBytes: 300)).partitions[0]
        // An aborted transaction early on, sealed into old segments (their snapshots carry it),
        // then committed ones, then one left open.
        var sequence: Int32 = 0
        func transaction(_ values: [String], producer: Int64) throws {
            var batch = transactionalBatch(values, producerId: producer, sequence: sequence)
            sequence += Int32(values.count)
            _ = try partition.appendBatch(&batch)
        }
        try transaction(["gone1", "gone2"], producer: 3)
        _ = try partition.appendMarker(.abort, producerId: 3, epoch: 0)
        for round in 0..<6 {
            try transaction(["kept\(round)"], producer: 3)
            _ = try partition.appendMarker(.commit, producerId: 3, epoch: 0)
        }
        sequence = 0
        try transaction(["open"], producer: 9)
        try await partition.waitUntilDurable(partition.endOffset)
        #expect(partition.segmentCount > 2, "the aborted transaction is in a sealed segment")
        let stable = partition.lastStableOffset
        disk.powerCut()

        log = try Log(directory: "/data", fileSystem: disk.mount())
        partition = try log.topic("t").partitions[0]
        #expect(try values(partition) == (0..<6).map { "kept\($0)" })
        #expect(partition.lastStableOffset == stable, "the open transaction still holds readers back")
        #expect(partition.openTransactions.keys.sorted() == [9])
        #expect(partition.abortedTransactions(in: 0..<partition.durableOffset).map(\.producerId) == [3])
        let marker = try partition.appendMarker(.abort, producerId: 9, epoch: 1)
        try await partition.waitUntilDurable(marker.last + 1)
        #expect(partition.lastStableOffset == partition.durableOffset)
        #expect(try values(partition) == (0..<6).map { "kept\($0)" })
        // The marker's newer epoch fences the producer's older one.
        var zombie = transactionalBatch(["late"], producerId: 9, epoch: 0, sequence: 1)
        #expect(throws: LogError.self) { try partition.appendBatch(&zombie) }
    }

    @Test func snapshotsOfEveryFormatReadBack() throws {
        var state = ProducerState()
        var header = try RecordBatch.header(
            transactionalBatch(["a"], producerId: 5, sequence: 0).withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[...]) })
        header.baseOffset = 10
        state.record(header)
        var marker = header
        marker.attributes = 0x30
        marker.baseOffset = 11
        marker.baseSequence = -1
        state.record(marker, marker: .abort)
        header.baseOffset = 12
        header.baseSequence = 1
        state.record(header)
        let copy = try #require(ProducerState(snapshot: state.encoded()))
        #expect(copy == state)
        #expect(copy.firstUnstableOffset == 12)
        #expect(copy.aborted(overlapping: 0..<20) == [AbortedTransaction(producerId: 5, firstOffset: 10, lastOffset: 11)])
        // A snapshot written before transactions were followed: the count first, no marker.
        var old = ByteWriter(capacity: 32)
        old.write(UInt32(1))
        old.write(Int64(5))
        old.write(Int16(0))
        old.write(Int32(4))
        old.write(Int64(20))
        old.write(CRC32C.checksum(old.bytes))
        let earlier = try #require(ProducerState(snapshot: old.bytes))
        #expect(earlier.lastSequence(of: 5) == 4 && earlier.firstUnstableOffset == nil)
    }
}
