import FirestreamFormats
public import FirestreamJSON
import Yams

/// Writes a config back out as JSON or YAML, keys in the documented order, every default present.
public enum ConfigRenderer {
    public static func render(_ config: ProjectConfig, as format: ConfigFormat) -> String {
        render(tree(config), as: format)
    }

    public static func render(_ value: JSONValue, as format: ConfigFormat) -> String {
        switch format {
        case .json: JSONText.render(value) + "\n"
        case .yaml: (try? Yams.serialize(node: yamlNode(value), indent: 2, width: -1, allowUnicode: true)) ?? ""
        }
    }

    /// The config as an ordered JSON tree, exactly as `config show` prints it.
    public static func tree(_ config: ProjectConfig) -> JSONValue {
        .object(
            [
                ("name", .string(config.name)),
                ("replicaCount", .number(String(config.replicaCount))),
                (
                    "image",
                    .object([
                        ("repository", .string(config.image.repository)),
                        ("tag", .string(config.image.tag)),
                        ("pullPolicy", .string(config.image.pullPolicy.rawValue)),
                    ])
                ),
                ("service", .object([("ports", .array(config.service.ports.map { .number(String($0)) }))])),
                ("resources", tree(config.resources)),
                ("ingress", .object([("enabled", .bool(config.ingress.enabled)), ("external", .bool(config.ingress.external))])),
                ("services", .array(config.services.map(tree))),
                ("topics", .array(config.topics.map(tree))),
                ("apps", .array(config.apps.map(tree))),
            ] + (config.sources.isEmpty ? [] : [("sources", .array(config.sources.map(tree)))])
                + (config.effects.isEmpty ? [] : [("effects", .array(config.effects.map(tree)))])
                + (config.gateway == GatewayConfig() ? [] : [("gateway", tree(config.gateway))])
                + (config.kafka == KafkaConfig() ? [] : [("kafka", tree(config.kafka))])
                + (config.deploy == DeployConfig() ? [] : [("deploy", tree(config.deploy))])
                + (config.tables.isEmpty ? [] : [("tables", .array(config.tables.map(tree)))])
                + (config.warehouse == WarehouseConfig() ? [] : [("warehouse", tree(config.warehouse))]))
    }

    private static func tree(_ warehouse: WarehouseConfig) -> JSONValue {
        var members: [(String, JSONValue)] = [("engine", .string(warehouse.engine.rawValue))]
        if warehouse.engine == .postgres {
            members += (warehouse.host.map { [("host", JSONValue.string($0))] } ?? []) + [("port", .number(String(warehouse.port)))]
            if warehouse.host != nil {
                members += [("database", .string(warehouse.database)), ("user", .string(warehouse.user))]
                members += warehouse.passwordEnv.map { [("passwordEnv", JSONValue.string($0))] } ?? []
            }
        } else if warehouse.port != 5433 {
            members.append(("port", .number(String(warehouse.port))))
        }
        return .object(members)
    }

    private static func tree(_ table: TableConfig) -> JSONValue {
        let columns = table.columns.map { ($0.name, JSONValue.object([("pointer", .string($0.pointer)), ("type", .string($0.type.rawValue))])) }
        return .object(
            [("name", .string(table.name)), ("from", .string(table.from)), ("mode", .string(table.mode.rawValue))]
                + (table.key.isEmpty ? [] : [("key", .array(table.key.map { .string($0) }))]) + [("columns", .object(columns))]
                + (table.retention.map { [("retention", JSONValue.string($0.text))] } ?? []))
    }

    private static func tree(_ deploy: DeployConfig) -> JSONValue {
        let k3d = deploy.k3d
        return .object(
            (deploy.namespace.map { [("namespace", JSONValue.string($0))] } ?? []) + (deploy.host.map { [("host", JSONValue.string($0))] } ?? [])
                + [("storage", .string(deploy.storage.text))] + (deploy.secret.map { [("secret", JSONValue.string($0))] } ?? [])
                + [
                    ("k3sVersion", .string(deploy.k3sVersion)), ("targets", .array(deploy.targets.map { .string($0.rawValue) })),
                    (
                        "k3d",
                        .object([
                            ("agents", .number(String(k3d.agents))), ("httpPort", .number(String(k3d.httpPort))),
                            ("kafkaPort", .number(String(k3d.kafkaPort))),
                        ])
                    ),
                ])
    }

