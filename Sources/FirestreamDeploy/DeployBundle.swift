public import FirestreamConfig
public import Foundation

/// One file of a rendered bundle.
public struct BundleFile: Sendable, Equatable {
    /// What reads the file, which decides how it is checked and where it goes.
    public enum Role: Sendable, Equatable {
        /// Kubernetes objects (`kubectl apply`, k3s auto-deploy).
        case manifest
        /// Helm values of one chart (`helm --values`).
        case values
        case k3dConfig
        case kustomization
        case cloudInit
        /// A shell script (executable).
        case script
    }

    /// Relative to the bundle's folder.
    public let path: String
    public let role: Role
    public let contents: String
    /// The kind and name of the object a manifest file holds (one per file).
    public let kind: String?
    public let objectName: String?

    init(_ path: String, _ role: Role, _ contents: String, kind: String? = nil, name: String? = nil) {
        self.path = path
        self.role = role
        self.contents = contents
        self.kind = kind
        self.objectName = name
    }
}

/// Everything `firestream deploy render` writes for one config and target: the same config
/// always gives the same files, byte for byte.
public struct DeployBundle: Sendable {
    public let plan: DeployPlan
    public let files: [BundleFile]
    /// What the deploy rules warn of for this config (nothing that keeps it from deploying).
    public let warnings: [Diagnostic]

    /// The bundle, or the problems (deploy rules) that keep the config from running in a cluster.
    /// `dags`: the project's DAG files (name → text), shipped to Airflow when its service is on.
    public static func render(_ config: ProjectConfig, target: DeployTarget, dags: [String: String] = [:]) -> Result<
        DeployBundle, DeployRulesError
    > {
        let problems = DeployRules.check(config, target: target)
        if problems.hasErrors { return .failure(DeployRulesError(diagnostics: problems)) }
        let plan = DeployPlan(config, target: target, dags: dags)
        return .success(DeployBundle(plan: plan, files: plan.files(), warnings: problems))
    }

    /// The manifest files, the ones `kubectl apply` and the schema kit read.
    public var manifests: [BundleFile] { files.filter { $0.role == .manifest } }

    /// Writes the files under `directory`, replacing an earlier bundle there (files it listed
    /// that this one no longer has are removed); refuses a folder that holds anything else.
    public func write(to directory: URL) throws {
        let fileManager = FileManager.default
        let marker = directory.appending(path: Self.markerName)
        var previous: [String] = []
        if let entries = try? fileManager.contentsOfDirectory(atPath: directory.path), !entries.isEmpty {
            guard let listing = try? String(contentsOf: marker, encoding: .utf8) else {
                throw DeployWriteError(
                    description: "\(directory.path) is not empty and holds no bundle of firestream; choose another --out, or empty it")
            }
            previous = listing.split(separator: "\n").map(String.init)
        }
        for path in previous where !files.contains(where: { $0.path == path }) && !path.contains("..") {
            try? fileManager.removeItem(at: directory.appending(path: path))
        }
        for file in files {
            let url = directory.appending(path: file.path)
            try fileManager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(file.contents.utf8).write(to: url, options: .atomic)
            if file.role == .script { try fileManager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path) }
        }
        try Data((files.map(\.path).joined(separator: "\n") + "\n").utf8).write(to: marker, options: .atomic)
    }

    /// Lists the files a bundle folder holds, so that the next render can replace them.
    public static let markerName = ".firestream-bundle"
}

public struct DeployWriteError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// The config breaks rules that only matter in a cluster.
public struct DeployRulesError: Error, Sendable {
    public var diagnostics: [Diagnostic]
}

extension DeployPlan {
    func files() -> [BundleFile] {
        let namespaceObject = KubeObject("v1", "Namespace", ObjectMeta(name: namespace, labels: ["app.kubernetes.io/part-of": name]))
        var manifests = [
            BundleFile("namespace.yaml", .manifest, YAMLText.file("Project \(name)'s namespace.", [namespaceObject]), kind: "Namespace")
        ]
        manifests += firestreamObjects().map { object in
            BundleFile(
                "firestream/\(object.kind.lowercased())-\(object.metadata.name).yaml", .manifest,
                YAMLText.file("Firestream (project \(name)): \(object.kind) \(object.metadata.name).", [object]), kind: object.kind,
                name: object.metadata.name)
        }
        manifests += sparkApplications()
        if let dagObject = airflowDags {
            manifests.append(
                BundleFile(
                    "airflow/configmap-\(dagObject.metadata.name).yaml", .manifest,
                    YAMLText.file("The project's Airflow DAGs (dags/*.py), mounted into the airflow chart's pods.", [dagObject]), kind: "ConfigMap",
                    name: dagObject.metadata.name))
        }
        var extra: [BundleFile] = []
        switch target {
        case .k3s, .k3d, .vm: manifests += helmCharts()
        case .flux: manifests += fluxReleases()
        case .helm: extra += helmValuesAndScript()
        }
        switch target {
        case .k3d: extra.append(k3dConfig())
        case .vm: extra.append(cloudInit(manifests))
        case .k3s, .flux, .helm: break
        }
        return manifests + [kustomization(manifests)] + extra
    }

    private func kustomization(_ manifests: [BundleFile]) -> BundleFile {
        let text = """
            # `kubectl apply -k .` applies every manifest of project \(name), namespace first.
            apiVersion: kustomize.config.k8s.io/v1beta1
            kind: Kustomization
            resources:

            """
        return BundleFile("kustomization.yaml", .kustomization, text + manifests.map { "  - \($0.path)\n" }.joined())
    }
}
