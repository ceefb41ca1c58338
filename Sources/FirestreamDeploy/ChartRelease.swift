public import FirestreamConfig
import FirestreamFormats
public import FirestreamJSON

/// A pinned Helm chart release of one service: where the chart comes from and which version.
/// The versions are the ones `../shared/schemas` stores, so every values file is checked
/// against the chart it will meet.
public struct ChartRelease: Sendable, Equatable {
    public let kind: ServiceKind
    /// The Helm release's name, also the prefix of the objects the chart creates.
    public let releaseName: String
    public let chart: String
    public let version: String
    /// An `oci://` registry path, or the URL of a classic chart repository.
    public let repository: String

    public var isOCI: Bool { repository.hasPrefix("oci://") }
    /// The reference `helm install` takes: `oci://…/kafka`, or `repo/chart` after `helm repo add`.
    public var helmReference: String { isOCI ? "\(repository)/\(chart)" : "\(repositoryName)/\(chart)" }
    /// The name of the repository for `helm repo add` and Flux's HelmRepository.
    public var repositoryName: String { isOCI ? "bitnami" : releaseName }

    private static let bitnami = "oci://registry-1.docker.io/bitnamicharts"
    public static let kafka = ChartRelease(kind: .kafka, releaseName: "kafka", chart: "kafka", version: "32.4.4", repository: bitnami)
    public static let minio = ChartRelease(kind: .minio, releaseName: "minio", chart: "minio", version: "17.0.23", repository: bitnami)
    public static let postgresql = ChartRelease(
        kind: .postgresql, releaseName: "postgresql", chart: "postgresql", version: "17.1.0", repository: bitnami)
    public static let contour = ChartRelease(kind: .contour, releaseName: "contour", chart: "contour", version: "21.1.5", repository: bitnami)
    public static let sparkOperator = ChartRelease(
        kind: .spark, releaseName: "spark-operator", chart: "spark-operator", version: "2.5.2",
        repository: "https://kubeflow.github.io/spark-operator")
    public static let airflow = ChartRelease(
        kind: .airflow, releaseName: "airflow", chart: "airflow", version: "1.21.0", repository: "https://airflow.apache.org")

    public static func of(_ kind: ServiceKind) -> ChartRelease {
        switch kind {
        case .kafka: kafka
        case .minio: minio
        case .postgresql: postgresql
        case .contour: contour
        case .spark: sparkOperator
        case .airflow: airflow
        }
    }
}

/// The Helm values of each service, derived from its config entry: sizing first, then the
/// entry's free-form `values`, merged last so that they win.
extension DeployPlan {
    public func values(of service: ServiceConfig) -> JSONValue {
        derivedValues(of: service).merging(service.values)
    }

    private func derivedValues(of service: ServiceConfig) -> JSONValue {
        let resources = Self.tree(service.resources)
        let size = service.persistence.map { JSONValue.object([("size", .string($0.size.text))]) }
        let replicas = JSONValue.number(String(service.replicaCount))
        switch service.serviceName {
        case .kafka:
            let factor = min(max(service.replicaCount, 1), 3)
            let settings: [(String, JSONValue)] =
                [
                    "default.replication.factor", "offsets.topic.replication.factor", "transaction.state.log.replication.factor",
                ].map { ($0, .string(String(factor))) } + [("transaction.state.log.min.isr", .string(String(max(1, factor - 1))))]
            return .object(
                [
                    ("controller", .object([("replicaCount", replicas), ("resources", resources)] + (size.map { [("persistence", $0)] } ?? []))),
                    // Inside the cluster only; the stack's NetworkPolicy keeps it there.
                    ("listeners", .object([("client", .object([("protocol", .string("PLAINTEXT"))]))])),
                    ("overrideConfiguration", .object(settings)),
                ])
        case .minio:
            return .object(
                [
                    ("mode", .string(service.replicaCount > 1 ? "distributed" : "standalone")),
                    ("statefulset", .object([("replicaCount", replicas)])), ("resources", resources),
                ] + (size.map { [("persistence", $0)] } ?? []))
        case .postgresql:
            let primary = JSONValue.object([("resources", resources)] + (size.map { [("persistence", $0)] } ?? []))
            guard service.replicaCount > 1 else { return .object([("architecture", .string("standalone")), ("primary", primary)]) }
            let readers = JSONValue.object(
                [("replicaCount", .number(String(service.replicaCount - 1))), ("resources", resources)] + (size.map { [("persistence", $0)] } ?? []))
            return .object([("architecture", .string("replication")), ("primary", primary), ("readReplicas", readers)])
        case .contour:
            let exposure = config.ingress.external ? "LoadBalancer" : "ClusterIP"
            return .object([
                // The class Firestream's HTTPProxy names.
                (
                    "contour",
                    .object([("replicaCount", replicas), ("resources", resources), ("ingressClass", .object([("name", .string("contour"))]))])
                ),
                ("envoy", .object([("service", .object([("type", .string(exposure))]))])),
            ])
        case .spark:
            return .object([
                ("controller", .object([("replicas", replicas), ("resources", resources)])),
                (
                    "spark",
                    .object([
                        ("jobNamespaces", .array([.string(namespace)])), ("serviceAccount", .object([("name", .string(SparkJobs.serviceAccount))])),
                    ])
                ),
            ])
        case .airflow:
            return airflowValues(replicas: replicas, resources: resources)
        }
    }

