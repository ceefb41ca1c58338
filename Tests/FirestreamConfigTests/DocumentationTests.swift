import Foundation
import Testing

@testable import FirestreamConfig

/// The config examples in the docs must stay valid as the rules change.
@Suite struct DocumentationTests {
    static let docs = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/config.md")

    /// Fenced code blocks of `language` in the file.
    static func blocks(_ language: String) throws -> [String] {
        let text = try String(contentsOf: docs, encoding: .utf8)
        return text.components(separatedBy: "```\(language)\n").dropFirst().map {
            $0.components(separatedBy: "\n```").first ?? ""
        }
    }

    @Test func configExamplesInDocsValidate() throws {
        let json = try Self.blocks("json").filter { $0.contains("\"name\"") }
        let yaml = try Self.blocks("yaml")
        #expect(!json.isEmpty && !yaml.isEmpty)
        for (text, format) in json.map({ ($0, ConfigFormat.json) }) + yaml.map({ ($0, ConfigFormat.yaml) }) {
            let (config, diagnostics) = ConfigLoader.parse(text, format: format, defaultName: "docs")
            #expect(config != nil && diagnostics.isEmpty, "\(diagnostics)\n\(text)")
        }
    }

    @Test func everyServiceDefaultInTheDocsMatchesTheCatalog() throws {
        let text = try String(contentsOf: Self.docs, encoding: .utf8)
        for kind in ServiceKind.allCases {
            let defaults = kind.defaults
            let row =
                "| `\(kind.rawValue)` | `\(defaults.resources.requests.cpu!.text)` | `\(defaults.resources.requests.memory!.text)` | "
                + (defaults.persistence.map { "`\($0.size.text)`" } ?? "—")
            #expect(text.contains(row), "docs/config.md lacks the row: \(row)")
        }
    }
}
