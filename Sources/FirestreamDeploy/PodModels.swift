import FirestreamConfig
import FirestreamFormats

// The parts of Kubernetes' workload API that Firestream's own objects use, typed so that a
// misspelt field is a compile error rather than a rejected manifest.

struct LabelSelector: Encodable, Sendable {
    var matchLabels: [String: String]
}

struct PodTemplate: Encodable, Sendable {
    var metadata: TemplateMeta
    var spec: PodSpec
}

struct TemplateMeta: Encodable, Sendable {
    var labels: [String: String]
    var annotations: [String: String]?
}

struct PodSpec: Encodable, Sendable {
    var serviceAccountName: String
    var automountServiceAccountToken = false
    var enableServiceLinks = false
    var securityContext = PodSecurityContext()
    var terminationGracePeriodSeconds = 30
    var containers: [Container]
    var volumes: [Volume]
}

struct PodSecurityContext: Encodable, Sendable {
    var runAsNonRoot = true
    var runAsUser = 10001
    var runAsGroup = 10001
    var fsGroup = 10001
    var seccompProfile = ["type": "RuntimeDefault"]
}

struct Container: Encodable, Sendable {
    var name: String
    var image: String
    var imagePullPolicy: String
    var args: [String]
    var env: [EnvVar]?
    var ports: [ContainerPort]
    var readinessProbe: Probe
    var livenessProbe: Probe
    var startupProbe: Probe?
    var resources: Resources
    var securityContext = ContainerSecurityContext()
    var volumeMounts: [VolumeMount]
}

struct ContainerSecurityContext: Encodable, Sendable {
    var allowPrivilegeEscalation = false
    var readOnlyRootFilesystem = true
    var capabilities = ["drop": ["ALL"]]
}

/// An environment variable whose value comes from a Secret: the rendered files name the
/// Secret and key, never the value.
struct EnvVar: Encodable, Sendable {
    struct Source: Encodable, Sendable {
        var secretKeyRef: SecretKeyRef
    }
    struct SecretKeyRef: Encodable, Sendable {
        var name: String
        var key: String
        var optional: Bool?
    }
    var name: String
    var valueFrom: Source

    init(name: String, secret: String, key: String, optional: Bool? = nil) {
        self.name = name
        self.valueFrom = Source(secretKeyRef: SecretKeyRef(name: secret, key: key, optional: optional))
    }
}

struct ContainerPort: Encodable, Sendable {
    var name: String
    var containerPort: Int
    var `protocol` = "TCP"
}

struct Probe: Encodable, Sendable {
    struct HTTPGet: Encodable, Sendable {
        var path: String
        var port: String
    }
    var httpGet: HTTPGet
    var periodSeconds: Int
    var timeoutSeconds = 2
    var failureThreshold: Int

    static func http(_ path: String, port: String, every seconds: Int = 10, failures: Int = 3) -> Probe {
        Probe(httpGet: HTTPGet(path: path, port: port), periodSeconds: seconds, failureThreshold: failures)
    }
}

struct Resources: Encodable, Sendable {
    var requests: [String: String]?
    var limits: [String: String]?

    init(_ config: ResourceRequirements) {
        requests = Self.list(config.requests)
        limits = Self.list(config.limits)
    }

    static func list(_ list: ResourceList) -> [String: String]? {
        var values: [String: String] = [:]
        if let cpu = list.cpu { values["cpu"] = cpu.text }
        if let memory = list.memory { values["memory"] = memory.text }
        return values.isEmpty ? nil : values
    }
}

struct VolumeMount: Encodable, Sendable {
    var name: String
    var mountPath: String
    var readOnly: Bool?
}

struct Volume: Encodable, Sendable {
    struct ConfigMapSource: Encodable, Sendable {
        var name: String
    }
    var name: String
    var configMap: ConfigMapSource?
    var emptyDir: [String: String]?

    static func configMap(_ name: String, from configMap: String) -> Volume {
        Volume(name: name, configMap: ConfigMapSource(name: configMap), emptyDir: nil)
    }

    static func scratch(_ name: String) -> Volume { Volume(name: name, configMap: nil, emptyDir: [:]) }
}
