public import ArgumentParser
public import FirestreamConfig
import FirestreamDeploy
import Foundation

extension DeployTarget: ExpressibleByArgument {}

/// `firestream deploy …`: the project in Kubernetes.
struct DeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Render the project for Kubernetes, and apply it to a cluster.",
        discussion: """
            The same config that `firestream up` runs renders a complete bundle: Firestream
            itself (a StatefulSet with a volume for the embedded log, or a gateway and workers
            on a Kafka cluster), each enabled service as a pinned Helm chart, Spark jobs, and
            per target the files that install it. See docs/deploy.md.

            Examples:
              firestream deploy render                       # deploy/k3s: manifests + k3s HelmCharts
              firestream deploy render --target helm --env prod
              firestream deploy apply --context my-cluster   # render, kubectl apply, wait for rollout
              firestream deploy status --context my-cluster
            """,
        subcommands: [RenderCommand.self, ApplyCommand.self, StatusCommand.self, DeleteCommand.self]
    )

    /// What every deploy subcommand takes to find the project and choose the bundle.
    struct BundleOptions: ParsableArguments {
        @Option(name: .long, help: "The project config file or directory (default: the current directory).")
        var config: String?

        @Option(help: "An entry of the config's `environments` to lay over it (replicas, resources, services …).")
        var env: String?

        @Option(
            help:
                "k3s (HelmChart resources for k3s's helm-controller), k3d (k3s plus a k3d cluster config), flux (HelmRepository + HelmRelease), helm (values files + install script), vm (k3s in cloud-init user-data). Default: the config's deploy.targets, else k3s."
        )
        var target: DeployTarget?

        @Option(help: "The bundle's folder (default: deploy/<env, else target> beside the config).")
        var out: String?

        func render() throws -> (DeployBundle, URL) {
            try renderBundle(config: config, env: env, target: target, out: out)
        }
    }

    /// `firestream deploy render`: writes the bundle and says what to do with it.
    struct RenderCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "render",
            abstract: "Write the project's Kubernetes bundle (deterministic: the same config gives the same files).",
            discussion: """
                Writes into --out (default deploy/<env, else target>/ beside the config),
                replacing an earlier bundle there; a folder holding anything else is refused.
                Nothing in the bundle is secret: values of the environment variables the config
                names (secretEnv, passwordEnv) come from the Secret deploy.secret
                (default <project>-secrets), which you create in the cluster.

                Examples:
                  firestream deploy render                        # deploy/k3s
                  firestream deploy render --target vm            # deploy/vm/cloud-init.yaml for any Linux VM
                  firestream deploy render --env prod --target flux --out gitops/prod
                """
        )

        @OptionGroup var bundle: BundleOptions

        func run() throws {
            let (rendered, folder) = try bundle.render()
            try write(rendered, to: folder)
            let shown = ConfigLoader.displayPath(folder)
            print("wrote \(rendered.files.count) files to \(shown)/ (target \(rendered.plan.target.rawValue), namespace \(rendered.plan.namespace))")
            for file in rendered.files { print("  \(file.path)") }
            print(Self.nextStep(rendered.plan.target, folder: shown))
        }

        static func nextStep(_ target: DeployTarget, folder: String) -> String {
            switch target {
            case .k3s: "next: kubectl apply -k \(folder)   (or firestream deploy apply)"
            case .k3d: "next: firestream cluster up   (k3d cluster create --config \(folder)/k3d-cluster.yaml, then kubectl apply -k \(folder))"
            case .flux: "next: commit \(folder) to the repository Flux watches (a Kustomization pointing at it)"
            case .helm: "next: \(folder)/helm-install.sh"
            case .vm:
                "next: give \(folder)/cloud-init.yaml to the VM as user-data (e.g. gcloud compute instances create … --metadata-from-file user-data=\(folder)/cloud-init.yaml)"
            }
        }
    }

    /// `firestream deploy apply`: render, then install in the cluster and wait for rollout.
    struct ApplyCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply",
            abstract: "Render the bundle and apply it to a cluster, waiting until Firestream has rolled out.",
            discussion: """
                Renders like `deploy render` (the files stay in --out for review), then with
                kubectl (and helm for --target helm), against --context or the current context:
                checks that the cluster can install the target's chart resources (k3s's
                helm-controller, or Flux); installs the charts (--target helm); applies
                Firestream's objects and the services' chart resources, printing what each
                created or changed; waits for the definitions the charts bring (Contour's
                HTTPProxy, the Spark operator's SparkApplication) and applies what needs them;
                then waits for each of Firestream's workloads to roll out.

                Create the Secret with the values of the variables the config names first:
                  kubectl create secret generic <project>-secrets -n <namespace> --from-literal=NAME=value

                Examples:
                  firestream deploy apply --context my-cluster
                  firestream deploy apply --target helm --env prod --context gke_prod
                """
        )

        @OptionGroup var bundle: BundleOptions

        @Option(help: "The kubeconfig context (default: kubectl's current context).")
        var context: String?

        func run() async throws {
            let (rendered, folder) = try bundle.render()
            try write(rendered, to: folder)
            try await drive {
                try await driver(rendered, folder, context).apply()
            }
        }
    }

    /// `firestream deploy status`.
    struct StatusCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status", abstract: "Show the project's workloads, pods, services and volumes in the cluster.")

        @OptionGroup var bundle: BundleOptions

        @Option(help: "The kubeconfig context (default: kubectl's current context).")
        var context: String?

        func run() async throws {
            let (rendered, folder) = try bundle.render()
            try await drive {
                try await driver(rendered, folder, context).status()
            }
        }
    }

    /// `firestream deploy delete`.
    struct DeleteCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete",
            abstract: "Remove what `deploy apply` created (the namespace and the volumes stay).",
            discussion: """
                Deletes the bundle's objects (and uninstalls the charts of --target helm). The
                namespace and its PersistentVolumeClaims, which hold the log and the services'
                data, stay until you delete the namespace yourself. Asks first unless --yes.
                """
        )

        @OptionGroup var bundle: BundleOptions

        @Option(help: "The kubeconfig context (default: kubectl's current context).")
        var context: String?

        @Flag(help: "Do not ask for confirmation.")
        var yes = false

        func run() async throws {
            let (rendered, folder) = try bundle.render()
            let place = "namespace \(rendered.plan.namespace)" + (context.map { " of context \($0)" } ?? " of the current context")
            guard
                try yes
                    || confirmed(
                        "Delete project \(rendered.plan.config.name) from \(place)?", otherwise: "deleting needs --yes when not on a terminal")
            else { return }
            try write(rendered, to: folder)
            try await drive {
                try await driver(rendered, folder, context).delete()
            }
        }
    }
}

