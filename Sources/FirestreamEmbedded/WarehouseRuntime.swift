import FirestreamConfig
import FirestreamLog
import FirestreamWarehouse
import Foundation

/// The warehouse `up` runs with: where declared tables are written and what answers `POST /sql`.
struct WarehouseRuntime: Sendable {
    var tableStore: any TableStore
    var queries: (any QueryEngine)?
    /// The PostgreSQL `up` started, stopped when `up` stops.
    var managed: ManagedPostgres?

    /// SQLite in the data directory: tables in `warehouse.sqlite`, SQL over the log and them.
    static func sqlite(dataDirectory: String, log: Log?) -> WarehouseRuntime {
        let path = WarehouseFiles.tables(in: dataDirectory)
        return WarehouseRuntime(tableStore: SQLiteTableStore(path: path), queries: log.map { SQLiteQueryEngine(log: $0, tablesPath: path) })
    }
}

extension EmbeddedStack {
    /// The config's warehouse, started: for `engine: postgres`, the managed server (or the
    /// external one's credentials from the environment).
    func startWarehouse(log: Log?, report: @escaping @Sendable (String) -> Void) async throws -> WarehouseRuntime {
        let warehouse = config.warehouse
        guard warehouse.engine == .postgres else { return .sqlite(dataDirectory: options.dataDirectory, log: log) }
        if let host = warehouse.host {
            let variable = warehouse.passwordEnv ?? ""
            guard let password = ProcessInfo.processInfo.environment[variable], !password.isEmpty else {
                throw StackError("warehouse.passwordEnv names \(variable), which is not set; export \(variable)=<password> before firestream up")
            }
            report("  warehouse: PostgreSQL at \(host):\(warehouse.port)/\(warehouse.database) as \(warehouse.user)")
            return WarehouseRuntime(
                tableStore: PostgresTableStore(
                    host: host, port: warehouse.port, user: warehouse.user, password: password, database: warehouse.database),
                queries: PostgresQueryEngine(host: host, port: warehouse.port, user: warehouse.user, password: password, database: warehouse.database)
            )
        }
        let managed = try ManagedPostgres(dataDirectory: options.dataDirectory, port: warehouse.port)
        let credentials = try await managed.start(report: report)
        report("  warehouse: PostgreSQL (managed) at \(credentials.readerURL)")
        report("             read-only user for BI tools and psql; the owner's credentials are in \(managed.credentialsPath) (0600)")
        return WarehouseRuntime(
            tableStore: PostgresTableStore(
                host: credentials.host, port: credentials.port, user: credentials.user, password: credentials.password, database: credentials.database
            ),
            queries: PostgresQueryEngine(
                host: credentials.host, port: credentials.port, user: credentials.reader, password: credentials.readerPassword,
                database: credentials.database),
            managed: managed)
    }
}
