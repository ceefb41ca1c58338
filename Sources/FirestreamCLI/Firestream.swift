public import ArgumentParser
import FirestreamConfig
public import FirestreamEmbedded

/// The `firestream` command: a local-first streaming data platform in one binary.
public struct Firestream: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "firestream",
        abstract: "A local-first streaming data platform in one binary.",
        discussion: """
            Start a project, check its config, and look at the result with every default filled in:

              firestream init my-pipeline --yes
              cd my-pipeline
              firestream validate
              firestream config show --format yaml
              firestream up                          # the demo, with the dashboard at http://localhost:8000

            An app as a Python class, and the project in Kubernetes:

              firestream init shop --template python --yes
              firestream deploy render --target k3d && firestream cluster up

            Run `firestream help <command>` for the details and examples of each command.
            The config keys are documented in docs/config.md.
            """,
        version: FirestreamVersion.current,
        subcommands: [
            InitCommand.self, ValidateCommand.self, ConfigCommand.self, UpCommand.self, WorkerCommand.self, TopicsCommand.self, GroupsCommand.self,
            TokenCommand.self, SQLCommand.self, CatalogCommand.self, AppsCommand.self, DeployCommand.self, ClusterCommand.self, ImageCommand.self,
        ]
    )

    public init() {}

    /// Runs the CLI with `catalog` as the app kinds `up` knows: a custom binary adds its kinds
    /// to ``AppCatalog/standard`` and starts here (see docs/apps.md).
    public static func main(catalog: AppCatalog) async {
        await AppCatalog.$current.withValue(catalog) { await main() }
    }
}
