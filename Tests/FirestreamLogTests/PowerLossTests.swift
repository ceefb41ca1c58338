import FirestreamTesting
import Foundation
import KafkaWire
import Testing

@testable import FirestreamLog

#if canImport(Glibc)
    import Glibc
#endif

/// Power cuts, not only SIGKILL: the simulated disk drops every byte and directory entry that
/// was not synced (or keeps random parts of them), so a missing or misordered fsync shows up as
/// a lost acknowledged record, a gap, or a retried batch wrongly taken for a duplicate.
@Suite struct PowerLossTests {
    /// Small segments so that rolls (and their snapshots) happen all the time.
    static let settings = PartitionSettings(segmentBytes: 700, indexIntervalBytes: 200)

    /// One idempotent producer's batches: each batch is `count` records "p<producer>-<sequence>".
    struct Producer {
        var id: Int64
        var nextSequence: Int32 = 0
        func batch(_ count: Int, at sequence: Int32) -> [UInt8] {
            let records = (0..<count).map { index in
                ProducerRecord(key: nil, value: Array("p\(id)-\(Int(sequence) + index)".utf8), timestamp: 1_700_000_000_000 + Int64(sequence))
            }
            return RecordBatch.encode(records, producerId: id, producerEpoch: 0, baseSequence: sequence)
        }
    }

    @Test(arguments: 0..<24)
    func acknowledgedRecordsSurviveRandomPowerCuts(seed: Int) async throws {
        var random = SplitMix64(seed: UInt64(seed) &+ 0xC0FFEE)
        let disk = SimulatedDisk(syncLatencyMicroseconds: 200)
        var producers = (0..<3).map { Producer(id: Int64(100 + $0)) }
        // Every record ever acknowledged, and every batch ever attempted (acknowledged or not).
        var acknowledged: [String: Int64] = [:]
        var attempted: [(producer: Int, sequence: Int32, count: Int)] = []
        for round in 0..<6 {
            let log = try Log(directory: "/data", fileSystem: disk.mount())
            let partition = try log.ensureTopic("t", settings: Self.settings).partitions[0]
            // First retry what the last round left unacknowledged, with the same sequences: the log
            // must take each either as new (it was lost) or as a duplicate (it survived).
            for pending in attempted
            where !(0..<pending.count).allSatisfy({ acknowledged["p\(producers[pending.producer].id)-\(Int(pending.sequence) + $0)"] != nil }) {
                var bytes = producers[pending.producer].batch(pending.count, at: pending.sequence)
                let appended = try partition.appendBatch(&bytes)
                try await partition.waitUntilDurable(appended.last + 1)
                for index in 0..<pending.count { acknowledged["p\(producers[pending.producer].id)-\(Int(pending.sequence) + index)"] = -1 }
            }
            // Then new batches from all producers at once, and a power cut at a random moment.
            // The cut lands at a random write or sync, wherever the producers are.
            let cutsBefore = disk.cuts
            disk.armPowerCut(afterOperations: Int(random.next() % 300) + 5, keeping: round % 2 == 0 ? .randomParts : .none, seed: random.next())
            let lateSeed = random.next()
            let acks = Shared<[(String, Int64)]>([])
            let finished = Shared(0)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in producers.indices {
                    let start = producers[index].nextSequence
                    let counts = (0..<20).map { _ in Int(random.next() % 4) + 1 }
                    var sequence = start
                    for count in counts {
                        attempted.append((index, sequence, count))
                        sequence = Int32(Int(sequence) + count)
                    }
                    producers[index].nextSequence = sequence
                    let producer = producers[index]
                    group.addTask {
                        defer { finished.update { $0 += 1 } }
                        var sequence = start
                        for count in counts {
                            var bytes = producer.batch(count, at: sequence)
                            guard let appended = try? partition.appendBatch(&bytes), (try? await partition.waitUntilDurable(appended.last + 1)) != nil
                            else { return }
                            acks.update { acks in
                                for index in 0..<count { acks.append(("p\(producer.id)-\(Int(sequence) + index)", appended.first + Int64(index))) }
                            }
                            sequence = Int32(Int(sequence) + count)
                        }
                    }
                }
                let producerCount = producers.count
                group.addTask {
                    while disk.cuts == cutsBefore && finished.value < producerCount { await Task.yield() }
                    if disk.cuts == cutsBefore { disk.powerCut(keeping: .randomParts, seed: lateSeed) }
                }
                try await group.waitForAll()
            }
            for (value, offset) in acks.value { acknowledged[value] = offset }
            log.close()

            // Reboot: every acknowledged record is there, at its offset, once; offsets have no gap.
            let reopened = try Log(directory: "/data", fileSystem: disk.mount())
            let records = try drain(try reopened.topic("t").partitions[0])
            #expect(records.map(\.offset) == Array(0..<Int64(records.count)), "offsets have a gap (seed \(seed), round \(round))")
            var seen: [String: Int64] = [:]
            for record in records {
                #expect(seen.updateValue(record.offset, forKey: text(record)) == nil, "\(text(record)) stored twice (seed \(seed))")
            }
            for (value, offset) in acknowledged {
                #expect(seen[value] != nil, "acknowledged \(value) lost (seed \(seed), round \(round))")
                if offset >= 0, let found = seen[value] { #expect(found == offset, "\(value) moved (seed \(seed))") }
            }
            reopened.close()
        }
        // A last clean round retries everything unacknowledged: then every batch ever attempted is
        // stored exactly once. (A snapshot that claims a lost batch would make its retry a "duplicate".)
        let log = try Log(directory: "/data", fileSystem: disk.mount())
        let partition = try log.topic("t").partitions[0]
        for pending in attempted {
            var bytes = producers[pending.producer].batch(pending.count, at: pending.sequence)
            let appended = try partition.appendBatch(&bytes)
            try await partition.waitUntilDurable(appended.last + 1)
        }
        let values = Set(try drain(partition).map(text))
        let expected = Set(
            attempted.flatMap { pending in (0..<pending.count).map { "p\(producers[pending.producer].id)-\(Int(pending.sequence) + $0)" } })
        #expect(values == expected, "missing: \(expected.subtracting(values).sorted().prefix(5)) (seed \(seed))")
        #expect(try drain(partition).count == expected.count)
        log.close()
    }

