public import FirestreamFormats
public import FirestreamJSON

/// The normalized project configuration (`firestream.json` / `firestream.yaml`) with every default
/// filled in. Property names mirror the user-facing keys.
public struct ProjectConfig: Sendable, Equatable {
    /// Project name; a DNS-1123 label because it prefixes every Kubernetes object.
    public var name: String
    /// Replicas of Firestream's own workload.
    public var replicaCount: Int
    public var image: ImageConfig
    public var service: ServiceSpec
    public var resources: ResourceRequirements
    public var ingress: IngressConfig
    /// Infrastructure services to deploy (Kafka, MinIO, PostgreSQL, …).
    public var services: [ServiceConfig]
    /// Topics of the log, created on start.
    public var topics: [TopicConfig]
    /// Stream apps to run.
    public var apps: [AppConfig]
    /// Connectors that bring data in (WebSocket clients, REST pollers).
    public var sources: [SourceConfig] = []
    /// Connectors that send records out (webhooks).
    public var effects: [EffectConfig] = []
    /// Who may use the HTTP/WebSocket gateway: tokens, allowed hosts and origins.
    public var gateway = GatewayConfig()
    /// The Kafka listener for unmodified Kafka clients.
    public var kafka = KafkaConfig()
    /// How `firestream deploy` renders the project for Kubernetes.
    public var deploy = DeployConfig()
    /// Tables kept up to date from topics, exactly once (the warehouse).
    public var tables: [TableConfig] = []
    /// Where the tables live and SQL runs: the built-in SQLite, or PostgreSQL.
    public var warehouse = WarehouseConfig()

    public init(
        name: String, replicaCount: Int = 1, image: ImageConfig = ImageConfig(), service: ServiceSpec = ServiceSpec(),
        resources: ResourceRequirements = .firestreamDefault, ingress: IngressConfig = IngressConfig(),
        services: [ServiceConfig] = [], topics: [TopicConfig] = [], apps: [AppConfig] = []
    ) {
        self.name = name
        self.replicaCount = replicaCount
        self.image = image
        self.service = service
        self.resources = resources
        self.ingress = ingress
        self.services = services
        self.topics = topics
        self.apps = apps
    }
}

/// The container image of Firestream's own workload.
public struct ImageConfig: Sendable, Equatable {
    public var repository: String = "firestream"
    public var tag: String = FirestreamVersion.current
    public var pullPolicy: PullPolicy = .ifNotPresent

    public init(repository: String = "firestream", tag: String = FirestreamVersion.current, pullPolicy: PullPolicy = .ifNotPresent) {
        self.repository = repository
        self.tag = tag
        self.pullPolicy = pullPolicy
    }
}

/// Kubernetes `imagePullPolicy`.
public enum PullPolicy: String, Sendable, CaseIterable {
    case always = "Always"
    case ifNotPresent = "IfNotPresent"
    case never = "Never"
}

/// Ports Firestream's own Kubernetes Service exposes.
public struct ServiceSpec: Sendable, Equatable {
    public var ports: [Int] = [8000]

    public init(ports: [Int] = [8000]) {
        self.ports = ports
    }
}

/// CPU and memory for one container (Kubernetes `resources.requests` / `resources.limits`).
public struct ResourceList: Sendable, Equatable {
    public var cpu: Quantity?
    public var memory: Quantity?

    public init(cpu: Quantity? = nil, memory: Quantity? = nil) {
        self.cpu = cpu
        self.memory = memory
    }
}

/// Requests (what the scheduler reserves) and limits (the ceiling); an unset limit means none.
public struct ResourceRequirements: Sendable, Equatable {
    public var requests: ResourceList
    public var limits: ResourceList

    public init(requests: ResourceList, limits: ResourceList = ResourceList()) {
        self.requests = requests
        self.limits = limits
    }

    /// Firestream's own workload: small, since the heavy lifting happens in the log's page cache.
    public static let firestreamDefault = ResourceRequirements(
        requests: ResourceList(cpu: .literal("100m", 0.1), memory: .literal("128Mi", 128 * 0x1p20)))
}

extension Quantity {
    /// A quantity known to be valid, for built-in defaults.
    static func literal(_ text: String, _ value: Double) -> Quantity { Quantity(text: text, value: value) }
}

