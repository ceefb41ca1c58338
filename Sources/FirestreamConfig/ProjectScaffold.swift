public import Foundation

/// Creates a new project: a config that validates, and a `.gitignore` entry for runtime data.
public enum ProjectScaffold {
    /// What `init` produced, for its summary.
    public struct Outcome: Sendable {
        public var configFile: URL
        public var updatedGitignore: Bool
    }

    /// Why `init` refused to write.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The config `init` writes: the chosen services with their defaults, no topics or apps yet
    /// (the runtime falls back to the built-in demo).
    public static func config(name: String, services: [ServiceKind]) -> ProjectConfig {
        ProjectConfig(name: name, services: services.map { ServiceConfig($0) })
    }

    /// Writes `config` into `directory` (created if missing). Refuses to replace an existing config
    /// unless `force`, and never leaves both a JSON and a YAML config behind.
    public static func write(
        _ config: ProjectConfig, as format: ConfigFormat, into directory: URL, force: Bool
    ) throws -> Outcome {
        let files = FileManager.default
        try files.createDirectory(at: directory, withIntermediateDirectories: true)
        let target = directory.appendingPathComponent(format.fileName)
        let others = ConfigLoader.fileNames.filter { $0 != format.fileName }.filter {
            files.fileExists(atPath: directory.appendingPathComponent($0).path)
        }
        if let other = others.first {
            throw Refusal(
                description:
                    "\(other) already exists in \(directory.path); writing \(format.fileName) would leave two configs (delete \(other) first, or use --format \(other.hasSuffix("json") ? "json" : "yaml") --force)"
            )
        }
        if files.fileExists(atPath: target.path) && !force {
            throw Refusal(description: "\(target.path) already exists; pass --force to overwrite it")
        }
        let text = header(for: format) + ConfigRenderer.render(config, as: format)
        try Data(text.utf8).write(to: target, options: .atomic)
        return Outcome(configFile: target, updatedGitignore: try ensureGitignore(in: directory))
    }

    private static func header(for format: ConfigFormat) -> String {
        format == .yaml ? "# Firestream project config — every key is documented in docs/config.md\n" : ""
    }

    /// Adds `.firestream/` to the project's `.gitignore`; returns whether the file changed.
    private static func ensureGitignore(in directory: URL) throws -> Bool {
        let url = directory.appendingPathComponent(".gitignore")
        let existing = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        let lines = existing.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        if lines.contains(".firestream/") || lines.contains(".firestream") { return false }
        let separator = existing.isEmpty || existing.hasSuffix("\n") ? "" : "\n"
        try Data((existing + separator + "# Firestream runtime data\n.firestream/\n").utf8).write(to: url, options: .atomic)
        return true
    }
}
