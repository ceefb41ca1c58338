import FirestreamConfig

/// How the gateway is reached from outside the cluster when `ingress.enabled`: a Contour
/// HTTPProxy when the stack runs Contour, a plain Ingress for the cluster's own controller
/// otherwise. WebSocket streams need long-lived connections, so neither times them out early.
extension DeployPlan {
    func httpProxy() -> KubeObject {
        let route = HTTPProxySpec.Route(
            conditions: [["prefix": "/"]], enableWebsockets: true, services: [HTTPProxySpec.Upstream(name: name, port: servicePort)],
            timeoutPolicy: ["response": "infinity", "idle": "1h"])
        let spec = HTTPProxySpec(ingressClassName: "contour", virtualhost: ["fqdn": host], routes: [route])
        return KubeObject("projectcontour.io/v1", "HTTPProxy", meta(name, component: serviceComponent), spec: spec)
    }

    func ingress() -> KubeObject {
        let backend = IngressSpec.Backend(service: IngressSpec.ServiceBackend(name: name, port: ["name": "http"]))
        let rule = IngressSpec.Rule(host: host, http: IngressSpec.HTTP(paths: [IngressSpec.Path(path: "/", pathType: "Prefix", backend: backend)]))
        return KubeObject("networking.k8s.io/v1", "Ingress", meta(name, component: serviceComponent), spec: IngressSpec(rules: [rule]))
    }

    var servicePort: Int { config.service.ports.first ?? Self.httpPort }
    var serviceComponent: String { log == .embedded ? "server" : "gateway" }
}

struct HTTPProxySpec: Encodable, Sendable {
    struct Upstream: Encodable, Sendable {
        var name: String
        var port: Int
    }
    struct Route: Encodable, Sendable {
        var conditions: [[String: String]]
        var enableWebsockets: Bool
        var services: [Upstream]
        var timeoutPolicy: [String: String]
    }
    var ingressClassName: String
    var virtualhost: [String: String]
    var routes: [Route]
}

struct IngressSpec: Encodable, Sendable {
    struct ServiceBackend: Encodable, Sendable {
        var name: String
        var port: [String: String]
    }
    struct Backend: Encodable, Sendable {
        var service: ServiceBackend
    }
    struct Path: Encodable, Sendable {
        var path: String
        var pathType: String
        var backend: Backend
    }
    struct HTTP: Encodable, Sendable {
        var paths: [Path]
    }
    struct Rule: Encodable, Sendable {
        var host: String
        var http: HTTP
    }
    var rules: [Rule]
}
