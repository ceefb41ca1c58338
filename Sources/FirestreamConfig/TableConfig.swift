public import FirestreamFormats

/// A table the runtime keeps up to date from a topic, exactly once (`tables` in the config):
/// each record's JSON value becomes a row through the columns' JSON pointers.
public struct TableConfig: Sendable, Equatable {
    /// How records become rows.
    public enum Mode: String, Sendable, CaseIterable {
        /// One row per record.
        case append
        /// One row per key: a record replaces the row with the same key.
        case upsert
    }

    /// A column's SQL type; a value that does not fit sends its record to the dead-letter topic.
    public enum ColumnType: String, Sendable, CaseIterable {
        case text, integer, real, boolean, json
    }

    public struct Column: Sendable, Equatable {
        public var name: String
        /// Where in the record's JSON value the column's value is (RFC 6901).
        public var pointer: String
        public var type: ColumnType

        public init(name: String, pointer: String, type: ColumnType) {
            self.name = name
            self.pointer = pointer
            self.type = type
        }
    }

    public var name: String
    /// The topic whose records fill the table.
    public var from: String
    public var mode: Mode = .append
    /// The columns whose values identify a row (upsert tables only).
    public var key: [String] = []
    public var columns: [Column]
    /// Rows whose record is older than this are deleted; nil keeps them.
    public var retention: TimeSpan?

    public init(name: String, from: String, columns: [Column]) {
        self.name = name
        self.from = from
        self.columns = columns
    }

    /// Records that cannot become rows go here, with the reason in a header.
    public var deadLetter: String { "\(name).dlq" }
}