    private static func tree(_ security: KafkaSecurity) -> JSONValue {
        .object(
            [("protocol", JSONValue.string(security.protocol))] + (security.mechanism.map { [("mechanism", JSONValue.string($0))] } ?? [])
                + (security.username.map { [("username", JSONValue.string($0))] } ?? [])
                + (security.passwordEnv.map { [("passwordEnv", JSONValue.string($0))] } ?? []))
    }

    private static func tree(_ kafka: KafkaConfig) -> JSONValue {
        .object(
            [("enabled", .bool(kafka.enabled)), ("listener", .string(kafka.listener.description))]
                + (kafka.advertisedHost.map { [("advertisedHost", JSONValue.string($0))] } ?? [])
                + [("autoCreateTopics", .bool(kafka.autoCreateTopics)), ("defaultPartitions", .number(String(kafka.defaultPartitions)))]
                + (kafka.bootstrap.isEmpty ? [] : [("bootstrap", JSONValue.string(kafka.bootstrap.map(\.description).joined(separator: ",")))])
                + (kafka.security == KafkaSecurity() ? [] : [("security", tree(kafka.security))])
                + [("exactlyOnce", .bool(kafka.exactlyOnce))])
    }

    private static func tree(_ gateway: GatewayConfig) -> JSONValue {
        .object([
            ("hosts", .array(gateway.hosts.map(JSONValue.string))),
            ("origins", .array(gateway.origins.map(JSONValue.string))),
            (
                "tokens",
                .array(
                    gateway.tokens.map { token in
                        tree(token)
                    })
            ),
        ])
    }

    /// A token's config entry, as `firestream token create` prints it.
    public static func tree(_ token: TokenConfig) -> JSONValue {
        .object(
            [
                ("name", .string(token.name)), ("sha256", .string(token.sha256)),
                ("scopes", .array(token.scopes.map { .string($0.description) })),
            ]
                + (token.scram.isEmpty
                    ? [] : [("scram", .object(token.scram.map { ($0.mechanism.rawValue, JSONValue.string($0.description)) }))]))
    }

