import FirestreamFormats

/// Decoding of what shapes the project in Kubernetes: `image`, `ingress`, `deploy`, and `environments`
/// (named overlays laid over the config by `--env NAME`).
extension ConfigDecoder {
    mutating func image(_ node: LocatedNode, _ path: ConfigPath) -> ImageConfig {
        var image = ImageConfig()
        let fields = object(node, path, keys: ["repository", "tag", "pullPolicy"])
        if let node = fields["repository"], let text = nonEmptyString(node, path / "repository") {
            image.repository = text
        }
        if let node = fields["tag"], let text = nonEmptyString(node, path / "tag") { image.tag = text }
        if let node = fields["pullPolicy"], let text = string(node, path / "pullPolicy") {
            if let policy = PullPolicy(rawValue: text) {
                image.pullPolicy = policy
            } else {
                let names = PullPolicy.allCases.map(\.rawValue)
                error(
                    at: node, path / "pullPolicy", "\"\(text)\" is not an image pull policy",
                    hint: suggestion(for: text, among: names, listing: "one of"))
            }
        }
        return image
    }

    mutating func ingress(_ node: LocatedNode, _ path: ConfigPath) -> IngressConfig {
        var ingress = IngressConfig()
        let fields = object(node, path, keys: ["enabled", "external"])
        if let node = fields["enabled"], let flag = bool(node, path / "enabled") { ingress.enabled = flag }
        if let node = fields["external"], let flag = bool(node, path / "external") { ingress.external = flag }
        if ingress.external && !ingress.enabled, let node = fields["external"] {
            warning(
                at: node, path / "external", "has no effect while ingress.enabled is false",
                hint: "set \"enabled\": true to expose the gateway")
        }
        return ingress
    }

    mutating func deploy(_ node: LocatedNode, _ path: ConfigPath) -> DeployConfig {
        var deploy = DeployConfig()
        let fields = object(node, path, keys: ["namespace", "host", "storage", "secret", "k3sVersion", "targets", "k3d"])
        if let node = fields["namespace"], let name = string(node, path / "namespace"), checkLabel(name, node, path / "namespace") {
            deploy.namespace = name
        }
        if let node = fields["host"], let host = nonEmptyString(node, path / "host") {
            if NameRules.dns1123SubdomainProblem(host) == nil {
                deploy.host = host
            } else {
                error(
                    at: node, path / "host", "\"\(host)\" is not a DNS host name",
                    hint: "lower-case labels joined by dots, e.g. firestream.example.com")
            }
        }
        if let node = fields["storage"], let size = quantity(node, path / "storage", as: .bytes) { deploy.storage = size }
        if let node = fields["secret"], let name = string(node, path / "secret"), checkLabel(name, node, path / "secret") { deploy.secret = name }
        if let node = fields["k3sVersion"], let version = nonEmptyString(node, path / "k3sVersion") {
            if version.wholeMatch(of: /v1\.[0-9]+\.[0-9]+\+k3s[0-9]+/) != nil {
                deploy.k3sVersion = version
            } else {
                error(at: node, path / "k3sVersion", "\"\(version)\" is not a k3s release", hint: "for example \(DeployConfig.defaultK3sVersion)")
            }
        }
        if let node = fields["targets"], let items = array(node, path / "targets") {
            deploy.targets = items.enumerated().compactMap { index, item in
                guard let name = string(item, path / "targets" / index) else { return nil }
                guard let target = DeployTarget(rawValue: name) else {
                    error(
                        at: item, path / "targets" / index, "\"\(name)\" is not a deploy target",
                        hint: suggestion(for: name, among: DeployTarget.allCases.map(\.rawValue), listing: "targets are"))
                    return nil
                }
                return target
            }
        }
        if let node = fields["k3d"] { deploy.k3d = k3d(node, path / "k3d") }
        return deploy
    }

