import FirestreamConfig
import FirestreamFormats
import Foundation

/// The files that make a machine into a cluster: k3d's cluster config, and cloud-init
/// user-data that turns any Linux VM into a one-node k3s running the bundle.
extension DeployPlan {
    /// k3s's container image for a release (`v1.35.2+k3s1` → `rancher/k3s:v1.35.2-k3s1`).
    var k3sImage: String { "rancher/k3s:" + config.deploy.k3sVersion.replacingOccurrences(of: "+", with: "-") }

    /// The host port of the ingress (Contour's Envoy or k3s's Traefik) when `ingress.enabled`.
    static let k3dIngressPort = 8080

    func k3dConfig() -> BundleFile {
        let k3d = config.deploy.k3d
        var ports = [K3dConfig.Port(port: "127.0.0.1:\(k3d.httpPort):\(K3dPorts.http)", nodeFilters: ["server:0:direct"])]
        if servesKafka { ports.append(K3dConfig.Port(port: "127.0.0.1:\(k3d.kafkaPort):\(K3dPorts.kafka)", nodeFilters: ["server:0:direct"])) }
        if config.ingress.enabled { ports.append(K3dConfig.Port(port: "127.0.0.1:\(Self.k3dIngressPort):80", nodeFilters: ["loadbalancer"])) }
        let volumes = [
            K3dConfig.Volume(volume: "\(name)-storage:/var/lib/rancher/k3s/storage", nodeFilters: ["server:0"] + (k3d.agents > 0 ? ["agent:*"] : []))
        ]
        let k3s = K3dConfig.K3s(extraArgs: has(.contour) ? [K3dConfig.Arg(arg: "--disable=traefik", nodeFilters: ["server:*"])] : nil)
        let cluster = K3dConfig(
            metadata: ["name": name], agents: k3d.agents, image: k3sImage, ports: ports, volumes: volumes,
            options: K3dConfig.Options(k3s: k3s))
        return BundleFile(
            "k3d-cluster.yaml", .k3dConfig,
            YAMLText.file(
                "The local cluster of project \(name): `firestream cluster up`, or `k3d cluster create --config k3d-cluster.yaml`.", [cluster]))
    }

    /// Every manifest of the k3s bundle written into k3s's auto-deploy folder, which k3s applies
    /// (and re-applies when a file changes) from its first start.
    func cloudInit(_ manifests: [BundleFile]) -> BundleFile {
        let folder = "/var/lib/rancher/k3s/server/manifests"
        let files = manifests.map { file in
            CloudConfig.File(path: "\(folder)/\(name)-\(file.path.replacingOccurrences(of: "/", with: "-"))", content: file.contents)
        }
        let exec = has(.contour) ? " INSTALL_K3S_EXEC='--disable=traefik'" : ""
        let install = "curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION='\(config.deploy.k3sVersion)'\(exec) sh -"
        let document = CloudConfig(writeFiles: files, runcmd: [["sh", "-c", install]])
        let text = """
            #cloud-config
            # Project \(name) on one Linux VM: installs k3s \(config.deploy.k3sVersion), which applies these manifests at start.
            # The image \(image) must be pullable by the VM (push it to a registry the VM can reach).

            """
        return BundleFile("cloud-init.yaml", .cloudInit, text + YAMLText.document(document))
    }
}

struct K3dConfig: Encodable, Sendable {
    struct Port: Encodable, Sendable {
        var port: String
        var nodeFilters: [String]
    }
    struct Volume: Encodable, Sendable {
        var volume: String
        var nodeFilters: [String]
    }
    struct Arg: Encodable, Sendable {
        var arg: String
        var nodeFilters: [String]
    }
    struct K3s: Encodable, Sendable {
        var extraArgs: [Arg]?
    }
    struct Options: Encodable, Sendable {
        var k3d = K3dOptions()
        var k3s: K3s
        var kubeconfig = ["updateDefaultKubeconfig": true, "switchCurrentContext": true]
    }
    struct K3dOptions: Encodable, Sendable {
        var wait = true
        var timeout = "300s"
    }
    var apiVersion = "k3d.io/v1alpha5"
    var kind = "Simple"
    var metadata: [String: String]
    var servers = 1
    var agents: Int
    var image: String
    var ports: [Port]
    var volumes: [Volume]
    var options: Options
}

struct CloudConfig: Encodable, Sendable {
    struct File: Encodable, Sendable {
        var path: String
        var content: String
        var owner = "root:root"
        var permissions = "0600"

        init(path: String, content: String) {
            self.path = path
            self.content = content
        }
    }
    var writeFiles: [File]
    var runcmd: [[String]]

    private enum CodingKeys: String, CodingKey {
        case writeFiles = "write_files"
        case runcmd
    }
}