    private static func tree(_ source: SourceConfig) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("name", .string(source.name)), ("kind", .string(source.kind.rawValue)), ("enabled", .bool(source.enabled)),
            ("topic", .string(source.topic)), ("url", .string(source.url)),
        ]
        if let key = source.key { members.append(("key", .string(key))) }
        if !source.headers.isEmpty { members.append(("headers", headers(source.headers))) }
        switch source.kind {
        case .websocket:
            if let subscribe = source.subscribe { members.append(("subscribe", .string(subscribe))) }
            members.append(("reconnect", tree(source.reconnect)))
        case .rest:
            members.append(("interval", .string(source.interval.text)))
            if let items = source.items { members.append(("items", .string(items))) }
            if let dedupe = source.dedupe { members.append(("dedupe", .string(dedupe))) }
        }
        return .object(members)
    }

    private static func tree(_ effect: EffectConfig) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("name", .string(effect.name)), ("kind", .string(effect.kind.rawValue)), ("enabled", .bool(effect.enabled)),
            ("topic", .string(effect.topic)), ("url", .string(effect.url)),
        ]
        if !effect.headers.isEmpty { members.append(("headers", headers(effect.headers))) }
        if effect.kind == .webhook { members.append(("body", .string(effect.body.rawValue))) }
        members += [
            ("start", .string(effect.start.rawValue)),
            ("batch", .number(String(effect.batch))), ("maxAttempts", .number(String(effect.maxAttempts))),
            ("backoff", tree(effect.backoff)), ("timeout", .string(effect.timeout.text)),
        ]
        if let signature = effect.signature { members.append(("signature", tree(signature))) }
        if let airflow = effect.airflow {
            var parts: [(String, JSONValue)] = [("asset", .string(airflow.asset))]
            if let username = airflow.username { parts.append(("username", .string(username))) }
            if let passwordEnv = airflow.passwordEnv { parts.append(("passwordEnv", .string(passwordEnv))) }
            members.append(("airflow", .object(parts)))
        }
        members.append(("deadLetter", .string(effect.deadLetter)))
        return .object(members)
    }

    private static func tree(_ backoff: Backoff) -> JSONValue {
        .object([("initial", .string(backoff.initial.text)), ("max", .string(backoff.max.text))])
    }

    private static func headers(_ headers: [String: String]) -> JSONValue {
        .object(headers.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
    }

    private static func tree(_ service: ServiceConfig) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("service_name", .string(service.serviceName.rawValue)),
            ("enabled", .bool(service.enabled)),
            ("replicaCount", .number(String(service.replicaCount))),
            ("resources", tree(service.resources)),
        ]
        if let persistence = service.persistence {
            members.append(("persistence", .object([("size", .string(persistence.size.text))])))
        }
        members.append(("values", service.values))
        return .object(members)
    }

    private static func tree(_ resources: ResourceRequirements) -> JSONValue {
        func list(_ list: ResourceList) -> JSONValue {
            .object(
                [("cpu", list.cpu), ("memory", list.memory)].compactMap { key, quantity in
                    quantity.map { (key, JSONValue.string($0.text)) }
                })
        }
        return .object([("requests", list(resources.requests)), ("limits", list(resources.limits))])
    }

    private static func tree(_ topic: TopicConfig) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("name", .string(topic.name)),
            ("partitions", .number(String(topic.partitions))),
            (
                "retention",
                .object([
                    ("time", .string(topic.retention.time?.text ?? "unlimited")),
                    ("bytes", .string(topic.retention.bytes?.text ?? "unlimited")),
                ])
            ),
        ]
        if let key = topic.key { members.append(("key", .string(key))) }
        if let signature = topic.signature { members.append(("signature", tree(signature))) }
        return .object(members)
    }

    private static func tree(_ signature: SignatureConfig) -> JSONValue {
        var members: [(String, JSONValue)] = [("scheme", .string(signature.scheme.rawValue)), ("secretEnv", .string(signature.secretEnv))]
        switch signature.scheme {
        case .hmacSHA256: members.append(("header", .string(signature.header)))
        case .stripe: members.append(("tolerance", .string(signature.tolerance.text)))
        case .github: break
        }
        return .object(members)
    }

    private static func tree(_ app: AppConfig) -> JSONValue {
        .object([
            ("name", .string(app.name)), ("kind", .string(app.kind)), ("enabled", .bool(app.enabled)),
            ("settings", app.settings),
        ])
    }

    private static func yamlNode(_ value: JSONValue) -> Node {
        switch value {
        case .object(let members):
            return .mapping(Node.Mapping(members.map { (Node($0.0), yamlNode($0.1)) }))
        case .array(let items):
            return .sequence(Node.Sequence(items.map(yamlNode)))
        case .string(let text):
            // A plain scalar that YAML would read as a number, bool or null must be quoted.
            let plain = Node(text)
            return plain.tag.rawValue == Tag.Name.str.rawValue && !text.isEmpty ? plain : Node(text, Tag(.str), .doubleQuoted)
        case .number(let text): return Node(text, Tag(.int))
        case .bool(let flag): return Node(flag ? "true" : "false", Tag(.bool))
        case .null: return Node("null", Tag(.null))
        }
    }
}

/// The two config file formats.
public enum ConfigFormat: String, Sendable, CaseIterable {
    case json
    case yaml

    /// The default file name for this format.
    public var fileName: String { "firestream.\(rawValue)" }
}