/// Loads the config (reporting its problems like `validate`), checks the deploy rules and
/// renders; the folder the bundle belongs in (default deploy/<env, else target>/ beside the config).
func renderBundle(config: String?, env: String?, target: DeployTarget?, out: String?) throws -> (DeployBundle, URL) {
    let report = ConfigLoader.load(config, environment: env)
    if !report.diagnostics.isEmpty { printError(DiagnosticRenderer.text(report), terminator: "") }
    guard let loaded = report.config else { throw ExitCode.failure }
    let chosen = target ?? loaded.deploy.targets.first ?? .k3s
    let airflow = loaded.services.contains { $0.serviceName == .airflow && $0.enabled }
    let dags = airflow ? try projectDags(in: (report.directory ?? ConfigLoader.currentDirectory).appending(path: "dags")) : [:]
    switch DeployBundle.render(loaded, target: chosen, dags: dags) {
    case .failure(let problems):
        var located = report
        located.diagnostics = report.locating(problems.diagnostics)
        printError(DiagnosticRenderer.text(located), terminator: "")
        printError("\(report.displayPath): cannot deploy: \(problems.diagnostics.errorCount) problem(s) above")
        throw ExitCode.failure
    case .success(let bundle):
        var warnings = report
        warnings.diagnostics = report.locating(bundle.warnings)
        if !warnings.diagnostics.isEmpty { printError(DiagnosticRenderer.text(warnings), terminator: "") }
        let cwd = ConfigLoader.currentDirectory
        let folder =
            out.map { ConfigLoader.resolve($0, against: cwd) }
            ?? (report.directory ?? cwd).appending(path: "deploy").appending(path: env ?? chosen.rawValue)
        return (bundle, folder)
    }
}

/// The project's Airflow DAGs (`dags/*.py`) for the bundle's ConfigMap: at most 900 KB together
/// (a ConfigMap holds 1 MiB); names a ConfigMap cannot hold are skipped with a note.
func projectDags(in folder: URL) throws -> [String: String] {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [:] }
    var dags: [String: String] = [:]
    var total = 0
    for name in names.sorted() where name.hasSuffix(".py") {
        guard name.utf8.allSatisfy({ $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") })
        else {
            printError("note: dags/\(name) is not shipped to Airflow: a ConfigMap key holds letters, digits, '-', '_' and '.' only")
            continue
        }
        let url = folder.appending(path: name)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            printError("note: dags/\(name) is not shipped to Airflow: it is not UTF-8 text")
            continue
        }
        total += text.utf8.count
        guard total <= 900_000 else {
            printError(
                "error: dags/ holds more than 900 KB of DAGs, more than a ConfigMap holds; ship them with the chart's dags.gitSync (services[].values)"
            )
            throw ExitCode.failure
        }
        dags[name] = text
    }
    return dags
}

extension UInt8 {
    fileprivate var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}

/// Drives `bundle`, written in `folder`, in the cluster of `context` with real processes.
func driver(_ bundle: DeployBundle, _ folder: URL, _ context: String?) -> ClusterDriver {
    ClusterDriver(bundle: bundle, folder: folder, context: context, run: ToolProcess.run, report: ToolProcess.report)
}

/// Writes a bundle, a folder that is not a bundle's being a usage error.
func write(_ bundle: DeployBundle, to folder: URL) throws {
    do {
        try bundle.write(to: folder)
    } catch let error as DeployWriteError {
        throw ValidationError(error.description)
    }
}

/// Runs a cluster operation; a missing program, a failed call or a refusal ends the command
/// with its message instead of a stack of errors.
func drive(_ operation: () async throws -> Void) async throws {
    do {
        try await operation()
    } catch let error where error is MissingTool || error is ToolFailed || error is DeployApplyError {
        printError("error: \(error)")
        throw ExitCode.failure
    }
}
