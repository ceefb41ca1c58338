import FirestreamConfig
import FirestreamDeploy
import FirestreamJSON
import Foundation
import Testing

/// Configs and tools the deploy tests share.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every example project's config file.
    static var exampleConfigs: [URL] {
        let examples = root.appending(path: "examples")
        let found = FileManager.default.enumerator(at: examples, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
        return found.filter { ConfigLoader.fileNames.contains($0.lastPathComponent) && !$0.path.contains("/.build") }
            .sorted { $0.path < $1.path }
    }

    /// A gateway token, for configs that have none (a cluster needs one).
    static let token = """
        {"name": "deployer", "sha256": "831e0084a1712e716a48ebe23f616e0f2e5c3b7d1b0e7e4b05ab1870d619f6aa", "scopes": ["admin"]}
        """

    static func load(_ url: URL, environment: String? = nil) throws -> ProjectConfig {
        let report = ConfigLoader.load(url.path, environment: environment)
        return try #require(report.config, "\(url.path): \(report.diagnostics)")
    }

    /// A config from JSON text; `gateway.tokens` added unless `tokens` is false.
    static func config(_ json: String, tokens: Bool = true) throws -> ProjectConfig {
        var text = json
        if tokens, let close = text.lastIndex(of: "}") {
            let empty = text[..<close].trimmingCharacters(in: .whitespaces) == "{"
            text.replaceSubrange(close...close, with: (empty ? "" : ", ") + "\"gateway\": {\"tokens\": [\(token)]}}")
        }
        let (config, diagnostics) = ConfigLoader.parse(text, format: .json, defaultName: "test")
        return try #require(config, "\(diagnostics)")
    }

    static func bundle(_ config: ProjectConfig, _ target: DeployTarget) throws -> DeployBundle {
        switch DeployBundle.render(config, target: target) {
        case .success(let bundle): return bundle
        case .failure(let problems): throw RenderFailed(diagnostics: problems.diagnostics)
        }
    }

    struct RenderFailed: Error, CustomStringConvertible {
        var diagnostics: [Diagnostic]
        var description: String { diagnostics.map(\.description).joined(separator: "\n") }
    }

    /// The schema kit of the workspace (`../shared/schemas`), or `FIRESTREAM_SCHEMAS`.
    static var schemaKit: URL? {
        let candidates =
            [ProcessInfo.processInfo.environment["FIRESTREAM_SCHEMAS"]].compactMap { $0 }.map { URL(fileURLWithPath: $0) } + [
                root.deletingLastPathComponent().appending(path: "shared/schemas"), URL(fileURLWithPath: "/work/shared/schemas"),
            ]
        return candidates.first { FileManager.default.fileExists(atPath: $0.appending(path: "validate.sh").path) }
    }

    /// Runs a program to its end: exit status and everything it printed. The wait happens on a
    /// thread of its own: a test that blocked the shared pool would stall every other test.
    static func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try blockingRun(executable, arguments) }) }
        }
    }

    private static func blockingRun(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let output = FileManager.default.temporaryDirectory.appending(path: "firestream-deploy-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        return (process.terminationStatus, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appending(path: "firestream-deploy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

extension JSONValue {
    /// The value at a dotted path of object keys (`controller.persistence.size`).
    subscript(path: String) -> JSONValue? {
        var node: JSONValue? = self
        for key in path.split(separator: ".") {
            guard case .object(let members)? = node else { return nil }
            node = members.last { $0.0 == key }?.1
        }
        return node
    }
}