/// Whether Firestream's gateway is reachable through an Ingress, and from where.
public struct IngressConfig: Sendable, Equatable {
    public var enabled: Bool = false
    /// Expose outside the cluster (a public load balancer) rather than cluster-internal only.
    public var external: Bool = false

    public init(enabled: Bool = false, external: Bool = false) {
        self.enabled = enabled
        self.external = external
    }
}

/// One infrastructure service to deploy, with its sizing and chart overrides.
public struct ServiceConfig: Sendable, Equatable {
    public var serviceName: ServiceKind
    public var enabled: Bool
    public var replicaCount: Int
    public var resources: ResourceRequirements
    /// Volume size for services that keep data; nil for stateless ones.
    public var persistence: Persistence?
    /// Free-form overrides passed to the service's Helm chart.
    public var values: JSONValue

    public init(
        _ kind: ServiceKind, enabled: Bool = true, replicaCount: Int? = nil, resources: ResourceRequirements? = nil,
        persistence: Persistence? = nil, values: JSONValue = .object([])
    ) {
        self.serviceName = kind
        self.enabled = enabled
        self.replicaCount = replicaCount ?? kind.defaults.replicaCount
        self.resources = resources ?? kind.defaults.resources
        self.persistence = persistence ?? kind.defaults.persistence
        self.values = values
    }
}

/// A persistent volume request.
public struct Persistence: Sendable, Equatable {
    public var size: Quantity

    public init(size: Quantity) {
        self.size = size
    }
}

/// A topic of the log.
public struct TopicConfig: Sendable, Equatable {
    public var name: String
    public var partitions: Int
    public var retention: Retention
    /// RFC 6901 JSON pointer (`/device_id`) to the field that keys records ingested over HTTP.
    public var key: String?
    /// The HMAC signature every HTTP ingest request must carry, if any.
    public var signature: SignatureConfig?

    public init(name: String, partitions: Int = 1, retention: Retention = Retention(), key: String? = nil, signature: SignatureConfig? = nil) {
        self.name = name
        self.partitions = partitions
        self.retention = retention
        self.key = key
        self.signature = signature
    }
}

/// How webhook requests to a topic (or from an effect) are signed with HMAC-SHA256. The secret
/// itself never sits in the config: `secretEnv` names the environment variable holding it.
public struct SignatureConfig: Sendable, Equatable {
    public enum Scheme: String, Sendable, CaseIterable {
        /// `X-Hub-Signature-256: sha256=<hex>`.
        case github
        /// `Stripe-Signature: t=<seconds>,v1=<hex of HMAC("t.body")>`.
        case stripe
        /// `<header>: sha256=<hex>` (default header `X-Firestream-Signature`).
        case hmacSHA256 = "hmac-sha256"
    }

    public var scheme: Scheme
    public var secretEnv: String
    /// Header for `hmac-sha256`.
    public var header: String
    /// Allowed clock difference for `stripe` timestamps.
    public var tolerance: TimeSpan

    public init(
        scheme: Scheme = .hmacSHA256, secretEnv: String, header: String = "X-Firestream-Signature",
        tolerance: TimeSpan = TimeSpan.parse("5m")!
    ) {
        self.scheme = scheme
        self.secretEnv = secretEnv
        self.header = header
        self.tolerance = tolerance
    }
}

/// How long, and how much, a topic keeps; nil means unlimited.
public struct Retention: Sendable, Equatable {
    public var time: TimeSpan?
    public var bytes: Quantity?

    public init(time: TimeSpan? = Retention.defaultTime, bytes: Quantity? = nil) {
        self.time = time
        self.bytes = bytes
    }

    public static let defaultTime = TimeSpan(text: "7d", milliseconds: 7 * 86_400_000)
}

/// A stream app to run: its name, which kind of app (a Swift type registered with the runtime),
/// and that app's own settings.
public struct AppConfig: Sendable, Equatable {
    public var name: String
    public var kind: String
    public var enabled: Bool
    public var settings: JSONValue

    public init(name: String, kind: String, enabled: Bool = true, settings: JSONValue = .object([])) {
        self.name = name
        self.kind = kind
        self.enabled = enabled
        self.settings = settings
    }
}

/// The Firestream release this binary belongs to.
public enum FirestreamVersion {
    public static let current = "0.1.0"
}