    /// The airflow chart's values: the executor, the scheduler's size, the provider's connection,
    /// and the project's DAGs when there are some.
    private func airflowValues(replicas: JSONValue, resources: JSONValue) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("executor", .string("LocalExecutor")),
            ("scheduler", .object([("replicas", replicas), ("resources", resources)])),
            // The provider's connection to this project's gateway, its token from the deploy Secret.
            ("env", .array([.object([("name", .string("AIRFLOW_CONN_FIRESTREAM_DEFAULT")), ("value", .string(airflowConnection))])])),
            ("extraEnv", .string(airflowTokenVariable)),
        ]
        if let dagObject = airflowDags {
            // A folder inside the DAGs folder: the chart's own DAG volume (git-sync, a claim) may hold the rest.
            members += [
                (
                    "volumes",
                    .array([
                        .object([("name", .string("firestream-dags")), ("configMap", .object([("name", .string(dagObject.metadata.name))]))])
                    ])
                ),
                (
                    "volumeMounts",
                    .array([
                        .object([
                            ("name", .string("firestream-dags")), ("mountPath", .string(Self.airflowDagsPath)), ("readOnly", .bool(true)),
                        ])
                    ])
                ),
            ]
        }
        return .object(members)
    }

    /// Where the project's DAGs appear in Airflow's pods (the official image's DAGs folder).
    static let airflowDagsPath = "/opt/airflow/dags/firestream"

    /// The ConfigMap of the project's DAGs, when there are some and Airflow is in the stack.
    var airflowDags: KubeObject? {
        guard has(.airflow), !dags.isEmpty else { return nil }
        return KubeObject("v1", "ConfigMap", meta("\(name)-airflow-dags", component: "airflow-dags"), data: dags)
    }

    /// Airflow's `firestream_default` connection: the gateway's Service inside the cluster; the
    /// token is read from `FIRESTREAM_TOKEN` (the provider's `extra.token_env`).
    var airflowConnection: String {
        let gateway = "http://\(name).\(namespace).svc.cluster.local:\(config.service.ports.first ?? Self.httpPort)"
        return #"{"conn_type": "firestream", "host": "\#(gateway)", "extra": {"token_env": "FIRESTREAM_TOKEN"}}"#
    }

    /// `FIRESTREAM_TOKEN` from the key `FIRESTREAM_AIRFLOW_TOKEN` of the deploy Secret, optional
    /// (without it the provider sends no token, and a gateway with tokens answers 401).
    var airflowTokenVariable: String {
        """
        - name: FIRESTREAM_TOKEN
          valueFrom:
            secretKeyRef:
              name: \(secretName)
              key: FIRESTREAM_AIRFLOW_TOKEN
              optional: true

        """
    }

    static func tree(_ resources: ResourceRequirements) -> JSONValue {
        func list(_ list: ResourceList) -> JSONValue? {
            let members = [("cpu", list.cpu), ("memory", list.memory)].compactMap { key, value in value.map { (key, JSONValue.string($0.text)) } }
            return members.isEmpty ? nil : .object(members)
        }
        return .object(
            [("requests", list(resources.requests)), ("limits", list(resources.limits))].compactMap { key, value in value.map { (key, $0) } })
    }
}
