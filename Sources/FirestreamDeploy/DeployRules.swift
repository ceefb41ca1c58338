public import FirestreamConfig

/// Rules a config must meet to run in a cluster, beyond what `validate` checks for `up`.
/// Each problem names the config path and the fix.
public enum DeployRules {
    public static func check(_ config: ProjectConfig, target: DeployTarget) -> [Diagnostic] {
        var problems: [Diagnostic] = []
        func add(_ severity: Diagnostic.Severity, _ path: ConfigPath, _ message: String, hint: String? = nil) {
            problems.append(Diagnostic(severity, path: path, at: nil, message, hint: hint))
        }
        let root = ConfigPath.root
        let plan = DeployPlan(config, target: target)
        if config.gateway.tokens.isEmpty {
            add(
                .error, root / "gateway" / "tokens",
                "a cluster reaches the gateway over the network, and Firestream listens beyond loopback only with tokens",
                hint: "create one with `firestream token create --name deployer --scope admin` and add the entry it prints")
        }
        if plan.log == .embedded, config.replicaCount > 1 {
            add(
                .error, root / "replicaCount", "the embedded log runs in one pod; \(config.replicaCount) replicas need a Kafka cluster",
                hint: "enable the kafka service (or set kafka.bootstrap) to run the apps in \(config.replicaCount) workers")
        }
        if config.service.ports.count > 1 {
            add(.warning, root / "service" / "ports" / 1, "only the first port is Firestream's Service port (the gateway's HTTP)")
        }
        let sparkEnabled = config.services.contains { $0.serviceName == .spark && $0.enabled }
        for (index, app) in config.apps.enumerated() where app.enabled && !app.runsInFirestream {
            let path = root / "apps" / index
            if !sparkEnabled {
                add(.error, path / "kind", "a Spark job needs the Spark operator", hint: "add {\"service_name\": \"spark\"} to services")
            }
            problems += SparkJob.parse(app, at: path).1
        }
        for (index, app) in config.apps.enumerated() where app.enabled && app.kind == "python" {
            add(
                .warning, root / "apps" / index / "kind",
                "a Python app needs python3, the firestream package and its files in the image; Firestream's own image has none of them",
                hint: "build an image FROM \(config.image.repository):\(config.image.tag) that adds them, and set image.repository")
        }
        for (index, service) in config.services.enumerated() where service.enabled {
            let path = root / "services" / index
            if service.serviceName == .minio, (2...3).contains(service.replicaCount) {
                add(.error, path / "replicaCount", "distributed MinIO needs 4 or more replicas", hint: "1 for a single server, or 4, 6, 8 …")
            }
            if service.serviceName == .kafka, config.kafka.bootstrap.isEmpty, config.kafka.security.usesSASL {
                add(
                    .warning, root / "kafka" / "security",
                    "the stack's Kafka listens for clients with PLAINTEXT inside the cluster; workers will try \(config.kafka.security.protocol)",
                    hint: "set the kafka service's values.listeners.client.protocol to match, or remove kafka.security")
            }
        }
        if target == .k3d, config.ingress.enabled, [config.deploy.k3d.httpPort, config.deploy.k3d.kafkaPort].contains(DeployPlan.k3dIngressPort) {
            add(
                .error, root / "deploy" / "k3d", "host port \(DeployPlan.k3dIngressPort) is the ingress's on k3d",
                hint: "choose other httpPort/kafkaPort")
        }
        return problems
    }
}
