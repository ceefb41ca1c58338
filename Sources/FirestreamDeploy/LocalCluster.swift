import FirestreamConfig
public import Foundation

/// `firestream cluster up|down|status`: a k3d cluster on this machine, made from the bundle's
/// k3d config, with the bundle applied to it.
public struct LocalCluster: Sendable {
    public let bundle: DeployBundle
    public let folder: URL
    let run: ToolRunner
    let report: @Sendable (String) -> Void

    public init(bundle: DeployBundle, folder: URL, run: @escaping ToolRunner, report: @escaping @Sendable (String) -> Void) {
        precondition(bundle.plan.target == .k3d, "a local cluster is made from a k3d bundle")
        self.bundle = bundle
        self.folder = folder
        self.run = run
        self.report = report
    }

    public var name: String { bundle.plan.config.name }
    /// The kubeconfig context k3d creates for the cluster.
    public var context: String { "k3d-\(name)" }
    var driver: ClusterDriver { ClusterDriver(bundle: bundle, folder: folder, context: context, run: run, report: report) }

    /// Creates the cluster unless it exists, loads Firestream's image into it when the local
    /// Docker has it, and applies the bundle.
    public func up() async throws {
        if try await exists() {
            report("cluster \(name) exists (firestream cluster down removes it)")
        } else {
            try await driver.call(
                ToolCall(.k3d, ["cluster", "create", "--config", folder.appending(path: "k3d-cluster.yaml").path], "create cluster \(name)"))
        }
        let image = bundle.plan.image
        let present: Bool
        do {
            present =
                try await run(ToolCall(.docker, ["image", "inspect", image, "--format", "{{.Id}}"], "look for image \(image)", captured: true)).status
                == 0
        } catch is MissingTool {
            present = false
        }
        if present {
            try await driver.call(ToolCall(.k3d, ["image", "import", image, "--cluster", name], "load \(image) into the cluster"))
        } else {
            report("note: \(image) is not in the local Docker; the cluster pulls it (build it with `firestream image build`)")
        }
        try await driver.apply()
        report("gateway: http://localhost:\(bundle.plan.config.deploy.k3d.httpPort)   kubectl context: \(context)")
    }

    func exists() async throws -> Bool {
        try await run(ToolCall(.k3d, ["cluster", "list", name, "--output", "json"], "look for cluster \(name)", captured: true)).status == 0
    }

    public func down() async throws {
        try await driver.call(ToolCall(.k3d, ["cluster", "delete", name], "delete cluster \(name)"))
    }

    public func status() async throws {
        guard try await exists() else { throw DeployApplyError(description: "there is no cluster \(name): `firestream cluster up` creates it") }
        try await driver.call(ToolCall(.k3d, ["cluster", "list", name], "cluster \(name)"))
        try await driver.status()
    }
}
