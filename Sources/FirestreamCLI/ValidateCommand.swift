import ArgumentParser
import FirestreamConfig
import FirestreamDeploy
import FirestreamEmbedded
import FirestreamStreams
import Foundation

/// Output formats for diagnostics.
enum DiagnosticFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
}

/// `firestream validate`: checks a config and reports every problem at once.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a project config and report every problem at once.",
        discussion: """
            Each problem names the file, line and column, the JSON path of the value, what is
            wrong and how to fix it. Exit status: 0 when the config is valid (warnings allowed),
            1 when it has errors.

            Examples:
              firestream validate                        # ./firestream.json or ./firestream.yaml
              firestream validate deploy/firestream.yaml
              firestream validate --format json | jq '.diagnostics[].path'
              firestream validate --deploy --env prod    # also what a cluster needs (tokens, replicas …)

            --deploy adds the rules `firestream deploy render` checks for the config's first
            deploy target (or --target): tokens for a gateway that listens beyond loopback,
            one replica with the embedded log, Spark jobs and their operator, MinIO sizes.
            """
    )

    @Argument(help: "A config file, or a project directory holding one (default: the current directory).")
    var path: String?

    @Option(help: "How to print the result: text for people, json for programs.")
    var format: DiagnosticFormat = .text

    @Flag(help: "Also check what running in Kubernetes needs (the rules of `firestream deploy render`).")
    var deploy = false

    @Option(help: "With --deploy: the target whose rules apply (default: the config's first deploy target).")
    var target: DeployTarget?

    @Option(help: "An entry of the config's `environments` to lay over it first.")
    var env: String?

    /// Each app built as `up` builds it: unknown kinds and bad settings, and for Python apps
    /// the interpreter, the package, the file and the class.
    static func appProblems(_ config: ProjectConfig, directory: String) -> [Diagnostic] {
        var problems: [Diagnostic] = []
        for (index, app) in config.apps.enumerated() where app.enabled && app.runsInFirestream {
            let path = ConfigPath.root / "apps" / index
            do {
                _ = try AppCatalog.current.runnable(for: app, project: config.name, overrides: AppCatalog.Overrides(projectDirectory: directory))
            } catch RuntimeError.badSetting(_, let key, let reason) {
                problems.append(Diagnostic(.error, path: path / "settings" / key, at: nil, reason))
            } catch RuntimeError.unknownKind(_, let kind, let known) {
                problems.append(
                    Diagnostic(
                        .error, path: path / "kind", at: nil, "unknown app kind \"\(kind)\"",
                        hint: "this binary knows \(known.joined(separator: ", "))"))
            } catch {
                problems.append(Diagnostic(.error, path: path, at: nil, "\(error)"))
            }
        }
        return problems + tableProblems(config, directory: directory)
    }

    /// A table whose topic nothing declares or writes stays empty: a warning, since clients may
    /// still create the topic by writing to it.
    static func tableProblems(_ config: ProjectConfig, directory: String) -> [Diagnostic] {
        guard !config.tables.isEmpty else { return [] }
        let overrides = AppCatalog.Overrides(projectDirectory: directory)
        let stack = EmbeddedStack(config: config, options: EmbeddedStack.Options(dataDirectory: ""))
        let runnables = stack.apps.compactMap { try? AppCatalog.current.runnable(for: $0, project: config.name, overrides: overrides) }
        let known = Set(config.topics.map(\.name) + config.sources.map(\.topic) + runnables.flatMap { $0.usedTopics.keys })
        return config.tables.enumerated().compactMap { index, table in
            guard !known.contains(table.from) else { return nil }
            return Diagnostic(
                .warning, path: ConfigPath.root / "tables" / index / "from", at: nil,
                "no topic \"\(table.from)\" is declared, and no app or source writes one: the table stays empty until records arrive",
                hint:
                    "declare it under topics, or check the name (topics here: \(known.filter { !$0.hasPrefix("__") }.sorted().joined(separator: ", ")))"
            )
        }
    }

    func run() throws {
        var report = ConfigLoader.load(path, environment: env)
        // What `up` would refuse on this machine although the file is valid.
        if let config = report.config, report.isValid {
            report.diagnostics += EmbeddedStack.machineProblems(config).map { Diagnostic(.error, at: nil, $0) }
            report.diagnostics += report.locating(Self.appProblems(config, directory: (report.directory ?? ConfigLoader.currentDirectory).path))
            if deploy {
                report.diagnostics += report.locating(DeployRules.check(config, target: target ?? config.deploy.targets.first ?? .k3s))
            }
        }
        switch format {
        case .json:
            print(DiagnosticRenderer.json(report), terminator: "")
        case .text:
            if !report.diagnostics.isEmpty { printError(DiagnosticRenderer.text(report), terminator: "") }
            if let config = report.config, report.isValid {
                let warnings = report.diagnostics.warningCount
                print(
                    "\(report.displayPath): valid — project \"\(config.name)\", \(config.services.count) service(s), \(config.topics.count) topic(s), \(config.apps.count) app(s)"
                        + (warnings > 0 ? ", \(warnings) warning(s)" : ""))
            } else {
                let errors = report.diagnostics.errorCount
                printError("\(report.displayPath): \(errors) error\(errors == 1 ? "" : "s")")
            }
        }
        if !report.isValid { throw ExitCode.failure }
    }
}
