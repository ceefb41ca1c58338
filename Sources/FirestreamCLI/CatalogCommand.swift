import ArgumentParser
import FirestreamConfig
import FirestreamEmbedded
import FirestreamLog
import FirestreamWarehouse
import Foundation

/// `firestream catalog`: every topic and declared table, its shape, size, freshness and lineage.
struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "List the project's topics and tables with their fields, size, freshness and lineage.",
        discussion: """
            Topics show the top-level fields of their newest JSON records (inferred from up to 100 \
            records per partition, with SQLite's JSON types), tables their declared columns. \
            Lineage comes from the config: which app, source, effect or table writes or reads each \
            topic. Works while `firestream up` runs; GET /catalog answers the same as JSON.

            Examples:
              firestream catalog
              firestream catalog --format json | jq '.tables[] | {name, rows}'
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(help: "text or json.")
    var format: Format = .text

    @Flag(help: "Include internal topics (app journals).")
    var all = false

    @Option(help: "The project config file or directory (default: the current directory).")
    var config: String?

    @Option(help: "The log's directory (default: .firestream/ beside the config).")
    var dataDir: String?

    func run() async throws {
        let project = try ProjectLocation.resolve(config: config, dataDir: dataDir)
        let log = try project.readOnlyLog()
        defer { log.close() }
        let stack = EmbeddedStack(
            config: project.config,
            options: EmbeddedStack.Options(
                dataDirectory: project.dataDirectory, catalog: .current, overrides: .init(projectDirectory: project.directory)))
        // Tables in the PostgreSQL warehouse are counted there once it has run (else rows are unknown).
        let settings = project.config.warehouse
        let postgres =
            settings.engine == .postgres && (settings.host != nil || ManagedPostgres.storedCredentials(dataDirectory: project.dataDirectory) != nil)
        let tableQueries: (any QueryEngine)? = postgres ? try project.postgresReader() : nil
        let catalog = await stack.catalogBuilder(log: log, tableQueries: tableQueries).build(includeInternal: all)
        switch format {
        case .json: print(catalog.json, terminator: "")
        case .text: printText(catalog)
        }
    }

    private func printText(_ catalog: Catalog) {
        if catalog.topics.isEmpty {
            print("no topics yet")
        } else {
            printTable(
                ["TOPIC", "PARTITIONS", "RECORDS", "SIZE", "LAST RECORD", "WRITTEN BY", "READ BY"],
                catalog.topics.map { topic in
                    [
                        topic.name, String(topic.partitions), String(topic.records), formatBytes(topic.bytes), time(topic.lastRecordAt),
                        list(topic.writers), list(topic.readers),
                    ]
                })
        }
        if !catalog.tables.isEmpty {
            print("")
            printTable(
                ["TABLE", "FROM", "MODE", "ROWS", "LAST RECORD"],
                catalog.tables.map { table in
                    let mode = table.mode == "upsert" ? "upsert (\(table.key.joined(separator: ", ")))" : table.mode
                    return [table.name, table.from, mode, table.rows.map(String.init) ?? "not created yet", time(table.lastRecordAt)]
                })
        }
        let shaped = catalog.topics.filter { !$0.fields.isEmpty }
        if !shaped.isEmpty || !catalog.tables.isEmpty { print("") }
        for topic in shaped {
            print("topic \(topic.name) (fields inferred from \(topic.sampled) records): \(fields(topic.fields))")
        }
        for table in catalog.tables {
            print("table \(table.name) (declared): \(fields(table.columns)), _partition, _offset, _timestamp")
        }
    }

    private func fields(_ fields: [Catalog.Field]) -> String {
        fields.map { "\($0.name) \($0.types.joined(separator: "|"))" }.joined(separator: ", ")
    }

    private func list(_ items: [String]) -> String { items.isEmpty ? "-" : items.joined(separator: ", ") }

    private func time(_ milliseconds: Int64?) -> String {
        guard let milliseconds else { return "-" }
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
