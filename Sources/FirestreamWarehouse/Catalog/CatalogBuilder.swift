import FirestreamJSON
public import FirestreamLog

/// Builds the ``Catalog`` from the log, the declared tables and what the project's apps,
/// sources, effects and tables say they do with each topic.
public struct CatalogBuilder: Sendable {
    public let log: Log
    public let tablesPath: String
    public let tables: [TableDefinition]
    /// Per topic, the JSON pointer that keys ingested records (the config's `topics[].key`).
    public let keys: [String: String]
    /// Per topic, how each part of the project uses it, in the runnables' words ("the output of
    /// app \"wiener\"", "read by table \"points\""…).
    public let uses: [String: [String]]
    /// Records sampled from the end of each partition to infer a topic's fields.
    public let sample: Int
    /// Where the declared tables live when not in `tablesPath` (the PostgreSQL warehouse).
    public let tableQueries: (any QueryEngine)?

    public init(
        log: Log, tablesPath: String, tables: [TableDefinition], keys: [String: String] = [:], uses: [String: [String]] = [:], sample: Int = 100,
        tableQueries: (any QueryEngine)? = nil
    ) {
        self.log = log
        self.tablesPath = tablesPath
        self.tables = tables
        self.keys = keys
        self.uses = uses
        self.sample = sample
        self.tableQueries = tableQueries
    }

    /// The catalog of what `mayRead` allows; internal topics (`__…`) only with `includeInternal`.
    public func build(includeInternal: Bool = false, mayRead: @escaping @Sendable (String) -> Bool = { _ in true }) async -> Catalog {
        let engine = SQLiteQueryEngine(log: log, tablesPath: tablesPath, maxConcurrent: 1)
        var topics: [Catalog.Topic] = []
        for name in log.topicNames where (includeInternal || !name.hasPrefix("__")) && mayRead(name) {
            guard let topic = log.topicIfExists(name) else { continue }
            topics.append(await describe(topic, engine: engine))
        }
        var tables: [Catalog.Table] = []
        for table in self.tables where mayRead(table.topic) {
            tables.append(await describe(table, engine: tableQueries ?? engine))
        }
        return Catalog(topics: topics, tables: tables)
    }

    private func describe(_ topic: Topic, engine: SQLiteQueryEngine) async -> Catalog.Topic {
        let partitions = topic.partitions
        let records = partitions.reduce(Int64(0)) { $0 + max(0, $1.lastStableOffset - $1.startOffset) }
        let uses = self.uses[topic.name] ?? []
        // A use names its direction: readers say "read by …" or "an input of …"; the rest write.
        let readers = uses.filter { $0.hasPrefix("read by ") || $0.hasPrefix("an input of ") }
        let (fields, sampled) = await infer(topic, engine: engine)
        return Catalog.Topic(
            name: topic.name, partitions: partitions.count, records: records, bytes: partitions.reduce(Int64(0)) { $0 + $1.sizeInBytes },
            retentionMilliseconds: topic.settings.retentionMilliseconds, retentionBytes: topic.settings.retentionBytes, key: keys[topic.name],
            lastRecordAt: partitions.compactMap(\.maxTimestamp).max(), fields: fields, sampled: sampled,
            writers: uses.filter { !readers.contains($0) }.sorted().map(Self.party), readers: readers.sorted().map(Self.party))
    }

    /// `read by table "points"` → `table "points"`.
    static func party(_ use: String) -> String {
        for prefix in ["read by ", "an input of ", "written by ", "the output of ", "the dead-letter topic of ", "the journal of "]
        where use.hasPrefix(prefix) {
            return String(use.dropFirst(prefix.count))
        }
        return use
    }

    /// The top-level fields of the last records of each partition, with SQLite's JSON types.
    private func infer(_ topic: Topic, engine: SQLiteQueryEngine) async -> ([Catalog.Field], Int) {
        var order: [String] = []
        var types: [String: Set<String>] = [:]
        var sampled = 0
        for (index, partition) in topic.partitions.enumerated() {
            let from = max(partition.startOffset, partition.lastStableOffset - Int64(sample))
            let sql = """
                SELECT j.key, j.type FROM records(\(quotedText(topic.name))) AS r, json_each(r.value) AS j
                WHERE r.partition = \(index) AND r.offset >= \(from) AND json_valid(r.value) AND json_type(r.value) = 'object'
                """
            guard let result = try? await engine.query(sql, limits: QueryLimits(maxRows: 100_000, timeout: .seconds(10)), mayRead: { _ in true })
            else { continue }
            for row in result.rows {
                guard case .text(let key) = row[0], case .text(let type) = row[1] else { continue }
                if types[key] == nil { order.append(key) }
                types[key, default: []].insert(type == "true" || type == "false" ? "boolean" : type)
            }
            sampled += Int(partition.lastStableOffset - from)
        }
        return (order.map { Catalog.Field(name: $0, types: (types[$0] ?? []).sorted(), pointer: "/" + $0) }, sampled)
    }

    private func describe(_ table: TableDefinition, engine: any QueryEngine) async -> Catalog.Table {
        let stats = try? await engine.query(
            "SELECT count(*), max(_timestamp) FROM \(quoted(table.name))", limits: QueryLimits(maxRows: 1, timeout: .seconds(10)),
            mayRead: { _ in true })
        var rows: Int64?
        var last: Int64?
        if let row = stats?.rows.first {
            if case .integer(let count) = row[0] { rows = count }
            if case .integer(let newest) = row[1] { last = newest }
        }
        let columns = table.columns.map { Catalog.Field(name: $0.name, types: [$0.type.rawValue], pointer: $0.pointer.description) }
        return Catalog.Table(
            name: table.name, from: table.topic, mode: table.mode.rawValue, key: table.key, columns: columns, rows: rows, lastRecordAt: last,
            retentionMilliseconds: table.retentionMilliseconds, deadLetter: table.deadLetter, engine: engine.name)
    }
}

/// A string literal for SQL.
func quotedText(_ text: String) -> String { "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'" }
