import FirestreamFormats
import FirestreamJSON

/// Formats diagnostics for people (compiler style, with the offending line and a caret) and for
/// programs (`--format json`).
public enum DiagnosticRenderer {
    /// `file:line:col: error: path: message`, the source line with a caret, and the hint.
    public static func text(_ report: ConfigReport) -> String {
        let lines = report.text.map { $0.split(separator: "\n", omittingEmptySubsequences: false) } ?? []
        var out = ""
        for diagnostic in report.diagnostics {
            var place = report.displayPath
            if let location = diagnostic.location { place += ":\(location.line):\(location.column)" }
            out += "\(place): \(diagnostic.severity.rawValue): \(diagnostic)\n"
            if let location = diagnostic.location, location.line >= 1, location.line <= lines.count {
                let source = lines[location.line - 1].replacingTabs()
                let number = String(location.line)
                let gutter = String(repeating: " ", count: number.count)
                out += " \(number) | \(source)\n"
                out += " \(gutter) | \(String(repeating: " ", count: max(0, location.column - 1)))^\n"
            }
            if let hint = diagnostic.hint { out += "  hint: \(hint)\n" }
        }
        return out
    }

    /// One JSON document: the file, whether it is valid, counts, and every diagnostic.
    public static func json(_ report: ConfigReport) -> String {
        let items: [JSONValue] = report.diagnostics.map { diagnostic in
            var members: [(String, JSONValue)] = [
                ("severity", .string(diagnostic.severity.rawValue)),
                ("path", diagnostic.path.map { .string($0.description) } ?? .null),
                ("file", .string(report.displayPath)),
                ("line", diagnostic.location.map { .number(String($0.line)) } ?? .null),
                ("column", diagnostic.location.map { .number(String($0.column)) } ?? .null),
                ("message", .string(diagnostic.message)),
            ]
            members.append(("hint", diagnostic.hint.map(JSONValue.string) ?? .null))
            return .object(members)
        }
        return JSONText.render(
            .object([
                ("file", .string(report.displayPath)),
                ("valid", .bool(report.isValid)),
                ("errors", .number(String(report.diagnostics.errorCount))),
                ("warnings", .number(String(report.diagnostics.warningCount))),
                ("diagnostics", .array(items)),
            ])) + "\n"
    }
}

extension Substring {
    /// Tabs become single spaces so the caret lines up with the column count.
    fileprivate func replacingTabs() -> String {
        String(map { $0 == "\t" ? " " : $0 })
    }
}
