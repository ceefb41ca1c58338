import FirestreamConfig
public import Foundation

/// Applies, inspects and removes a rendered bundle in a cluster through kubectl (and helm for
/// `--target helm`), reporting each step as it goes.
public struct ClusterDriver: Sendable {
    public let bundle: DeployBundle
    /// Where the bundle was written; the calls name its files.
    public let folder: URL
    /// The kubeconfig context; the current one when nil.
    public let context: String?
    let run: ToolRunner
    let report: @Sendable (String) -> Void

    public init(bundle: DeployBundle, folder: URL, context: String?, run: @escaping ToolRunner, report: @escaping @Sendable (String) -> Void) {
        self.bundle = bundle
        self.folder = folder
        self.context = context
        self.run = run
        self.report = report
    }

    /// Kinds whose definitions a chart of the stack installs: applied once those exist.
    static let chartDefined = ["HTTPProxy": "httpproxies.projectcontour.io", "SparkApplication": "sparkapplications.sparkoperator.k8s.io"]
    /// Kinds the cluster must already know (k3s's helm-controller, Flux), with what to do otherwise.
    static let prerequisites = [
        "HelmChart": (
            "helmcharts.helm.cattle.io", "HelmChart resources need k3s's helm-controller; for another cluster render --target helm (or flux)"
        ),
        "HelmRelease": (
            "helmreleases.helm.toolkit.fluxcd.io", "HelmRelease resources need Flux in the cluster: `flux install`, or render --target helm"
        ),
    ]

    var kubeContext: [String] { context.map { ["--context", $0] } ?? [] }
    var helmContext: [String] { context.map { ["--kube-context", $0] } ?? [] }
    var namespace: String { bundle.plan.namespace }
    func paths(_ files: [BundleFile]) -> [String] { files.flatMap { ["-f", folder.appending(path: $0.path).path] } }

    func call(_ call: ToolCall) async throws {
        try await checked(call, run: run, report: report)
    }

    /// Whether the cluster knows a custom resource definition.
    func knows(_ definition: String) async throws -> Bool {
        let result = try await run(
            ToolCall(.kubectl, kubeContext + ["get", "crd", definition, "-o", "name"], "look for \(definition)", captured: true))
        return result.status == 0
    }

    /// Installs the services, applies Firestream's objects, waits for the definitions the charts
    /// bring, applies what needs them, and waits until Firestream's workloads have rolled out.
    public func apply() async throws {
        let manifests = bundle.manifests
        for kind in Set(manifests.compactMap(\.kind)).sorted() {
            guard let (definition, advice) = Self.prerequisites[kind] else { continue }
            if try await !knows(definition) { throw DeployApplyError(description: "the cluster has no \(definition): \(advice)") }
        }
        if bundle.plan.target == .helm { try await installCharts() }
        let later = manifests.filter { Self.chartDefined[$0.kind ?? ""] != nil }
        let now = manifests.filter { Self.chartDefined[$0.kind ?? ""] == nil }
        try await call(ToolCall(.kubectl, kubeContext + ["apply"] + paths(now), "apply \(now.count) manifests"))
        if !later.isEmpty {
            let definitions = Set(later.compactMap { Self.chartDefined[$0.kind ?? ""] }).sorted()
            try await waitForDefinitions(definitions)
            try await call(ToolCall(.kubectl, kubeContext + ["apply"] + paths(later), "apply \(later.count) manifests that need them"))
        }
        for workload in manifests {
            guard let kind = workload.kind, ["StatefulSet", "Deployment"].contains(kind), let name = workload.objectName else { continue }
            try await call(
                ToolCall(
                    .kubectl, kubeContext + ["rollout", "status", "\(kind.lowercased())/\(name)", "--namespace", namespace, "--timeout", "15m"],
                    "wait for \(kind) \(name)"))
        }
        report("deployed project \(bundle.plan.config.name) to namespace \(namespace)" + (context.map { " of context \($0)" } ?? ""))
    }

    /// The stack's charts bring their own definitions; a fresh install takes a few minutes.
    private func waitForDefinitions(_ definitions: [String]) async throws {
        let deadline = ContinuousClock.now + .seconds(600)
        for definition in definitions {
            report("==> wait for \(definition) (installed by its chart)")
            while try await !knows(definition) {
                guard ContinuousClock.now < deadline else {
                    throw DeployApplyError(
                        description: "\(definition) did not appear within 10 minutes: is its chart installing? (firestream deploy status)")
                }
                try await Task.sleep(for: .seconds(5))
            }
            try await call(
                ToolCall(
                    .kubectl, kubeContext + ["wait", "--for", "condition=established", "--timeout", "120s", "crd/\(definition)"],
                    "wait for \(definition)"))
        }
    }

    private func installCharts() async throws {
        for (_, release) in bundle.plan.releases {
            if !release.isOCI { try await call(ToolCall(.helm, release.repositoryAddArguments, "add chart repository")) }
            let values = folder.appending(path: release.valuesFile).path
            try await call(
                ToolCall(
                    .helm, helmContext + release.upgradeArguments(namespace: namespace, values: values, createNamespace: true),
                    "install \(release.chart) \(release.version)"))
        }
    }

    /// Firestream's workloads and everything else in the project's namespace.
    public func status() async throws {
        try await call(
            ToolCall(
                .kubectl,
                kubeContext + ["get", "statefulsets,deployments,pods,services,persistentvolumeclaims", "--namespace", namespace, "-o", "wide"],
                "objects in namespace \(namespace)"))
    }

    /// Removes what `apply` created; the namespace and the volumes (the log, the services' data)
    /// stay until removed on purpose.
    public func delete() async throws {
        let manifests = bundle.manifests.filter { $0.kind != "Namespace" }
        let ordered = manifests.filter { Self.chartDefined[$0.kind ?? ""] != nil } + manifests.filter { Self.chartDefined[$0.kind ?? ""] == nil }
        try await call(
            ToolCall(.kubectl, kubeContext + ["delete", "--ignore-not-found", "--wait"] + paths(ordered), "delete \(ordered.count) manifests"))
        if bundle.plan.target == .helm {
            for (_, release) in bundle.plan.releases.reversed() {
                try await call(
                    ToolCall(
                        .helm, helmContext + ["uninstall", release.releaseName, "--namespace", namespace, "--ignore-not-found"],
                        "uninstall \(release.chart)"))
            }
        }
        report(
            "kept: namespace \(namespace) and its PersistentVolumeClaims (the log and the services' data); "
                + "to remove them too: kubectl \(kubeContext.joined(separator: " ")) delete namespace \(namespace)".replacingOccurrences(
                    of: "  ", with: " "))
    }
}

public struct DeployApplyError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