    /// A failed fsync (a dying disk): nothing after it is acknowledged, the error says what
    /// failed, and after the power cut the log holds exactly what was acknowledged.
    @Test func aFailedFsyncStopsAcknowledgementsAndRecoveryKeepsWhatWasAcknowledged() async throws {
        let disk = SimulatedDisk()
        let log = try Log(directory: "/data", fileSystem: disk.mount())
        let partition = try log.createTopic("t", settings: Self.settings).partitions[0]
        for index in 0..<8 { try await partition.append([record("acked-\(index)" + String(repeating: ".", count: 60))]) }
        let acked = partition.durableOffset
        disk.inject(.init(.sync, pathContains: ".log", errno: EIO, persistent: true))
        var failures: [LogError] = []
        for index in 0..<30 {
            do {
                try await partition.append([record("lost-\(index)" + String(repeating: ".", count: 60))])
            } catch {
                failures.append(error)
            }
        }
        #expect(failures.count == 30, "nothing after a failed fsync is acknowledged")
        #expect(failures.first?.description.contains("fsync") == true)
        #expect(failures.first?.description.contains("Input/output error") == true)
        #expect(partition.durableOffset == acked)
        disk.powerCut(keeping: .randomParts, seed: 5)
        log.close()
        disk.clearFaults()

        let reopened = try Log(directory: "/data", fileSystem: disk.mount())
        defer { reopened.close() }
        let records = try drain(try reopened.topic("t").partitions[0])
        #expect(records.prefix(Int(acked)).map(text) == (0..<8).map { "acked-\($0)" + String(repeating: ".", count: 60) })
        #expect(records.map(\.offset) == Array(0..<Int64(records.count)))
    }

