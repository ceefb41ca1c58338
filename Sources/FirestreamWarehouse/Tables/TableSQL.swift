import Foundation

/// The SQL that creates and fills a declared table, in SQLite's or PostgreSQL's words.
enum TableSQL {
    enum Dialect {
        case sqlite, postgresql
    }

    static func create(_ table: TableDefinition, dialect: Dialect) -> String {
        let columns = table.columns.map { "\(quoted($0.name)) \(type($0.type, dialect))" }
        let integer = dialect == .sqlite ? "INTEGER" : "BIGINT"
        let metadata = ["_partition \(integer) NOT NULL", "_offset \(integer) NOT NULL", "_timestamp \(integer) NOT NULL"]
        let key = table.mode == .upsert ? table.key.map(quoted) : ["_partition", "_offset"]
        var sql = "CREATE TABLE \(quoted(table.name)) (\((columns + metadata).joined(separator: ", ")), PRIMARY KEY (\(key.joined(separator: ", "))))"
        if dialect == .sqlite { sql += " STRICT" }
        sql += ";\n"
        if table.retentionMilliseconds != nil {
            sql += "CREATE INDEX \(quoted(table.name + "__timestamp")) ON \(quoted(table.name)) (_timestamp);\n"
        }
        return sql
    }

    /// An insert of one row (declared columns, then `_partition`, `_offset`, `_timestamp`); an
    /// upsert table's replaces the row with the same key.
    static func insert(_ table: TableDefinition, dialect: Dialect) -> String {
        let names = table.columns.map { quoted($0.name) } + TableDefinition.metadataColumns
        let placeholders = names.indices.map { dialect == .sqlite ? "?" : "$\($0 + 1)" }
        var sql = "INSERT INTO \(quoted(table.name)) (\(names.joined(separator: ", "))) VALUES (\(placeholders.joined(separator: ", ")))"
        if table.mode == .upsert {
            let updates = names.filter { !table.key.map(quoted).contains($0) }.map { "\($0) = excluded.\($0)" }
            sql += " ON CONFLICT (\(table.key.map(quoted).joined(separator: ", "))) DO UPDATE SET \(updates.joined(separator: ", "))"
        }
        return sql
    }

    private static func type(_ type: TableDefinition.ColumnType, _ dialect: Dialect) -> String {
        switch (type, dialect) {
        case (.text, _): return "TEXT"
        case (.integer, .sqlite), (.boolean, .sqlite): return "INTEGER"
        case (.integer, .postgresql): return "BIGINT"
        case (.boolean, .postgresql): return "BOOLEAN"
        case (.real, .sqlite): return "REAL"
        case (.real, .postgresql): return "DOUBLE PRECISION"
        case (.json, .sqlite): return "TEXT"
        case (.json, .postgresql): return "JSONB"
        }
    }
}

/// A name in double quotes (names are checked identifiers; quoting keeps keywords usable).
func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
