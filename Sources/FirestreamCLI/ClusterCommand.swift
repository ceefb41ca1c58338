import ArgumentParser
import FirestreamConfig
import FirestreamDeploy

/// `firestream cluster …`: a local Kubernetes cluster (k3d) running the project.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Run the project in a local k3d cluster (k3s in Docker).",
        discussion: """
            `cluster up` renders the k3d bundle into deploy/k3d/ (or --out), creates the
            cluster from its k3d-cluster.yaml unless it exists (named after the project;
            kubectl context k3d-<project>), loads Firestream's image from the local Docker
            when it is there, and applies the bundle like `deploy apply`. The gateway is then
            at http://localhost:<deploy.k3d.httpPort> (8000), the Kafka listener of the
            embedded log at localhost:<deploy.k3d.kafkaPort> (9092), an ingress at
            http://<project>.localhost:8080.

            Needs k3d, kubectl and Docker; a missing one is named with its install steps.

            Examples:
              firestream image build && firestream cluster up
              firestream cluster status
              firestream cluster down
            """,
        subcommands: [Up.self, Down.self, Status.self]
    )

    struct Options: ParsableArguments {
        @Option(name: .long, help: "The project config file or directory (default: the current directory).")
        var config: String?

        @Option(help: "An entry of the config's `environments` to lay over it.")
        var env: String?

        @Option(help: "The bundle's folder (default: deploy/k3d beside the config).")
        var out: String?

        func cluster() throws -> LocalCluster {
            let (bundle, folder) = try renderBundle(config: config, env: env, target: .k3d, out: out ?? env.map { "deploy/\($0)-k3d" })
            try write(bundle, to: folder)
            return LocalCluster(bundle: bundle, folder: folder, run: ToolProcess.run, report: ToolProcess.report)
        }
    }

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create the local cluster (unless it exists) and apply the project to it.")
        @OptionGroup var options: Options
        func run() async throws {
            let cluster = try options.cluster()
            try await drive { try await cluster.up() }
        }
    }

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete the local cluster, with everything in it.")
        @OptionGroup var options: Options
        func run() async throws {
            let cluster = try options.cluster()
            try await drive { try await cluster.down() }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the local cluster and the project's objects in it.")
        @OptionGroup var options: Options
        func run() async throws {
            let cluster = try options.cluster()
            try await drive { try await cluster.status() }
        }
    }
}
