public import KafkaWire

extension ProducerRecord {
    /// A record that could not be handled, for a dead-letter topic: its key, value, headers and
    /// timestamp, plus `firestream.error` (why) and `firestream.source` (`topic/partition/offset`).
    public static func deadLetter(of record: ConsumerRecord, topic: String, partition: Int, reason: String) -> ProducerRecord {
        ProducerRecord(
            key: record.key, value: record.value,
            headers: record.headers + [
                RecordHeader(key: "firestream.error", value: Array(reason.utf8)),
                RecordHeader(key: "firestream.source", value: Array("\(topic)/\(partition)/\(record.offset)".utf8)),
            ],
            timestamp: record.timestamp)
    }
}
