import VaporCSQLite

/// SQLite's authorizer for queries from outside: reading and computing only. Anything that
/// writes, attaches a file, changes a setting or begins a transaction is refused while the
/// statement compiles, and the refusal is named in the error.
final class ReadOnlyGuard {
    /// The first refusal, for the error message (one statement can draw several).
    private(set) var refused: String?

    /// Functions a read-only query must not reach even though they exist in this build.
    static let forbiddenFunctions: Set<String> = ["fts3_tokenizer", "load_extension"]

    /// Installs the guard on `database`; it lives as long as the caller keeps it.
    func install(on database: SQLiteDatabase) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        sqlite_nio_sqlite3_set_authorizer(
            database.handle,
            { context, action, first, second, _, _ in
                let guardian = Unmanaged<ReadOnlyGuard>.fromOpaque(context!).takeUnretainedValue()
                return guardian.decide(action, first.map { String(cString: $0) }, second.map { String(cString: $0) })
            }, context)
    }

    private func decide(_ action: Int32, _ first: String?, _ second: String?) -> Int32 {
        switch action {
        case SQLITE_SELECT, SQLITE_READ, SQLITE_RECURSIVE: return SQLITE_OK
        case SQLITE_FUNCTION:
            guard let name = second?.lowercased(), Self.forbiddenFunctions.contains(name) else { return SQLITE_OK }
            refused = refused ?? "the function \(name)() is not allowed here"
        default:
            refused = refused ?? "\(Self.actionName(action, first)) is not allowed: SQL here is read-only (SELECT, WITH … SELECT, VALUES)"
        }
        return SQLITE_DENY
    }

    private static func actionName(_ action: Int32, _ object: String?) -> String {
        // Schema changes reach the authorizer first as writes to SQLite's own tables.
        if let object, object.hasPrefix("sqlite_"), [SQLITE_INSERT, SQLITE_UPDATE, SQLITE_DELETE].contains(action) {
            return "changing the schema (CREATE, DROP, ALTER)"
        }
        switch action {
        case SQLITE_INSERT: return "INSERT"
        case SQLITE_UPDATE: return "UPDATE"
        case SQLITE_DELETE: return "DELETE"
        case SQLITE_ATTACH: return "ATTACH"
        case SQLITE_DETACH: return "DETACH"
        case SQLITE_PRAGMA: return "PRAGMA \(object ?? "")"
        case SQLITE_TRANSACTION: return "a transaction"
        case SQLITE_SAVEPOINT: return "SAVEPOINT"
        case SQLITE_ANALYZE: return "ANALYZE"
        case SQLITE_REINDEX: return "REINDEX"
        case SQLITE_ALTER_TABLE: return "ALTER TABLE"
        case SQLITE_CREATE_INDEX...SQLITE_CREATE_VIEW, SQLITE_CREATE_VTABLE: return "CREATE"
        case SQLITE_DROP_INDEX...SQLITE_DROP_VIEW, SQLITE_DROP_VTABLE: return "DROP"
        default: return "this statement"
        }
    }
}