    mutating func unknownEnvironment(_ name: String, _ root: LocatedNode) {
        let declared = Environments.names(in: root)
        error(
            at: root, ConfigPath.root / "environments", "there is no environment \"\(name)\"",
            hint: declared.isEmpty ? "declare it under \"environments\"" : "declared: \(declared.joined(separator: ", "))")
    }

    /// `environments` must be an object of objects named like Kubernetes objects.
    mutating func checkEnvironments(_ root: LocatedNode) {
        guard case .object(let members) = root.value, let node = members.last(where: { $0.key == "environments" })?.value else { return }
        let path = ConfigPath.root / "environments"
        guard case .object(let entries) = node.value else {
            error(at: node, path, "must be an object of named overlays ({\"prod\": {\"replicaCount\": 2}}), found \(node.kindDescription)")
            return
        }
        for entry in entries {
            _ = checkLabel(entry.key, entry.value, path / entry.key)
            if case .object = entry.value.value { continue }
            error(at: entry.value, path / entry.key, "must be an object laid over the config, found \(entry.value.kindDescription)")
        }
    }

    private mutating func k3d(_ node: LocatedNode, _ path: ConfigPath) -> DeployConfig.K3dSettings {
        var k3d = DeployConfig.K3dSettings()
        let fields = object(node, path, keys: ["agents", "httpPort", "kafkaPort"])
        if let node = fields["agents"], let count = int(node, path / "agents", in: 0...20) { k3d.agents = count }
        if let node = fields["httpPort"], let port = int(node, path / "httpPort", in: 1...65535) { k3d.httpPort = port }
        if let node = fields["kafkaPort"], let port = int(node, path / "kafkaPort", in: 1...65535) { k3d.kafkaPort = port }
        if k3d.httpPort == k3d.kafkaPort, let node = fields["kafkaPort"] {
            error(at: node, path / "kafkaPort", "is the same host port as httpPort (\(k3d.httpPort))")
        }
        return k3d
    }
}

/// `environments`: each a partial config laid over the whole one (objects merge key by key,
/// anything else replaces), so `deploy render --env prod` can change replicas, resources or
/// services without a second file.
enum Environments {
    /// The names declared, in file order.
    static func names(in root: LocatedNode) -> [String] {
        guard case .object(let members) = root.value, let environments = members.last(where: { $0.key == "environments" }),
            case .object(let entries) = environments.value.value
        else { return [] }
        return entries.map(\.key)
    }

    /// `root` without `environments`, with the environment `name` laid over it; nil when the
    /// config declares no such environment.
    static func apply(_ name: String?, to root: LocatedNode) -> LocatedNode? {
        guard case .object(let members) = root.value else { return root }
        var base = root
        base.value = .object(members.filter { $0.key != "environments" })
        guard let name else { return base }
        guard let environments = members.last(where: { $0.key == "environments" }), case .object(let entries) = environments.value.value,
            let overlay = entries.last(where: { $0.key == name })
        else { return nil }
        return merge(base, overlay.value)
    }

    /// The problems each environment brings that the config alone does not have.
    static func problems(of root: LocatedNode, defaultName: String, beyond known: [Diagnostic]) -> [Diagnostic] {
        var found: [Diagnostic] = []
        for name in names(in: root) {
            let overlaid = ConfigDecoder.decode(root, defaultName: defaultName, environment: name).diagnostics
            found += overlaid.filter { !known.contains($0) && !found.contains($0) }
        }
        return found
    }

    private static func merge(_ base: LocatedNode, _ overlay: LocatedNode) -> LocatedNode {
        guard case .object(var members) = base.value, case .object(let extra) = overlay.value else { return overlay }
        for member in extra {
            if let index = members.firstIndex(where: { $0.key == member.key }) {
                members[index].value = merge(members[index].value, member.value)
            } else {
                members.append(member)
            }
        }
        var merged = base
        merged.value = .object(members)
        return merged
    }
}
