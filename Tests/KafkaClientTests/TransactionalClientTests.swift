import FirestreamLog
import FirestreamTesting
import KafkaClient
import KafkaWire
import Testing

/// librdkafka's transactional producer (Debian's 2.0.2) against Firestream's broker, through
/// the Swift client: consume, transform, produce, with the input offsets in the transaction.
@Suite struct TransactionalClientTests {
    func values(_ log: Log, _ topic: String) throws -> [String] {
        try log.topic(topic).partitions[0].read(from: 0).records.map { String(decoding: $0.value ?? [], as: UTF8.self) }
    }

    @Test func outputsAndInputOffsetsCommitTogetherAbortsLeaveNothingAndANewInstanceFencesTheOld() async throws {
        try await withBroker { bootstrap, log in
            let input = try log.createTopic("in").partitions[0]
            _ = try log.createTopic("out")
            try await input.append(["a", "b", "c"].map { ProducerRecord(key: nil, value: Array($0.utf8), timestamp: 1) })

            let consumer = try KafkaConsumerClient(
                settings: ["bootstrap.servers": bootstrap, "group.id": "mover", "isolation.level": "read_committed"], buffered: 10)
            defer { consumer.close() }
            try consumer.assign("in", partitions: [0])
            let producer = try KafkaProducerClient(settings: ["bootstrap.servers": bootstrap, "transactional.id": "mover-0"])
            defer { producer.close() }
            try await producer.initTransactions()

            var read: [KafkaConsumerClient.Record] = []
            for try await record in consumer.records {
                read.append(record)
                if read.count == 3 { break }
            }
            try producer.beginTransaction()
            for record in read {
                _ = try await producer.send(record.value.map { Array(String(decoding: $0, as: UTF8.self).uppercased().utf8) }, to: "out")
            }
            #expect(try values(log, "out").isEmpty, "nothing is visible before the commit")
            try await producer.sendOffsets([("in", 0, read.last!.offset + 1)], consumer: consumer)
            try await producer.commitTransaction()
            #expect(try values(log, "out") == ["A", "B", "C"])
            #expect(log.consumerOffsets.committed(group: "mover", topic: "in", partition: 0) == 3)

            try producer.beginTransaction()
            _ = try await producer.send(Array("dropped".utf8), to: "out")
            try await producer.abortTransaction()
            #expect(try values(log, "out") == ["A", "B", "C"])

            let successor = try KafkaProducerClient(settings: ["bootstrap.servers": bootstrap, "transactional.id": "mover-0"])
            defer { successor.close() }
            try await successor.initTransactions()
            await #expect(throws: (any Error).self) {
                try producer.beginTransaction()
                _ = try await producer.send(Array("zombie".utf8), to: "out")
                try await producer.commitTransaction()
            }
            try successor.beginTransaction()
            _ = try await successor.send(Array("D".utf8), to: "out")
            try await successor.commitTransaction()
            #expect(try values(log, "out") == ["A", "B", "C", "D"])
        }
    }
}
