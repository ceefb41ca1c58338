import FirestreamJSON
import FirestreamTesting
import Foundation
import Testing

@testable import FirestreamConfig

@Suite struct ConfigLoaderTests {
    @Test func findsTheConfigInADirectoryAndNamesTheProjectAfterIt() throws {
        let directory = TemporaryDirectory()
        let project = directory.url.appendingPathComponent("My_Pipeline")
        try FileManager.default.createDirectory(at: project, withIntermediateDirectories: true)
        try Data("services: []\n".utf8).write(to: project.appendingPathComponent("firestream.yml"))
        let report = ConfigLoader.load(nil, workingDirectory: project)
        #expect(report.displayPath == "firestream.yml")
        #expect(report.config?.name == "my-pipeline")
    }

    @Test func bothJSONAndYAMLIsAnError() throws {
        let directory = TemporaryDirectory()
        try directory.write("firestream.json", "{}")
        try directory.write("firestream.yaml", "{}")
        let report = ConfigLoader.load(nil, workingDirectory: directory.url)
        #expect(!report.isValid)
        #expect(
            report.diagnostics.first?.message
                == "the current directory has both firestream.json and firestream.yaml; Firestream will not guess which one is current")
        // Naming the file explicitly resolves the ambiguity.
        #expect(ConfigLoader.load("firestream.yaml", workingDirectory: directory.url).isValid)
    }

    @Test func missingConfigSaysHowToCreateOne() throws {
        let directory = TemporaryDirectory()
        let report = ConfigLoader.load(nil, workingDirectory: directory.url)
        #expect(report.diagnostics.first?.message == "no firestream.json or firestream.yaml in the current directory")
        #expect(report.diagnostics.first?.hint == "run `firestream init` to create one, or pass the file's path")
        let missing = ConfigLoader.load("nope.json", workingDirectory: directory.url)
        #expect(missing.diagnostics.first?.message == "nope.json: no such file or directory")
    }

    @Test func sniffsTheFormatOfOddlyNamedFiles() throws {
        let directory = TemporaryDirectory()
        try directory.write("config.txt", "name: sniffed\n")
        #expect(ConfigLoader.load("config.txt", workingDirectory: directory.url).config?.name == "sniffed")
        try directory.write("other.conf", "  {\"name\": \"braces\"}")
        #expect(ConfigLoader.load("other.conf", workingDirectory: directory.url).config?.name == "braces")
    }

    @Test func textRenderingShowsTheLineAndACaret() throws {
        let directory = TemporaryDirectory()
        try directory.write("firestream.json", "{\n  \"replicaCount\": -1\n}\n")
        let report = ConfigLoader.load(nil, workingDirectory: directory.url)
        #expect(
            DiagnosticRenderer.text(report) == """
                firestream.json:2:19: error: replicaCount: must be 0 or more, found -1
                 2 |   "replicaCount": -1
                   |                   ^

                """)
    }

    @Test func scaffoldWritesAValidConfigAndRefusesToOverwrite() throws {
        let directory = TemporaryDirectory()
        let config = ProjectScaffold.config(name: "demo", services: [.kafka, .postgresql])
        let outcome = try ProjectScaffold.write(config, as: .yaml, into: directory.url, force: false)
        #expect(outcome.updatedGitignore)
        let report = ConfigLoader.load(outcome.configFile.path)
        #expect(report.config == config)
        #expect(throws: ProjectScaffold.Refusal.self) {
            try ProjectScaffold.write(config, as: .yaml, into: directory.url, force: false)
        }
        #expect(throws: ProjectScaffold.Refusal.self) {
            try ProjectScaffold.write(config, as: .json, into: directory.url, force: true)
        }
        let again = try ProjectScaffold.write(config, as: .yaml, into: directory.url, force: true)
        #expect(!again.updatedGitignore)
    }

    /// Escapes decode as in records: pairs join, and a lone high surrogate does not swallow the
    /// escape after it.
    @Test func unicodeEscapesInConfigStrings() throws {
        let text = #"{"apps": [{"name": "x", "kind": "k", "settings": {"pair": "\ud83d\ude00", "lone": "\ud800\u0041", "tab": "a\tb"}}]}"#
        let (config, diagnostics) = ConfigLoader.parse(text, format: .json, defaultName: "t")
        #expect(diagnostics.isEmpty)
        let settings = try #require(config?.apps.first?.settings)
        #expect(settings == .object([("pair", .string("😀")), ("lone", .string("\u{FFFD}A")), ("tab", .string("a\tb"))]))
    }
}
