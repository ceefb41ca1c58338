public import FirestreamFormats

/// How `firestream deploy` renders the project for Kubernetes (the `deploy` section).
public struct DeployConfig: Sendable, Equatable {
    /// The namespace of every object; the project's name when nil.
    public var namespace: String?
    /// The host name the ingress answers for; `<project>.localhost` when nil.
    public var host: String?
    /// The volume of the embedded log (Firestream's StatefulSet).
    public var storage = Quantity.literal("10Gi", 10 * 0x1p30)
    /// The Secret holding the values of every environment variable the config names
    /// (`secretEnv`, `passwordEnv`); `<project>-secrets` when nil.
    public var secret: String?
    /// The k3s release a VM installs and k3d runs.
    public var k3sVersion = DeployConfig.defaultK3sVersion
    /// What `firestream deploy render` writes when no --target is given.
    public var targets: [DeployTarget] = [.k3s]
    public var k3d = K3dSettings()

    public static let defaultK3sVersion = "v1.35.2+k3s1"

    public init() {}

    /// The local cluster `firestream cluster up` creates.
    public struct K3dSettings: Sendable, Equatable {
        /// Worker nodes beside the one server.
        public var agents = 0
        /// The host port of the gateway (and of the ingress, when enabled).
        public var httpPort = 8000
        /// The host port of the Kafka listener.
        public var kafkaPort = 9092

        public init() {}
    }
}

/// The kinds of bundle `firestream deploy render` writes.
public enum DeployTarget: String, Sendable, CaseIterable {
    /// Manifests plus HelmChart resources for k3s's built-in helm-controller.
    case k3s
    /// The k3s bundle plus a k3d cluster config.
    case k3d
    /// Manifests plus Flux HelmRepository and HelmRelease resources.
    case flux
    /// Manifests plus values files and a script of pinned `helm upgrade --install` commands.
    case helm
    /// The k3s bundle inside a cloud-init user-data file that installs k3s on any Linux VM.
    case vm
}

extension AppConfig {
    /// Apps of this kind are Spark jobs: deployed as SparkApplications, never run by `up`.
    public static let sparkKind = "spark"

    /// Whether Firestream's own runtime runs this app (Spark jobs run on the Spark operator).
    public var runsInFirestream: Bool { kind != Self.sparkKind }
}
