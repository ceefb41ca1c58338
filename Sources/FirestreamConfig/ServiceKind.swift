/// The infrastructure services Firestream knows how to deploy, each with its sizing defaults.
public enum ServiceKind: String, Sendable, CaseIterable {
    case kafka
    case minio
    case postgresql
    case airflow
    case spark
    case contour

    /// Other spellings accepted in `service_name`.
    public static let aliases: [String: ServiceKind] = ["postgres": .postgresql]

    /// Managed cloud products people list as services; they cannot run in a cluster Firestream deploys.
    public static let proprietary: Set<String> = [
        "bigquery", "snowflake", "redshift", "databricks", "synapse", "dynamodb", "cosmosdb", "spanner", "firestore",
    ]

    /// The services `firestream init` enables unless told otherwise.
    public static let initDefaults: [ServiceKind] = [.kafka, .minio, .postgresql]

    /// Resolves a name or alias.
    public init?(named name: String) {
        guard let kind = ServiceKind(rawValue: name) ?? ServiceKind.aliases[name] else { return nil }
        self = kind
    }

    /// What this service is, for `init` prompts and docs.
    public var summary: String {
        switch self {
        case .kafka: "Apache Kafka (Bitnami chart, KRaft) — the cluster log"
        case .minio: "MinIO — S3-compatible object storage"
        case .postgresql: "PostgreSQL — relational tables and metadata"
        case .airflow: "Apache Airflow — scheduled batch workflows"
        case .spark: "Spark operator — Spark jobs on Kubernetes"
        case .contour: "Contour — ingress controller"
        }
    }

    /// Sizing used when the config leaves a key out.
    public struct Defaults: Sendable {
        public var replicaCount: Int
        public var resources: ResourceRequirements
        public var persistence: Persistence?
    }

    public var defaults: Defaults {
        func sized(_ cpu: (String, Double), _ memory: (String, Double), disk: (String, Double)?) -> Defaults {
            Defaults(
                replicaCount: 1,
                resources: ResourceRequirements(
                    requests: ResourceList(cpu: .literal(cpu.0, cpu.1), memory: .literal(memory.0, memory.1))),
                persistence: disk.map { Persistence(size: .literal($0.0, $0.1)) })
        }
        let mi = 0x1p20
        let gi = 0x1p30
        return switch self {
        case .kafka: sized(("500m", 0.5), ("1Gi", gi), disk: ("8Gi", 8 * gi))
        case .minio: sized(("250m", 0.25), ("512Mi", 512 * mi), disk: ("10Gi", 10 * gi))
        case .postgresql: sized(("250m", 0.25), ("256Mi", 256 * mi), disk: ("8Gi", 8 * gi))
        case .airflow: sized(("500m", 0.5), ("1Gi", gi), disk: nil)
        case .spark: sized(("100m", 0.1), ("128Mi", 128 * mi), disk: nil)
        case .contour: sized(("100m", 0.1), ("128Mi", 128 * mi), disk: nil)
        }
    }

    /// Whether the service keeps data on a volume (and so accepts `persistence`).
    public var isStateful: Bool { defaults.persistence != nil }
}
