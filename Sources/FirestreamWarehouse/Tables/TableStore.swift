/// Rows of one partition's records for one table, with the offset to read next: a store writes
/// the rows and that offset in one transaction, so a table is exactly once across crashes.
public struct TableBatch: Sendable {
    public struct Row: Sendable {
        public var values: [SQLValue]
        public var partition: Int
        public var offset: Int64
        public var timestamp: Int64
    }

    public var table: String
    public var partition: Int
    public var rows: [Row]
    /// The offset after the last record the batch covers (rows and dead letters alike).
    public var next: Int64
}

/// A database that keeps declared tables: SQLite in the data directory, or PostgreSQL.
public protocol TableStore: Sendable {
    /// Where, for people: "warehouse.sqlite in .firestream", "PostgreSQL at 127.0.0.1:5433".
    var location: String { get }
    /// Creates `table` (or rebuilds it when its declaration changed; `report` says so) and returns
    /// the next offset to read in each partition it has consumed from.
    func prepare(_ table: TableDefinition, report: @escaping @Sendable (String) -> Void) async throws -> [Int: Int64]
    /// Writes the rows and the partition's next offset in one transaction.
    func apply(_ batch: TableBatch) async throws
    /// Deletes the rows of `table` stamped before `timestamp`; how many went.
    func expire(_ table: TableDefinition, before timestamp: Int64) async throws -> Int
    /// Closes the store's connection, once its sinks have stopped.
    func close() async
}
