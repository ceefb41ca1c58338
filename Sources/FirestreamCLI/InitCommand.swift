import ArgumentParser
import FirestreamConfig
import FirestreamJSON
import Foundation

/// `firestream init`: creates a project config that validates.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a new project: a firestream.json (or .yaml) that validates.",
        discussion: """
            On a terminal, init asks for the project name, the services to enable and the file
            format, showing each default in brackets (Enter accepts it). With --yes, or when
            standard input is not a terminal, it uses the flags and the defaults without asking.
            It also adds .firestream/ (runtime data) to the project's .gitignore. An existing
            config is never replaced without --force.

            Known services: \(ServiceKind.allCases.map(\.rawValue).joined(separator: ", ")) (default: \(ServiceKind.initDefaults.map(\.rawValue).joined(separator: ","))).

            Examples:
              firestream init                                   # guided, in the current directory
              firestream init my-pipeline --yes                 # defaults, in ./my-pipeline
              firestream init --name metrics --services kafka,postgresql --format yaml --yes
              firestream init --services "" --yes               # no services, just the local stack
              firestream init shop --template python --yes      # a Python app and its test
              firestream init ops --template airflow --yes      # the demo and a DAG on its topic
            """
    )

    @Argument(help: "The project directory (created if missing).")
    var directory: String = "."

    @Option(help: "Project name, a DNS-1123 label (default: the directory name).")
    var name: String?

    @Option(help: "Comma-separated services to enable, e.g. kafka,minio,postgresql; \"\" for none.")
    var services: String?

    @Option(help: "Comma-separated Kubernetes targets `deploy render` writes: k3s, k3d, flux, helm, vm (default: k3s).")
    var targets: String?

    @Option(
        help:
            "demo (the built-in demo runs; no app files), python (a Python Wiener app in apps/, its test in tests/) or airflow (the demo, and a DAG in dags/ that runs on each batch of its wiener topic; adds the airflow service)."
    )
    var template: Template = .demo

    enum Template: String, ExpressibleByArgument {
        case demo, python, airflow
    }

    @Option(help: "Config file format: json or yaml (default: json).")
    var format: ConfigFormat?

    @Flag(name: .shortAndLong, help: "Do not ask; use the flags and the defaults.")
    var yes = false

    @Flag(help: "Overwrite an existing config file.")
    var force = false

    func validate() throws {
        if let name, let problem = NameRules.dns1123LabelProblem(name) {
            let fixed = NameRules.suggestedLabel(from: name)
            throw ValidationError("--name \"\(name)\" is not a valid name: \(problem)" + (fixed.isEmpty ? "" : " (try \"\(fixed)\")"))
        }
        _ = try parsedServices()
        _ = try parsedTargets()
    }

    private func parsedTargets() throws -> [DeployTarget]? {
        guard let targets else { return nil }
        switch InitWizard.targets(targets) {
        case .success(let parsed): return parsed
        case .failure(let why): throw ValidationError("--targets: \(why.text)")
        }
    }

    func run() throws {
        let target = ConfigLoader.resolve(directory, against: ConfigLoader.currentDirectory)
        let directoryName = NameRules.suggestedLabel(from: target.lastPathComponent)
        var answers = InitAnswers(
            name: name ?? (directoryName.isEmpty ? "firestream" : directoryName),
            services: try parsedServices() ?? ServiceKind.initDefaults, targets: try parsedTargets() ?? [.k3s],
            format: format ?? .json)
        if !yes && isatty(STDIN_FILENO) == 1 {
            do {
                answers = try InitWizard(io: TerminalPrompt()).run(defaults: answers)
            } catch {
                printError("init cancelled: input ended before every question was answered; nothing was written")
                throw ExitCode.failure
            }
        } else if !yes {
            printError("note: standard input is not a terminal, so init uses the flags and defaults (pass --yes to skip this note)")
        }
        if template == .airflow && !answers.services.contains(.airflow) { answers.services.append(.airflow) }
        var config = ProjectScaffold.config(name: answers.name, services: answers.services)
        config.deploy.targets = answers.targets
        if template == .python { config = Self.pythonProject(config) }
        let outcome: ProjectScaffold.Outcome
        do {
            outcome = try ProjectScaffold.write(config, as: answers.format, into: target, force: force)
        } catch let refusal as ProjectScaffold.Refusal {
            printError("error: \(refusal)")
            throw ExitCode.failure
        }
        let written = ConfigLoader.load(outcome.configFile.path)
        guard written.isValid else {
            printError(DiagnosticRenderer.text(written))
            printError("internal error: init wrote a config that does not validate; please report this")
            throw ExitCode.failure
        }
        let serviceList = answers.services.isEmpty ? "none" : answers.services.map(\.rawValue).joined(separator: ", ")
        print("Created \(written.displayPath) for project \"\(answers.name)\" (services: \(serviceList))")
        if outcome.updatedGitignore { print("Added .firestream/ to .gitignore") }
        if template == .python {
            try writeTemplateFiles(
                [("apps/wiener.py", PackageResources.wiener_py), ("tests/test_wiener.py", PackageResources.test_wiener_py)], into: target)
            print("Python: python3 -m pip install <firestream checkout>/python && python3 -m pytest tests")
        }
        if template == .airflow {
            try writeTemplateFiles([("dags/wiener_positions.py", PackageResources.wiener_positions_py)], into: target)
            print("Airflow, once, in the project directory: python3 -m venv .firestream/airflow/venv")
            print("         .firestream/airflow/venv/bin/pip install apache-airflow==3.3.2 <firestream checkout>/integrations/airflow")
            print("         firestream up --with airflow   (docs/airflow.md)")
        }
        let cd = target.path == ConfigLoader.currentDirectory.standardizedFileURL.path ? "" : "cd \(directory) && "
        print("Next: \(cd)firestream validate && firestream up")
        print("      Kubernetes: firestream deploy render --target \(answers.targets[0].rawValue)   (needs gateway.tokens: firestream token create)")
    }

    private func parsedServices() throws -> [ServiceKind]? {
        guard let services else { return nil }
        var kinds: [ServiceKind] = []
        for raw in services.split(separator: ",") {
            let word = raw.trimmingCharacters(in: .whitespaces).lowercased()
            if word.isEmpty || word == "none" { continue }
            guard let kind = ServiceKind(named: word) else {
                let known = ServiceKind.allCases.map(\.rawValue)
                let guess = Suggestion.closest(to: word, in: known).map { " (did you mean \"\($0)\"?)" } ?? ""
                throw ValidationError(
                    "--services: unknown service \"\(word)\"\(guess); known services are \(known.joined(separator: ", "))")
            }
            if !kinds.contains(kind) { kinds.append(kind) }
        }
        return kinds
    }

    /// The Python template: the demo's metronome, and its Wiener app written in Python.
    static func pythonProject(_ base: ProjectConfig) -> ProjectConfig {
        var config = base
        config.topics = [TopicConfig(name: "metronome"), TopicConfig(name: "wiener")]
        config.apps = [
            AppConfig(name: "metronome", kind: "metronome", settings: .object([("devices", .number("5")), ("rate", .number("1"))])),
            AppConfig(
                name: "wiener", kind: "python",
                settings: .object([("module", .string("apps/wiener.py:Wiener")), ("python", .string("python3")), ("workers", .number("1"))])),
        ]
        return config
    }

    /// Writes the template's files, refusing to replace one without --force.
    private func writeTemplateFiles(_ files: [(String, [UInt8])], into directory: URL) throws {
        for (path, bytes) in files {
            let url = directory.appending(path: path)
            if FileManager.default.fileExists(atPath: url.path) && !force {
                printError("error: \(path) already exists; pass --force to overwrite it")
                throw ExitCode.failure
            }
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url, options: .atomic)
            print("Created \(path)")
        }
    }
}