    /// Written by a log, then damaged as a power cut on a real file system can leave it: the
    /// first segment lost its last batch, but the directory already held the later segments.
    func damagedLog(keepingSnapshot: Bool) async throws -> (SimulatedDisk, lastOfFirstSegment: Int64, end: Int64) {
        let disk = SimulatedDisk()
        let log = try Log(directory: "/data", fileSystem: disk.mount())
        let partition = try log.createTopic("t", settings: Self.settings).partitions[0]
        for index in 0..<20 { try await partition.append([record("r\(index)" + String(repeating: ".", count: 60))]) }
        let end = partition.endOffset
        log.close()
        let mount = disk.mount()
        let directory = "/data/topics/t/0"
        let bases = mount.contentsOfDirectory(directory).filter { $0.hasSuffix(".log") }.sorted()
        #expect(bases.count > 3)
        let first = try mount.open("\(directory)/\(bases[0])", create: false, readOnly: false)
        let bytes = try first.read(at: 0, count: Int(first.size))
        var batches: [(Int64, Int)] = []
        bytes.withUnsafeBytes { raw in
            var walker = RecordBatchWalker(raw)
            while case .batch(let header, let range) = walker.next() { batches.append((header.baseOffset, range.lowerBound)) }
        }
        try first.truncate(to: Int64(batches[batches.count - 1].1))
        try first.sync()
        if !keepingSnapshot { try mount.unlink("\(directory)/\(bases[1].dropLast(4)).snapshot") }
        try mount.syncDirectory(directory)
        return (disk, batches[batches.count - 1].0, end)
    }

    @Test func aSealedSegmentNotKnownCompleteIsCutWithEverythingAfterIt() async throws {
        let (disk, lost, _) = try await damagedLog(keepingSnapshot: false)
        let log = try Log(directory: "/data", fileSystem: disk.mount())
        defer { log.close() }
        let partition = try log.topic("t").partitions[0]
        #expect(log.recoveryNotes.contains { $0.reason.contains("later segment(s) removed") })
        #expect(partition.endOffset == lost)
        #expect(partition.segmentCount == 1)
        #expect(try drain(partition).map(\.offset) == Array(0..<lost))
        #expect(try await partition.append([record("after")]) == lost)
    }

    /// A sealed segment known complete (the next segment's snapshot vouches for it) that lost
    /// data was damaged after it was synced: it is kept, and reads of the missing offsets fail
    /// instead of skipping them.
    @Test func aKnownCompleteSealedSegmentWithMissingOffsetsRefusesToSkipThem() async throws {
        let (disk, lost, end) = try await damagedLog(keepingSnapshot: true)
        let log = try Log(directory: "/data", fileSystem: disk.mount())
        defer { log.close() }
        let partition = try log.topic("t").partitions[0]
        #expect(log.recoveryNotes.contains { $0.reason.contains("kept in place") })
        #expect(partition.endOffset == end)
        #expect(throws: LogError.self) { try partition.read(from: lost) }
        #expect(try partition.read(from: lost - 1).records.first?.offset == lost - 1)
        #expect(try partition.read(from: lost + 1).records.first?.offset == lost + 1)
    }

