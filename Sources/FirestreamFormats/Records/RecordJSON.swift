import FirestreamJSON
public import KafkaWire

/// A stored record as JSON, the same shape everywhere it leaves the process (REST, WebSocket,
/// `topics tail --format json`): `{topic, partition, offset, key, timestamp, value}`. A value that
/// is valid JSON is embedded as JSON; anything else as a string.
public enum RecordJSON {
    public static func render(topic: String, partition: Int, _ record: ConsumerRecord) -> String {
        let value = value(record)
        let key = record.key.map { JSONText.quote(String(decoding: $0, as: UTF8.self)) } ?? "null"
        return
            "{\"topic\":\(JSONText.quote(topic)),\"partition\":\(partition),\"offset\":\(record.offset),\"key\":\(key),\"timestamp\":\(record.timestamp),\"value\":\(value)}"
    }

    /// The record's value as JSON: itself when it is JSON, else a string; `null` when absent.
    public static func value(_ record: ConsumerRecord) -> String {
        guard let bytes = record.value else { return "null" }
        let text = String(decoding: bytes, as: UTF8.self)
        return JSONBytes.isValid(bytes) ? text : JSONText.quote(text)
    }
}
