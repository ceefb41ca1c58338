public import ArgumentParser
public import FirestreamConfig

extension ConfigFormat: ExpressibleByArgument {}
extension WarehouseConfig.Engine: ExpressibleByArgument {}

/// `firestream config …`: inspect the project config.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Inspect the project config.",
        discussion: """
            Examples:
              firestream config show                    # normalized JSON, every default filled in
              firestream config show --format yaml
            """,
        subcommands: [ShowCommand.self]
    )

    /// `firestream config show`: the normalized config with every default filled in.
    struct ShowCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Print the normalized config with every default filled in.",
            discussion: """
                Aliases are resolved (postgres → postgresql), quantities are kept as written, and
                every key the file leaves out appears with its default. The output is itself a
                valid config. Problems are reported as by `firestream validate` (exit status 1).

                Examples:
                  firestream config show
                  firestream config show --format yaml > firestream.yaml.new
                  firestream config show examples/firestream.json
                """
        )

        @Argument(help: "A config file, or a project directory holding one (default: the current directory).")
        var path: String?

        @Option(help: "Output format: json or yaml.")
        var format: ConfigFormat = .json

        func run() throws {
            let report = ConfigLoader.load(path)
            if !report.diagnostics.isEmpty { printError(DiagnosticRenderer.text(report), terminator: "") }
            guard let config = report.config else { throw ExitCode.failure }
            print(ConfigRenderer.render(config, as: format), terminator: "")
        }
    }
}