    @Test func aFullDiskRefusesTheAppendClearlyAndKeepsWhatWasAcknowledged() async throws {
        let disk = SimulatedDisk()
        let log = try Log(directory: "/data", fileSystem: disk.mount())
        let partition = try log.createTopic("t").partitions[0]
        try await partition.append([record("kept")])
        disk.inject(.init(.write, pathContains: "/t/0/", errno: ENOSPC))
        await #expect(throws: LogError.io(path: "/data/topics/t/0/00000000000000000000.log", operation: "write", errno: ENOSPC)) {
            try await partition.append([record("refused")])
        }
        #expect(LogError.io(path: "x", operation: "write", errno: ENOSPC).description == "write x failed: No space left on device (errno 28)")
        // The disk has room again: the partition goes on, and the refused record never appears.
        try await partition.append([record("next")])
        disk.powerCut()
        log.close()
        let reopened = try Log(directory: "/data", fileSystem: disk.mount())
        defer { reopened.close() }
        #expect(try drain(try reopened.topic("t").partitions[0]).map(text) == ["kept", "next"])
    }

    /// Base offsets are outside the CRC: a damaged one is refused on read and on recovery,
    /// instead of serving records under the wrong offsets.
    @Test func aDamagedBaseOffsetIsRefusedNotServed() async throws {
        let disk = SimulatedDisk()
        let log = try Log(directory: "/data", fileSystem: disk.mount())
        let partition = try log.createTopic("t", settings: Self.settings).partitions[0]
        for index in 0..<20 { try await partition.append([record("r\(index)" + String(repeating: ".", count: 60))]) }
        #expect(partition.segmentCount > 2)
        let end = partition.endOffset
        log.close()
        // Rewrite the base offset of the second batch of the first (sealed) and of the last
        // (active) segment; the CRC still matches.
        let mount = disk.mount()
        let directory = "/data/topics/t/0"
        let logs = mount.contentsOfDirectory(directory).filter { $0.hasSuffix(".log") }.sorted()
        for name in [logs[0], logs[logs.count - 1]] {
            let file = try mount.open("\(directory)/\(name)", create: false, readOnly: false)
            let first = try file.read(at: 0, count: Int(file.size))
            let second = first.withUnsafeBytes { raw in (try? RecordBatch.header(raw))?.totalSize ?? 0 }
            var wrong = ByteWriter(capacity: 8)
            wrong.write(Int64(1_000))
            try file.write(wrong.bytes, at: Int64(second))
            try file.sync()
        }
        let activeBase = Int64(logs[logs.count - 1].dropLast(4))!

        let reopened = try Log(directory: "/data", fileSystem: disk.mount())
        defer { reopened.close() }
        let damaged = try reopened.topic("t").partitions[0]
        // Recovery cut the active segment at the damaged batch.
        #expect(reopened.recoveryNotes.contains { $0.reason.contains("batch base offset 1000, expected \(activeBase + 1)") })
        #expect(damaged.endOffset == activeBase + 1)
        #expect(end > damaged.endOffset)
        // The sealed one keeps it in place, and reads refuse it.
        #expect(try damaged.read(from: 0).records.map(\.offset) == [0])
        #expect(throws: LogError.self) { try damaged.read(from: 1) }
        #expect(try damaged.read(from: activeBase).records.map(\.offset) == [activeBase])
    }

    /// New and removed files are made durable in their directory: a topic created, and segments
    /// deleted by retention, stay that way across a power cut.
    @Test func directoryEntriesAreSynced() async throws {
        let disk = SimulatedDisk()
        let clock = TestClockForPowerLoss()
        let log = try Log(directory: "/data", fileSystem: disk.mount(), clock: clock.read)
        let settings = PartitionSettings(segmentBytes: 700, retentionMilliseconds: 1000)
        let partition = try log.createTopic("t", partitions: 2, settings: settings).partitions[0]
        for index in 0..<20 { try await partition.append([record("r\(index)" + String(repeating: ".", count: 60), at: clock.read())]) }
        clock.advance(5000)
        #expect(log.enforceRetention() > 0)
        let start = partition.startOffset
        log.close()
        disk.powerCut(keeping: .none)
        let reopened = try Log(directory: "/data", fileSystem: disk.mount())
        defer { reopened.close() }
        #expect(reopened.topicNames == ["t"])
        #expect(try reopened.topic("t").partitions.count == 2)
        #expect(try reopened.topic("t").partitions[0].startOffset == start)
    }
}

final class TestClockForPowerLoss: Sendable {
    private let now = Locked<Int64>(1_700_000_000_000)
    var read: @Sendable () -> Int64 { { [self] in now.withLock { $0 } } }
    func advance(_ milliseconds: Int64) { now.withLock { $0 += milliseconds } }
}
