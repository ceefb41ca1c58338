import FirestreamConfig
public import FirestreamLog
import FirestreamStreams
public import FirestreamWarehouse
import Foundation

extension EmbeddedStack {
    /// What `firestream catalog` and `GET /catalog` describe: the log's topics and the declared
    /// tables, with the lineage the project's apps, sources, effects and tables declare. The
    /// tables' rows are counted through `tableQueries` (the PostgreSQL warehouse) when given,
    /// else in the data directory's SQLite.
    public func catalogBuilder(log: Log, tableQueries: (any QueryEngine)? = nil) -> CatalogBuilder {
        var runnables: [any Runnable] = apps.compactMap { try? options.catalog.runnable(for: $0, project: config.name, overrides: options.overrides) }
        // Without an effect's signing secret its runnable cannot be built: the catalog then
        // lacks the connectors' lineage rather than failing.
        runnables += (try? connectors(environment: ProcessInfo.processInfo.environment, report: { _ in })) ?? []
        var uses: [String: [String]] = [:]
        for runnable in runnables {
            for (topic, use) in runnable.usedTopics { uses[topic, default: []].append(use) }
        }
        let keys = Dictionary(config.topics.compactMap { topic in topic.key.map { (topic.name, $0) } }) { first, _ in first }
        return CatalogBuilder(
            log: log, tablesPath: WarehouseFiles.tables(in: options.dataDirectory), tables: config.tables.map(TableDefinition.init), keys: keys,
            uses: uses, tableQueries: tableQueries)
    }
}
