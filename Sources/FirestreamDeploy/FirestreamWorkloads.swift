import FirestreamConfig
import FirestreamFormats

/// Firestream's own objects: the config, the workloads that run it, and what reaches them.
extension DeployPlan {
    func firestreamObjects() -> [KubeObject] {
        var objects = [serviceAccount(), configMap()]
        switch log {
        case .embedded:
            objects += [statefulSet(), headlessService(), service(component: "server"), disruptionBudget("server")]
            objects.append(networkPolicy("server", ports: [Self.httpPort] + (servesKafka ? [kafkaPort] : [])))
        case .kafka(let bootstrap):
            objects += [gateway(bootstrap), workers(bootstrap), service(component: "gateway")]
            objects += [disruptionBudget("gateway"), disruptionBudget("worker")]
            objects += [networkPolicy("gateway", ports: [Self.httpPort]), networkPolicy("worker", ports: [Self.healthPort])]
        }
        if config.ingress.enabled { objects.append(has(.contour) ? httpProxy() : ingress()) }
        return objects
    }

    private func serviceAccount() -> KubeObject {
        // Firestream never calls the Kubernetes API: no Role, and no token in its pods.
        KubeObject("v1", "ServiceAccount", meta(name, component: "server"), automountServiceAccountToken: false)
    }

    private func configMap() -> KubeObject {
        KubeObject("v1", "ConfigMap", meta("\(name)-config", component: "server"), data: ["firestream.json": configText])
    }

    private func container(_ name: String, args: [String], ports: [ContainerPort], probePort: String, data: Bool, resources: ResourceRequirements)
        -> Container
    {
        Container(
            name: name, image: image, imagePullPolicy: config.image.pullPolicy.rawValue,
            args: args + ["--config", "\(Self.configDirectory)/firestream.json", "--status-interval", "0"],
            env: secretVariables.isEmpty ? nil : secretVariables.map { EnvVar(name: $0, secret: secretName, key: $0) },
            ports: ports, readinessProbe: .http("/readyz", port: probePort, every: 5), livenessProbe: .http("/healthz", port: probePort),
            startupProbe: data ? .http("/healthz", port: probePort, every: 5, failures: 60) : nil,
            resources: Resources(resources),
            volumeMounts: [
                VolumeMount(name: "config", mountPath: Self.configDirectory, readOnly: true),
                VolumeMount(name: "tmp", mountPath: "/tmp", readOnly: nil),
            ] + (data ? [VolumeMount(name: "data", mountPath: Self.dataDirectory, readOnly: nil)] : []))
    }

    private func pod(_ component: String, _ containers: [Container]) -> PodTemplate {
        PodTemplate(
            metadata: TemplateMeta(labels: labels(component), annotations: ["firestream.dev/config-sha256": configChecksum]),
            spec: PodSpec(
                serviceAccountName: name, containers: containers,
                volumes: [.configMap("config", from: "\(name)-config"), .scratch("tmp")]))
    }

    private func statefulSet() -> KubeObject {
        let http = ContainerPort(name: "http", containerPort: Self.httpPort)
        let kafka = ContainerPort(name: "kafka", containerPort: kafkaPort)
        let main = container(
            "firestream", args: ["up", "--embedded", "--host", "0.0.0.0", "--port", "\(Self.httpPort)", "--data-dir", Self.dataDirectory],
            ports: [http] + (servesKafka ? [kafka] : []), probePort: "http", data: true, resources: config.resources)
        let claim = ClaimTemplate(
            metadata: ClaimTemplate.Meta(name: "data", labels: selector("server")),
            spec: ClaimTemplate.Spec(resources: ["requests": ["storage": config.deploy.storage.text]]))
        let spec = StatefulSetSpec(
            serviceName: "\(name)-headless", replicas: min(config.replicaCount, 1), selector: LabelSelector(matchLabels: selector("server")),
            template: pod("server", [main]), volumeClaimTemplates: [claim])
        return KubeObject("apps/v1", "StatefulSet", meta(name, component: "server"), spec: spec)
    }

    private func gateway(_ bootstrap: String) -> KubeObject {
        // Sources and effects run here, once: one replica. The apps scale in the workers.
        let main = container(
            "gateway", args: ["up", "--kafka", bootstrap, "--host", "0.0.0.0", "--port", "\(Self.httpPort)"],
            ports: [ContainerPort(name: "http", containerPort: Self.httpPort)], probePort: "http", data: false, resources: config.resources)
        let spec = DeploymentSpec(replicas: 1, selector: LabelSelector(matchLabels: selector("gateway")), template: pod("gateway", [main]))
        return KubeObject("apps/v1", "Deployment", meta("\(name)-gateway", component: "gateway"), spec: spec)
    }

    private func workers(_ bootstrap: String) -> KubeObject {
        let main = container(
            "worker", args: ["worker", "--kafka", bootstrap, "--health-host", "0.0.0.0", "--health-port", "\(Self.healthPort)"],
            ports: [ContainerPort(name: "health", containerPort: Self.healthPort)], probePort: "health", data: false, resources: config.resources)
        let spec = DeploymentSpec(
            replicas: config.replicaCount, selector: LabelSelector(matchLabels: selector("worker")), template: pod("worker", [main]))
        return KubeObject("apps/v1", "Deployment", meta("\(name)-worker", component: "worker"), spec: spec)
    }

    private func service(component: String) -> KubeObject {
        let nodePorts = target == .k3d
        var ports = [
            ServicePort(
                name: "http", port: config.service.ports.first ?? Self.httpPort, targetPort: "http", nodePort: nodePorts ? K3dPorts.http : nil)
        ]
        if servesKafka {
            ports.append(ServicePort(name: "kafka", port: kafkaPort, targetPort: "kafka", nodePort: nodePorts ? K3dPorts.kafka : nil))
        }
        let spec = ServiceSpecModel(type: nodePorts ? "NodePort" : "ClusterIP", clusterIP: nil, selector: selector(component), ports: ports)
        return KubeObject("v1", "Service", meta(name, component: component), spec: spec)
    }

    private func headlessService() -> KubeObject {
        let ports = [ServicePort(name: "http", port: Self.httpPort, targetPort: "http", nodePort: nil)]
        let spec = ServiceSpecModel(type: "ClusterIP", clusterIP: "None", selector: selector("server"), ports: ports)
        return KubeObject("v1", "Service", meta("\(name)-headless", component: "server"), spec: spec)
    }

    private func disruptionBudget(_ component: String) -> KubeObject {
        let spec = DisruptionBudgetSpec(maxUnavailable: 1, selector: LabelSelector(matchLabels: selector(component)))
        return KubeObject("policy/v1", "PodDisruptionBudget", meta("\(name)-\(component)", component: component), spec: spec)
    }

    /// Only the listed ports of these pods accept connections; what they reach is not limited
    /// (effects call webhooks anywhere).
    private func networkPolicy(_ component: String, ports: [Int]) -> KubeObject {
        let spec = NetworkPolicySpec(
            podSelector: LabelSelector(matchLabels: selector(component)), policyTypes: ["Ingress"],
            ingress: [NetworkPolicySpec.Rule(ports: ports.map { NetworkPolicySpec.Port(port: $0) })])
        return KubeObject("networking.k8s.io/v1", "NetworkPolicy", meta("\(name)-\(component)", component: component), spec: spec)
    }
}
