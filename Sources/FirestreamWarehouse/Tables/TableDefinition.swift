public import FirestreamJSON

/// A declared table as the warehouse keeps it: which topic fills it, how records become rows,
/// and how long rows stay. Besides its columns every table has `_partition`, `_offset` and
/// `_timestamp`: where each row's record is in the topic, and when it was stamped.
public struct TableDefinition: Sendable, Equatable {
    public enum Mode: String, Sendable {
        case append, upsert
    }

    public enum ColumnType: String, Sendable {
        case text, integer, real, boolean, json
    }

    public struct Column: Sendable, Equatable {
        public var name: String
        public var pointer: JSONPointer
        public var type: ColumnType

        public init(name: String, pointer: JSONPointer, type: ColumnType) {
            self.name = name
            self.pointer = pointer
            self.type = type
        }
    }

    public var name: String
    public var topic: String
    public var mode: Mode
    /// The columns identifying a row (upsert tables).
    public var key: [String]
    public var columns: [Column]
    /// Rows whose record is older than this many milliseconds are deleted; nil keeps them.
    public var retentionMilliseconds: Int64?
    public var deadLetter: String

    public init(
        name: String, topic: String, mode: Mode = .append, key: [String] = [], columns: [Column], retentionMilliseconds: Int64? = nil,
        deadLetter: String? = nil
    ) {
        self.name = name
        self.topic = topic
        self.mode = mode
        self.key = key
        self.columns = columns
        self.retentionMilliseconds = retentionMilliseconds
        self.deadLetter = deadLetter ?? "\(name).dlq"
    }

    /// Firestream's own columns, after the declared ones.
    public static let metadataColumns = ["_partition", "_offset", "_timestamp"]

    /// What the stored table was built from: when it changes, the table is rebuilt from its topic.
    var fingerprint: String {
        let columns = columns.map { "\($0.name) \($0.type.rawValue) \($0.pointer)" }.joined(separator: ", ")
        return "from \(topic) \(mode.rawValue) key (\(key.joined(separator: ", "))) columns (\(columns))"
    }
}
