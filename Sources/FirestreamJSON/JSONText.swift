/// Compact, stable JSON text with two-space indentation, for configs and machine-readable output.
///
/// Trees come from bounded parsers (at most ``JSONLimits/maxDepth`` levels); a tree built deeper
/// by code is rendered down to that depth, with `null` below it, rather than recursing without end.
public enum JSONText {
    public static func render(_ value: JSONValue, indent: String = "") -> String {
        guard indent.utf8.count <= 2 * JSONLimits.maxDepth else { return "null" }
        switch value {
        case .object(let members):
            if members.isEmpty { return "{}" }
            let inner = indent + "  "
            let body = members.map { "\(inner)\(quote($0.0)): \(render($0.1, indent: inner))" }
            return "{\n" + body.joined(separator: ",\n") + "\n\(indent)}"
        case .array(let items):
            if items.isEmpty { return "[]" }
            if items.allSatisfy(\.isScalar) { return "[" + items.map { render($0) }.joined(separator: ", ") + "]" }
            let inner = indent + "  "
            return "[\n" + items.map { inner + render($0, indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
        case .string(let text): return quote(text)
        case .number(let text): return text
        case .bool(let flag): return flag ? "true" : "false"
        case .null: return "null"
        }
    }

    /// The same value on one line without spaces, as records are stored.
    public static func compact(_ value: JSONValue, depth: Int = 0) -> String {
        guard depth <= JSONLimits.maxDepth else { return "null" }
        switch value {
        case .object(let members): return "{" + members.map { "\(quote($0.0)):\(compact($0.1, depth: depth + 1))" }.joined(separator: ",") + "}"
        case .array(let items): return "[" + items.map { compact($0, depth: depth + 1) }.joined(separator: ",") + "]"
        default: return render(value)
        }
    }

    /// A JSON string literal for `text`.
    public static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension JSONValue {
    fileprivate var isScalar: Bool {
        switch self {
        case .object, .array: false
        default: true
        }
    }
}
