// The specs of the built-in kinds Firestream renders for itself, field for field as the
// Kubernetes API names them.

struct StatefulSetSpec: Encodable, Sendable {
    var serviceName: String
    var replicas: Int
    var podManagementPolicy = "OrderedReady"
    var selector: LabelSelector
    var template: PodTemplate
    var volumeClaimTemplates: [ClaimTemplate]
    var persistentVolumeClaimRetentionPolicy = ["whenDeleted": "Retain", "whenScaled": "Retain"]
}

struct ClaimTemplate: Encodable, Sendable {
    struct Meta: Encodable, Sendable {
        var name: String
        var labels: [String: String]
    }
    struct Spec: Encodable, Sendable {
        var accessModes = ["ReadWriteOnce"]
        var resources: [String: [String: String]]
    }
    var metadata: Meta
    var spec: Spec
}

struct DeploymentSpec: Encodable, Sendable {
    var replicas: Int
    var selector: LabelSelector
    var template: PodTemplate
}

struct ServicePort: Encodable, Sendable {
    var name: String
    var port: Int
    var targetPort: String
    var nodePort: Int?
    var `protocol` = "TCP"

    init(name: String, port: Int, targetPort: String, nodePort: Int?) {
        self.name = name
        self.port = port
        self.targetPort = targetPort
        self.nodePort = nodePort
    }
}

struct ServiceSpecModel: Encodable, Sendable {
    var type: String
    var clusterIP: String?
    var selector: [String: String]
    var ports: [ServicePort]
}

struct DisruptionBudgetSpec: Encodable, Sendable {
    var maxUnavailable: Int
    var selector: LabelSelector
}

struct NetworkPolicySpec: Encodable, Sendable {
    struct Port: Encodable, Sendable {
        var port: Int
        var `protocol` = "TCP"

        init(port: Int) { self.port = port }
    }
    struct Rule: Encodable, Sendable {
        var ports: [Port]
    }
    var podSelector: LabelSelector
    var policyTypes: [String]
    var ingress: [Rule]
}

/// The node ports a k3d cluster maps to the host (the host side comes from `deploy.k3d`).
enum K3dPorts {
    static let http = 30800
    static let kafka = 30092
}
