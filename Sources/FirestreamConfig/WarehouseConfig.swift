/// Where declared tables live and where `firestream sql` runs (`warehouse` in the config).
public struct WarehouseConfig: Sendable, Equatable {
    public enum Engine: String, Sendable, CaseIterable {
        /// The SQLite compiled into Firestream (`.firestream/warehouse.sqlite`).
        case sqlite
        /// PostgreSQL: managed by `up` (Debian's package, loopback only), or external with `host`.
        case postgres
    }

    public var engine: Engine = .sqlite
    /// An external PostgreSQL's host; nil: `up` runs one itself.
    public var host: String?
    /// The managed server's port, or the external one's.
    public var port: Int = 5433
    /// An external server's database and user (the managed one's are generated).
    public var database: String = "firestream"
    public var user: String = "firestream"
    /// The environment variable holding an external server's password.
    public var passwordEnv: String?

    public init() {}
}
