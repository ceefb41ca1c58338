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
}
