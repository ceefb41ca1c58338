import FirestreamJSON

/// Every topic and declared table, with what is known about each: its shape (declared, or
/// inferred from recent records), size, freshness, and who writes and reads it.
public struct Catalog: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        public var name: String
        /// SQLite's names for JSON values (`integer`, `real`, `text`, `true`/`false` as
        /// `boolean`, `object`, `array`, `null`), or a declared column's type; several when
        /// sampled records disagree.
        public var types: [String]
        public var pointer: String?
    }

    public struct Topic: Sendable, Equatable {
        public var name: String
        public var partitions: Int
        public var records: Int64
        public var bytes: Int64
        public var retentionMilliseconds: Int64?
        public var retentionBytes: Int64?
        /// The JSON pointer keying ingested records, from the config.
        public var key: String?
        /// The newest record's timestamp (milliseconds since the epoch).
        public var lastRecordAt: Int64?
        /// Top-level fields of the JSON objects among the sampled records (inferred, never declared).
        public var fields: [Field]
        public var sampled: Int
        /// What writes the topic and what reads it: `app "wiener"`, `table "wiener_latest"`….
        public var writers: [String]
        public var readers: [String]
    }

    public struct Table: Sendable, Equatable {
        public var name: String
        public var from: String
        public var mode: String
        public var key: [String]
        public var columns: [Field]
        /// Nil when the table is not created yet (before `up` first runs it).
        public var rows: Int64?
        public var lastRecordAt: Int64?
        public var retentionMilliseconds: Int64?
        public var deadLetter: String
        public var engine: String
    }

    public var topics: [Topic]
    public var tables: [Table]

    /// `GET /catalog` and `firestream catalog --format json`.
    public var json: String {
        let topics = topics.map { topic -> String in
            let members: [(String, String)] = [
                ("name", JSONText.quote(topic.name)), ("kind", "\"topic\""), ("partitions", String(topic.partitions)),
                ("records", String(topic.records)),
                ("bytes", String(topic.bytes)), ("retentionMs", number(topic.retentionMilliseconds)),
                ("retentionBytes", number(topic.retentionBytes)),
                ("key", topic.key.map(JSONText.quote) ?? "null"), ("lastRecordAt", number(topic.lastRecordAt)),
                ("schema", "{\"source\":\"inferred\",\"sampledRecords\":\(topic.sampled),\"fields\":\(fields(topic.fields))}"),
                ("writers", strings(topic.writers)), ("readers", strings(topic.readers)),
            ]
            return object(members)
        }
        let tables = tables.map { table -> String in
            object([
                ("name", JSONText.quote(table.name)), ("kind", "\"table\""), ("engine", JSONText.quote(table.engine)),
                ("from", JSONText.quote(table.from)),
                ("mode", JSONText.quote(table.mode)), ("key", strings(table.key)),
                ("schema", "{\"source\":\"declared\",\"fields\":\(fields(table.columns))}"), ("rows", number(table.rows)),
                ("lastRecordAt", number(table.lastRecordAt)), ("retentionMs", number(table.retentionMilliseconds)),
                ("deadLetter", JSONText.quote(table.deadLetter)),
            ])
        }
        return "{\"topics\":[\(topics.joined(separator: ","))],\"tables\":[\(tables.joined(separator: ","))]}\n"
    }

    private func object(_ members: [(String, String)]) -> String {
        "{" + members.map { "\(JSONText.quote($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    private func number(_ value: Int64?) -> String { value.map(String.init) ?? "null" }
    private func strings(_ values: [String]) -> String { "[" + values.map(JSONText.quote).joined(separator: ",") + "]" }

    private func fields(_ fields: [Field]) -> String {
        "["
            + fields.map { field in
                object(
                    [("name", JSONText.quote(field.name)), ("types", strings(field.types))]
                        + (field.pointer.map { [("pointer", JSONText.quote($0))] } ?? []))
            }.joined(separator: ",") + "]"
    }
}
