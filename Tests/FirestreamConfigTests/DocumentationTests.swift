import FirestreamFormats
import Foundation
import Testing

@testable import FirestreamConfig

/// The config examples in the docs must stay valid as the rules change.
@Suite struct DocumentationTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let docs = root.appendingPathComponent("docs/config.md")

    /// Fenced code blocks of `language` in a doc.
    static func blocks(_ language: String, in file: URL = docs) throws -> [String] {
        let text = try String(contentsOf: file, encoding: .utf8)
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

    @Test func configSnippetsInTheAppsGuideValidate() throws {
        let snippets = try Self.blocks("json", in: Self.root.appendingPathComponent("docs/apps.md")).filter { $0.contains("\"apps\"") }
        #expect(!snippets.isEmpty)
        for text in snippets {
            let (config, diagnostics) = ConfigLoader.parse(text, format: .json, defaultName: "docs")
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
