import FirestreamJSON
import Foundation

/// How a result is written out: `json` (columns, rows as arrays, and whether a limit cut it),
/// `ndjson` (one object per row), `csv` (RFC 4180, a header row). Blobs are base64 text and
/// non-finite reals null in all three.
public enum ResultFormat: String, CaseIterable, Sendable {
    case json, ndjson, csv

    public var contentType: String {
        switch self {
        case .json: return "application/json"
        case .ndjson: return "application/x-ndjson"
        case .csv: return "text/csv; charset=utf-8"
        }
    }

    public func render(_ result: QueryResult) -> String {
        switch self {
        case .json: return Self.json(result)
        case .ndjson: return Self.ndjson(result)
        case .csv: return Self.csv(result)
        }
    }

    private static func json(_ result: QueryResult) -> String {
        let columns = result.columns.map { "{\"name\":\(JSONText.quote($0.name)),\"type\":\(JSONText.quote($0.type))}" }
        let rows = result.rows.map { "[" + $0.map(json).joined(separator: ",") + "]" }
        return "{\"columns\":[\(columns.joined(separator: ","))],\"rows\":[\(rows.joined(separator: ",\n"))],\"rowCount\":\(result.rows.count),"
            + "\"truncated\":\(result.truncated.map(JSONText.quote) ?? "null"),\"engine\":\(JSONText.quote(result.engine)),"
            + "\"recordsRead\":\(result.recordsRead),"
            + "\"elapsedMs\":\(result.elapsedMilliseconds)}\n"
    }

    private static func ndjson(_ result: QueryResult) -> String {
        let names = uniqueNames(result.columns.map(\.name)).map(JSONText.quote)
        return result.rows.map { row in
            "{" + zip(names, row).map { "\($0):\(json($1))" }.joined(separator: ",") + "}\n"
        }.joined()
    }

    private static func csv(_ result: QueryResult) -> String {
        let header = result.columns.map { csvField($0.name) }.joined(separator: ",")
        let rows = result.rows.map { row in
            row.map { value -> String in
                switch value {
                case .null: return ""
                case .integer(let number): return String(number)
                case .real(let number): return number.isFinite ? String(number) : ""
                case .text(let text): return csvField(text)
                case .blob(let bytes): return Data(bytes).base64EncodedString()
                }
            }.joined(separator: ",")
        }
        return ([header] + rows).map { $0 + "\r\n" }.joined()
    }

    static func json(_ value: SQLValue) -> String {
        switch value {
        case .null: return "null"
        case .integer(let number): return String(number)
        case .real(let number): return number.isFinite ? String(number) : "null"
        case .text(let text): return JSONText.quote(text)
        case .blob(let bytes): return JSONText.quote(Data(bytes).base64EncodedString())
        }
    }

    private static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Column names as object keys: a repeated name gets `_2`, `_3`….
    static func uniqueNames(_ names: [String]) -> [String] {
        var seen: [String: Int] = [:]
        return names.map { name in
            seen[name, default: 0] += 1
            let count = seen[name] ?? 1
            return count == 1 ? name : "\(name)_\(count)"
        }
    }
}
