public import FirestreamConfig
import FirestreamFormats

/// What the rendered objects derive from the config: names, where the log lives, which
/// environment variables come from the Secret.
public struct DeployPlan: Sendable {
    /// Where the project's records live in the cluster.
    public enum Log: Sendable, Equatable {
        /// The embedded log in Firestream's own StatefulSet.
        case embedded
        /// A Kafka cluster: the stack's Bitnami Kafka, or `kafka.bootstrap`.
        case kafka(bootstrap: String)
    }

    public let config: ProjectConfig
    public let target: DeployTarget
    public let namespace: String
    public let log: Log
    /// The project's DAG files for Airflow (file name → text): a ConfigMap mounted into the
    /// chart's pods when the airflow service is enabled.
    public let dags: [String: String]

    /// The container paths every Firestream pod uses.
    static let configDirectory = "/etc/firestream"
    static let dataDirectory = "/var/lib/firestream"
    static let httpPort = 8000
    static let kafkaPort = 9092
    static let healthPort = 8081

    public init(_ config: ProjectConfig, target: DeployTarget, dags: [String: String] = [:]) {
        self.config = config
        self.target = target
        self.dags = dags
        namespace = config.deploy.namespace ?? config.name
        if !config.kafka.bootstrap.isEmpty {
            log = .kafka(bootstrap: config.kafka.bootstrap.map(\.description).joined(separator: ","))
        } else if config.services.contains(where: { $0.serviceName == .kafka && $0.enabled }) {
            log = .kafka(bootstrap: "\(ChartRelease.kafka.releaseName).\(namespace).svc.cluster.local:9092")
        } else {
            log = .embedded
        }
        configText = ConfigRenderer.render(podConfig, as: .json)
        configChecksum = Hex.string(Digests.sha256(configText.utf8))
    }

    /// The config the pods read (JSON), rendered once: the ConfigMap holds it, and every pod
    /// template its SHA-256, so that pods restart when it changes.
    private(set) var configText = ""
    private(set) var configChecksum = ""

    var name: String { config.name }
    var secretName: String { config.deploy.secret ?? "\(config.name)-secrets" }
    var host: String { config.deploy.host ?? "\(config.name).localhost" }
    var image: String { "\(config.image.repository):\(config.image.tag)" }
    var enabledServices: [ServiceConfig] { config.services.filter(\.enabled) }
    var sparkJobs: [AppConfig] { config.apps.filter { $0.enabled && !$0.runsInFirestream } }
    func has(_ kind: ServiceKind) -> Bool { enabledServices.contains { $0.serviceName == kind } }

    /// The Kafka listener's port in the pod: on k3d the host port too, since clients on the host
    /// are told to connect to localhost at that port.
    var kafkaPort: Int { target == .k3d ? config.deploy.k3d.kafkaPort : Self.kafkaPort }

    /// The embedded log serves Kafka clients in the cluster when the config keeps its listener.
    var servesKafka: Bool { log == .embedded && config.kafka.enabled }

    /// Every environment variable the config names, read from the Secret at start.
    var secretVariables: [String] {
        var names = config.topics.compactMap(\.signature?.secretEnv) + config.effects.compactMap(\.signature?.secretEnv)
        if let password = config.kafka.security.passwordEnv { names.append(password) }
        return Array(Set(names)).sorted()
    }

    /// Labels of one of Firestream's workloads; the selector uses the first three.
    func labels(_ component: String) -> [String: String] {
        selector(component).merging([
            "app.kubernetes.io/part-of": name, "app.kubernetes.io/managed-by": "firestream", "app.kubernetes.io/version": config.image.tag,
        ]) { first, _ in first }
    }

    func selector(_ component: String) -> [String: String] {
        ["app.kubernetes.io/name": "firestream", "app.kubernetes.io/instance": name, "app.kubernetes.io/component": component]
    }

    func meta(_ name: String, component: String) -> ObjectMeta {
        ObjectMeta(name: name, namespace: namespace, labels: labels(component))
    }

    /// The config the pods run: the project's, with the listener and cluster of this bundle.
    var podConfig: ProjectConfig {
        var pod = config
        pod.deploy = DeployConfig()
        switch log {
        case .embedded:
            pod.kafka.listener = KafkaListener(host: "0.0.0.0", port: kafkaPort)
            pod.kafka.advertisedHost = target == .k3d ? "localhost" : "\(name).\(namespace).svc.cluster.local"
        case .kafka(let bootstrap):
            pod.kafka.bootstrap = bootstrap.split(separator: ",").compactMap { KafkaListener(parsing: String($0)) }
        }
        return pod
    }
}
