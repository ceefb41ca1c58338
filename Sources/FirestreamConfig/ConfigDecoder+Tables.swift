import FirestreamFormats
import FirestreamJSON

/// Decoding of `tables`: each table's source topic, mode, key and columns, checked with their
/// positions. Names are SQL identifiers that PostgreSQL and SQLite both accept unquoted.
extension ConfigDecoder {
    mutating func tables(_ node: LocatedNode, _ path: ConfigPath) -> [TableConfig] {
        guard let items = array(node, path) else { return [] }
        var result: [TableConfig] = []
        var seen: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let itemPath = path / index
            guard case .object = item.value else {
                error(at: item, itemPath, "expected a table object ({\"name\": …, \"from\": …, \"columns\": {…}}), found \(item.kindDescription)")
                continue
            }
            let fields = object(item, itemPath, keys: ["name", "from", "mode", "key", "columns", "retention"])
            let nameNode = required("name", in: fields, of: item, itemPath)
            let fromNode = required("from", in: fields, of: item, itemPath)
            let columnsNode = required("columns", in: fields, of: item, itemPath)
            guard let nameNode, let name = string(nameNode, itemPath / "name"),
                checkIdentifier(name, nameNode.location, itemPath / "name", of: "table")
            else { continue }
            if let first = seen[name.lowercased()] {
                error(
                    at: nameNode, itemPath / "name", "the table \"\(name)\" is declared twice (first at \(path / first))",
                    hint: "give each table its own name")
                continue
            }
            seen[name.lowercased()] = index
            guard let fromNode, let from = string(fromNode, itemPath / "from"), checkTopicName(from, fromNode, itemPath / "from") else { continue }
            guard let columnsNode, let columns = columns(columnsNode, itemPath / "columns") else { continue }
            var table = TableConfig(name: name, from: from, columns: columns)
            if let node = fields["mode"], let text = string(node, itemPath / "mode") {
                guard let mode = TableConfig.Mode(rawValue: text) else {
                    error(at: node, itemPath / "mode", "\"\(text)\" is not a table mode", hint: "append (a row per record) or upsert (a row per key)")
                    continue
                }
                table.mode = mode
            }
            if let node = fields["retention"], let text = string(node, itemPath / "retention") {
                guard let span = TimeSpan.parse(text), span.milliseconds > 0 else {
                    error(
                        at: node, itemPath / "retention", "\"\(text)\" is not a duration", hint: "a whole number and a unit, e.g. \"7d\" or \"12h\"")
                    continue
                }
                table.retention = span
            }
            guard let key = tableKey(fields["key"], of: table, item, itemPath) else { continue }
            table.key = key
            result.append(table)
        }
        return result
    }

    /// `{"name": {"pointer": "/json/pointer", "type": "real"}}`; the pointer defaults to
    /// `/<name>` and the type to text.
    private mutating func columns(_ node: LocatedNode, _ path: ConfigPath) -> [TableConfig.Column]? {
        guard case .object(let members) = node.value, !members.isEmpty else {
            error(
                at: node, path, "expected an object of columns, like {\"device_id\": {\"type\": \"text\"}}, found \(node.kindDescription)",
                hint: "a table needs at least one column")
            return nil
        }
        var result: [TableConfig.Column] = []
        var seen = Set<String>()
        for member in members {
            let columnPath = path / member.key
            guard checkIdentifier(member.key, member.keyLocation, columnPath, of: "column") else { continue }
            guard seen.insert(member.key.lowercased()).inserted else {
                error(at: member.keyLocation, columnPath, "the column \"\(member.key)\" is declared twice (names ignore case in SQL)")
                continue
            }
            let fields = object(member.value, columnPath, keys: ["pointer", "type"])
            var column = TableConfig.Column(name: member.key, pointer: "/" + member.key, type: .text)
            if let pointerNode = fields["pointer"], let text = string(pointerNode, columnPath / "pointer") {
                guard JSONPointer(text) != nil, text.hasPrefix("/") || text.isEmpty else {
                    error(at: pointerNode, columnPath / "pointer", "\"\(text)\" is not a JSON pointer", hint: "write it as \"/\(text)\" (RFC 6901)")
                    continue
                }
                column.pointer = text
            }
            if let typeNode = fields["type"], let text = string(typeNode, columnPath / "type") {
                guard let type = TableConfig.ColumnType(rawValue: text) else {
                    let names = TableConfig.ColumnType.allCases.map(\.rawValue)
                    error(
                        at: typeNode, columnPath / "type", "\"\(text)\" is not a column type",
                        hint: suggestion(for: text, among: names, listing: "column types are"))
                    continue
                }
                column.type = type
            }
            result.append(column)
        }
        return result.count == members.count ? result : nil
    }

    /// The key of an upsert table: a column name or a list of them.
    private mutating func tableKey(_ node: LocatedNode?, of table: TableConfig, _ item: LocatedNode, _ path: ConfigPath) -> [String]? {
        guard let node else {
            if table.mode == .upsert {
                error(at: item, path, "an upsert table needs a key", hint: "\"key\": the column (or list of columns) that identifies a row")
                return nil
            }
            return []
        }
        guard table.mode == .upsert else {
            error(at: node, path / "key", "a key applies to upsert tables only", hint: "add \"mode\": \"upsert\", or remove the key")
            return nil
        }
        var names: [(String, LocatedNode, ConfigPath)] = []
        if case .array(let items) = node.value {
            for (index, entry) in items.enumerated() {
                if let text = string(entry, path / "key" / index) { names.append((text, entry, path / "key" / index)) }
            }
        } else if let text = string(node, path / "key") {
            names.append((text, node, path / "key"))
        }
        var expected = 1
        if case .array(let items) = node.value { expected = items.count }
        guard !names.isEmpty, names.count == expected else {
            if names.isEmpty { error(at: node, path / "key", "the key names no column") }
            return nil
        }
        let declared = table.columns.map(\.name)
        for (name, entry, entryPath) in names where !declared.contains(name) {
            error(
                at: entry, entryPath, "the key column \"\(name)\" is not one of the table's columns",
                hint: suggestion(for: name, among: declared, listing: "columns are"))
            return nil
        }
        return names.map(\.0)
    }

    /// A name both SQLite and PostgreSQL take unquoted: letters, digits and `_`, up to 63 bytes,
    /// not starting with a digit or `_` (names starting with `_` are Firestream's own columns).
    private mutating func checkIdentifier(_ name: String, _ node: SourceLocation, _ path: ConfigPath, of what: String) -> Bool {
        let valid =
            !name.isEmpty && name.utf8.count <= 63 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
            && !(name.first?.isNumber ?? true) && !name.hasPrefix("_")
        guard valid else {
            error(
                at: node, path, "\"\(name)\" is not a valid \(what) name",
                hint: "letters, digits and _ (up to 63), starting with a letter, e.g. \"device_readings\"")
            return false
        }
        let lowered = name.lowercased()
        guard !lowered.hasPrefix("sqlite_"), !lowered.hasPrefix("pg_") else {
            error(at: node, path, "names starting with sqlite_ or pg_ belong to the databases", hint: "choose another \(what) name")
            return false
        }
        return true
    }
}
