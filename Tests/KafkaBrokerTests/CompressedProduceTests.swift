import FirestreamLog
import KafkaProtocol
import KafkaWire
import Testing

@testable import KafkaBroker

@Suite struct CompressedProduceTests {
    let values = (0..<20).map { "value-\($0)-" + String(repeating: "z", count: $0 * 5) }

    func records() -> [ProducerRecord] { values.map { ProducerRecord(key: nil, value: Array($0.utf8), timestamp: 1_700_000_000_000) } }

    @Test func compressedBatchesAreCheckedThenStoredAsSentAndReadByTheLog() async throws {
        var harness = try BrokerHarness()
        defer { harness.log.close() }
        let topic = try harness.log.createTopic("zipped")
        var sent: [[UInt8]] = []
        for codec in [CompressionCodec.gzip, .snappy, .lz4, .zstd] {
            let batch = try RecordBatch.encode(records(), compression: codec)
            sent.append(batch)
            let answer = try await harness.send(produceRequest("zipped", batch), version: 9, expecting: ProduceResponse.self)
            #expect(answer.responses.first?.partitionResponses.first?.errorCode == 0, "\(codec.name)")
        }
        // The log hands out the batches as they came (only the base offset differs) and decodes them.
        let stored = try topic.partitions[0].readBatches(from: 0, maxBytes: 1 << 20).bytes
        #expect(stored.count == sent.reduce(0) { $0 + $1.count })
        #expect(Array(stored[8...]).starts(with: sent[0][8...]))
        let read = try topic.partitions[0].read(from: 0).records
        #expect(read.map { String(decoding: $0.value ?? [], as: UTF8.self) } == values + values + values + values)
        #expect(read.map(\.offset) == Array(0..<80))

        // zstd needs Produce v7 (as in Kafka); a batch that does not decompress is refused whole.
        let zstd = try RecordBatch.encode(records(), compression: .zstd)
        let old = try await harness.send(produceRequest("zipped", zstd), version: 6, expecting: ProduceResponse.self)
        #expect(old.responses.first?.partitionResponses.first?.errorCode == ErrorCode.unsupportedCompressionType.code)
        var damaged = try RecordBatch.encode(records(), compression: .lz4)
        for index in stride(from: RecordBatchHeader.size + 10, to: damaged.count, by: 7) { damaged[index] ^= 0xFF }
        var writer = ByteWriter(capacity: 0)
        writer.bytes = damaged
        writer.patch(damaged.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.attributesOffset...])) }, at: 17)
        let refused = try await harness.send(produceRequest("zipped", writer.bytes), version: 9, expecting: ProduceResponse.self)
        #expect(refused.responses.first?.partitionResponses.first?.errorCode == ErrorCode.corruptMessage.code)
        #expect(topic.partitions[0].durableOffset == 80)
    }

    @Test func oldProduceVersionsTakeRecordBatchesButNotMessageSets() async throws {
        var harness = try BrokerHarness()
        defer { harness.log.close() }
        _ = try harness.log.createTopic("old")
        let v2 = try await harness.send(
            produceRequest("old", try RecordBatch.encode(records(), compression: .gzip)), version: 2, expecting: ProduceResponse.self)
        #expect(v2.responses.first?.partitionResponses.first?.errorCode == 0)
        // A message set v1 (what clients before Kafka 0.11 send): offset, size, crc, magic 1, ….
        var messageSet: [UInt8] =
            Array(repeating: 0, count: 16) + [1, 0] + Array(repeating: 0, count: 8) + [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1, 0x61]
        messageSet[11] = UInt8(messageSet.count - 12)
        let refused = try await harness.send(produceRequest("old", messageSet), version: 1, expecting: ProduceResponse.self)
        #expect(refused.responses.first?.partitionResponses.first?.errorCode == ErrorCode.unsupportedForMessageFormat.code)
        #expect(harness.log.topicIfExists("old")?.partitions[0].durableOffset == 20)
    }

    /// A megabyte of zstd can hold far more records than a client queues: a fetch answers at
    /// most 16,384 records per partition (whole batches; the first one always), in order.
    @Test func fetchesOfVeryCompressibleBatchesAreAnsweredInPiecesAClientCanQueue() async throws {
        var harness = try BrokerHarness()
        defer { harness.log.close() }
        let partition = try harness.log.createTopic("dense").partitions[0]
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: 1024)
        for _ in 0..<3 {
            let batch = try RecordBatch.encode(
                (0..<10_000).map { _ in ProducerRecord(key: nil, value: value, timestamp: 1_700_000_000_000) }, compression: .zstd)
            #expect(batch.count < 100_000, "10 MB of records in \(batch.count) bytes")
            let produced = try await harness.send(produceRequest("dense", batch), version: 9, expecting: ProduceResponse.self)
            #expect(produced.responses.first?.partitionResponses.first?.errorCode == 0)
        }
        #expect(partition.durableOffset == 30_000)
        var offsets: [Int64] = []
        var next: Int64 = 0
        while next < 30_000, offsets.count < 5 {
            var fetch = FetchRequest()
            fetch.maxBytes = 50 << 20
            var topic = FetchRequest.FetchTopic()
            topic.topic = "dense"
            var wanted = FetchRequest.FetchPartition()
            wanted.fetchOffset = next
            wanted.partitionMaxBytes = 1 << 20
            topic.partitions = [wanted]
            fetch.topics = [topic]
            let answer = try await harness.send(fetch, version: 11, expecting: FetchResponse.self)
            let records = answer.responses.first?.partitions.first?.records ?? []
            let bases = records.withUnsafeBytes { raw in
                var walker = RecordBatchWalker(raw)
                var bases: [Int64] = []
                while case .batch(let header, _) = walker.next() { bases.append(header.baseOffset) }
                return bases
            }
            #expect(bases == [next], "one batch of 10,000 per answer: two would pass 16,384 records")
            offsets += bases
            next += 10_000
        }
        #expect(offsets == [0, 10_000, 20_000])
    }
}
