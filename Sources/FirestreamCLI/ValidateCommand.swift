import ArgumentParser
import FirestreamConfig
import FirestreamEmbedded

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
            """
    )

    @Argument(help: "A config file, or a project directory holding one (default: the current directory).")
    var path: String?

    @Option(help: "How to print the result: text for people, json for programs.")
    var format: DiagnosticFormat = .text

    func run() throws {
        var report = ConfigLoader.load(path)
        // What `up` would refuse on this machine although the file is valid.
        if let config = report.config, report.isValid {
            report.diagnostics += EmbeddedStack.machineProblems(config).map { Diagnostic(.error, at: nil, $0) }
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
