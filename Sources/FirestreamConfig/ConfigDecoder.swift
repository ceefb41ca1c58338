public import FirestreamFormats
import FirestreamJSON
import Foundation

/// Turns a parsed config tree into a ``ProjectConfig``, checking every rule and collecting every
/// problem (with its JSON path and position) instead of stopping at the first.
public struct ConfigDecoder {
    private var diagnostics: [Diagnostic] = []
    private let defaultName: String

    /// Decodes `root`; the config is nil when any error was found. `defaultName` is used when the
    /// file has no `name` (normally derived from the project directory).
    /// With `environment`, that entry of `environments` is laid over the config first; without
    /// it, every environment is checked too and its own problems reported.
    public static func decode(_ root: LocatedNode, defaultName: String, environment: String? = nil) -> (
        config: ProjectConfig?, diagnostics: [Diagnostic]
    ) {
        var decoder = ConfigDecoder(defaultName: defaultName)
        decoder.checkEnvironments(root)
        guard let applied = Environments.apply(environment, to: root) else {
            decoder.unknownEnvironment(environment ?? "", root)
            return (nil, decoder.diagnostics)
        }
        let config = decoder.project(applied)
        if environment == nil { decoder.diagnostics += Environments.problems(of: root, defaultName: defaultName, beyond: decoder.diagnostics) }
        return (decoder.diagnostics.hasErrors ? nil : config, decoder.diagnostics)
    }

    private init(defaultName: String) {
        self.defaultName = defaultName
    }

    // MARK: The project

    mutating func project(_ root: LocatedNode) -> ProjectConfig {
        let path = ConfigPath.root
        var config = ProjectConfig(name: defaultName)
        guard case .object = root.value else {
            error(at: root, path, "the config must be an object ({ … }), found \(root.kindDescription)")
            return config
        }
        let fields = object(
            root, path,
            keys: [
                "name", "replicaCount", "image", "service", "resources", "ingress", "services", "topics", "apps", "sources", "effects", "gateway",
                "kafka", "deploy", "environments", "tables", "warehouse",
            ])
        if let node = fields["name"], let name = string(node, path / "name") {
            if checkLabel(name, node, path / "name") { config.name = name }
        }
        if let node = fields["replicaCount"], let count = int(node, path / "replicaCount", in: 0...1000) { config.replicaCount = count }
        if let node = fields["image"] { config.image = image(node, path / "image") }
        if let node = fields["service"] { config.service = serviceSpec(node, path / "service") }
        if let node = fields["resources"] { config.resources = resources(node, path / "resources", defaults: .firestreamDefault) }
        if let node = fields["ingress"] { config.ingress = ingress(node, path / "ingress") }
        if let node = fields["services"] { config.services = services(node, path / "services") }
        if let node = fields["topics"] { config.topics = topics(node, path / "topics") }
        if let node = fields["apps"] { config.apps = apps(node, path / "apps") }
        if let node = fields["sources"] { config.sources = sources(node, path / "sources") }
        if let node = fields["effects"] { config.effects = effects(node, path / "effects") }
        if let node = fields["gateway"] { config.gateway = gateway(node, path / "gateway") }
        if let node = fields["kafka"] { config.kafka = kafka(node, path / "kafka") }
        if let node = fields["deploy"] { config.deploy = deploy(node, path / "deploy") }
        if let node = fields["tables"] { config.tables = tables(node, path / "tables") }
        if let node = fields["warehouse"] { config.warehouse = warehouse(node, path / "warehouse") }
        checkConnectorNames(config, root)
        return config
    }

    mutating func serviceSpec(_ node: LocatedNode, _ path: ConfigPath) -> ServiceSpec {
        var spec = ServiceSpec()
        let fields = object(node, path, keys: ["ports"])
        guard let portsNode = fields["ports"], let items = array(portsNode, path / "ports") else { return spec }
        var seen: [Int: Int] = [:]
        var ports: [Int] = []
        for (index, item) in items.enumerated() {
            let itemPath = path / "ports" / index
            guard let port = int(item, itemPath) else { continue }
            guard (1...65535).contains(port) else {
                error(at: item, itemPath, "port \(port) is out of range (1–65535)")
                continue
            }
            if let first = seen[port] {
                error(
                    at: item, itemPath, "port \(port) is listed twice (first at \(path / "ports" / first))",
                    hint: "remove one of them")
                continue
            }
            seen[port] = index
            ports.append(port)
        }
        spec.ports = ports
        return spec
    }

    mutating func resources(
        _ node: LocatedNode, _ path: ConfigPath, defaults: ResourceRequirements
    ) -> ResourceRequirements {
        var result = defaults
        let fields = object(node, path, keys: ["requests", "limits"])
        if let node = fields["requests"] {
            result.requests = resourceList(node, path / "requests", defaults: defaults.requests)
        }
        if let node = fields["limits"] {
            result.limits = resourceList(node, path / "limits", defaults: defaults.limits)
        }
        for (key, request, limit) in [
            ("cpu", result.requests.cpu, result.limits.cpu), ("memory", result.requests.memory, result.limits.memory),
        ] {
            guard let request, let limit, request.value > limit.value else { continue }
            let requestPath = path / "requests" / key
            let at =
                fields["requests"].flatMap { member(key, of: $0) } ?? fields["limits"].flatMap { member(key, of: $0) }
                ?? node
            error(
                at: at, requestPath,
                "request \"\(request)\" exceeds the limit \"\(limit)\" (\(path / "limits" / key))",
                hint: "raise the limit or lower the request")
        }
        return result
    }

    mutating func resourceList(_ node: LocatedNode, _ path: ConfigPath, defaults: ResourceList) -> ResourceList {
        var list = defaults
        let fields = object(node, path, keys: ["cpu", "memory"])
        if let node = fields["cpu"] { list.cpu = quantity(node, path / "cpu", as: .cpu) ?? list.cpu }
        if let node = fields["memory"] { list.memory = quantity(node, path / "memory", as: .bytes) ?? list.memory }
        return list
    }

    // MARK: Services, topics, apps

    mutating func services(_ node: LocatedNode, _ path: ConfigPath) -> [ServiceConfig] {
        guard let items = array(node, path) else { return [] }
        var result: [ServiceConfig] = []
        var firstIndex: [ServiceKind: Int] = [:]
        for (index, item) in items.enumerated() {
            let itemPath = path / index
            guard case .object = item.value else {
                error(at: item, itemPath, "expected a service object ({\"service_name\": …}), found \(item.kindDescription)")
                continue
            }
            let fields = object(
                item, itemPath, keys: ["service_name", "enabled", "replicaCount", "resources", "persistence", "values"])
            // An unknown or missing name is reported, and the rest of the entry is still checked.
            var kind: ServiceKind?
            if let nameNode = required("service_name", in: fields, of: item, itemPath),
                let name = string(nameNode, itemPath / "service_name"),
                let named = serviceKind(name, nameNode, itemPath / "service_name")
            {
                if let first = firstIndex[named] {
                    error(
                        at: nameNode, itemPath / "service_name",
                        "service \"\(named.rawValue)\" is declared twice (first at \(path / first))",
                        hint: "merge the two entries into one")
                } else {
                    firstIndex[named] = index
                    kind = named
                }
            }
            var service = ServiceConfig(kind ?? .kafka)
            if let node = fields["enabled"], let flag = bool(node, itemPath / "enabled") { service.enabled = flag }
            if let node = fields["replicaCount"], let count = int(node, itemPath / "replicaCount", in: 0...1000) {
                service.replicaCount = count
            }
            if let node = fields["resources"] {
                service.resources = resources(node, itemPath / "resources", defaults: service.resources)
            }
            if let node = fields["persistence"], let kind {
                service.persistence = persistence(node, itemPath / "persistence", kind: kind)
            }
            if let node = fields["values"] {
                if case .object = node.value {
                    service.values = JSONValue(node)
                } else {
                    error(
                        at: node, itemPath / "values",
                        "expected an object of chart values, found \(node.kindDescription)")
                }
            }
            guard kind != nil else { continue }
            result.append(service)
        }
        return result
    }

    mutating func serviceKind(_ name: String, _ node: LocatedNode, _ path: ConfigPath) -> ServiceKind? {
        if let kind = ServiceKind(named: name) { return kind }
        let known = ServiceKind.allCases.map(\.rawValue)
        if ServiceKind.proprietary.contains(name.lowercased()) {
            error(
                at: node, path, "\"\(name)\" is a proprietary managed service and cannot be deployed by Firestream",
                hint: "remove it; deployable services are \(known.joined(separator: ", "))")
        } else {
            error(
                at: node, path, "unknown service \"\(name)\"",
                hint: suggestion(for: name, among: known + ServiceKind.aliases.keys.sorted(), listing: "known services are"))
        }
        return nil
    }

    mutating func persistence(_ node: LocatedNode, _ path: ConfigPath, kind: ServiceKind) -> Persistence? {
        let fields = object(node, path, keys: ["size"])
        guard kind.isStateful else {
            error(
                at: node, path, "\(kind.rawValue) keeps no data, so it takes no persistence",
                hint: "remove \"persistence\" from this service")
            return nil
        }
        var persistence = kind.defaults.persistence
        if let node = fields["size"], let size = quantity(node, path / "size", as: .bytes) {
            if size.value <= 0 {
                error(at: node, path / "size", "a volume size must be more than zero")
            } else {
                persistence = Persistence(size: size)
            }
        }
        return persistence
    }

    mutating func topics(_ node: LocatedNode, _ path: ConfigPath) -> [TopicConfig] {
        guard let items = array(node, path) else { return [] }
        var result: [TopicConfig] = []
        var firstIndex: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let itemPath = path / index
            guard case .object = item.value else {
                error(at: item, itemPath, "expected a topic object ({\"name\": …}), found \(item.kindDescription)")
                continue
            }
            let fields = object(item, itemPath, keys: ["name", "partitions", "retention", "key", "signature"])
            guard let nameNode = required("name", in: fields, of: item, itemPath),
                let name = string(nameNode, itemPath / "name"), checkTopicName(name, nameNode, itemPath / "name")
            else { continue }
            if let first = firstIndex[name] {
                error(
                    at: nameNode, itemPath / "name", "topic \"\(name)\" is declared twice (first at \(path / first))",
                    hint: "remove one of them")
                continue
            }
            firstIndex[name] = index
            var topic = TopicConfig(name: name)
            if let node = fields["partitions"], let count = int(node, itemPath / "partitions", in: 1...10_000) {
                topic.partitions = count
            }
            if let node = fields["retention"] { topic.retention = retention(node, itemPath / "retention") }
            if let node = fields["key"], let pointer = string(node, itemPath / "key") {
                if pointer.hasPrefix("/") && pointer.count > 1 {
                    topic.key = pointer
                } else {
                    error(
                        at: node, itemPath / "key", "\"\(pointer)\" is not a JSON pointer to a field",
                        hint: "write it as \"/\(pointer.drop { $0 == "/" })\" (RFC 6901: a '/' before each field name)")
                }
            }
            if let node = fields["signature"] { topic.signature = signature(node, itemPath / "signature") }
            result.append(topic)
        }
        return result
    }

    mutating func signature(_ node: LocatedNode, _ path: ConfigPath) -> SignatureConfig? {
        let fields = object(node, path, keys: ["scheme", "secretEnv", "header", "tolerance"])
        guard case .object = node.value else { return nil }
        guard let envNode = required("secretEnv", in: fields, of: node, path), let env = nonEmptyString(envNode, path / "secretEnv") else {
            return nil
        }
        var config = SignatureConfig(secretEnv: env)
        if env.contains(where: { !($0.isLetter || $0.isNumber || $0 == "_") }) {
            error(
                at: envNode, path / "secretEnv", "\"\(env)\" is not an environment variable name",
                hint: "name the variable that holds the secret (letters, digits, _), never the secret itself")
        }
        if let schemeNode = fields["scheme"], let text = string(schemeNode, path / "scheme") {
            if let scheme = SignatureConfig.Scheme(rawValue: text) {
                config.scheme = scheme
            } else {
                error(
                    at: schemeNode, path / "scheme", "unknown signature scheme \"\(text)\"",
                    hint: suggestion(for: text, among: SignatureConfig.Scheme.allCases.map(\.rawValue), listing: "schemes are"))
            }
        }
        if let headerNode = fields["header"], let header = nonEmptyString(headerNode, path / "header") {
            if config.scheme != .hmacSHA256 {
                error(at: headerNode, path / "header", "header applies only to the hmac-sha256 scheme (\(config.scheme.rawValue) fixes its own)")
            } else if header.contains(where: { $0 == ":" || $0 == " " || !$0.isASCII }) {
                error(at: headerNode, path / "header", "\"\(header)\" is not an HTTP header name")
            } else {
                config.header = header
            }
        }
        if let toleranceNode = fields["tolerance"], let text = string(toleranceNode, path / "tolerance") {
            if let duration = TimeSpan.parse(text) {
                config.tolerance = duration
            } else {
                error(at: toleranceNode, path / "tolerance", "\"\(text)\" is not a duration", hint: "e.g. \"5m\" or \"300s\"")
            }
        }
        return config
    }

    mutating func retention(_ node: LocatedNode, _ path: ConfigPath) -> Retention {
        var retention = Retention()
        let fields = object(node, path, keys: ["time", "bytes"])
        if let node = fields["time"], let text = string(node, path / "time") {
            if text == "unlimited" {
                retention.time = nil
            } else if let duration = TimeSpan.parse(text) {
                retention.time = duration
            } else {
                error(
                    at: node, path / "time", "\"\(text)\" is not a duration",
                    hint: "write a whole number and a unit (ms, s, m, h, d, w), e.g. \"7d\", or \"unlimited\"")
            }
        }
        if let node = fields["bytes"] {
            if case .string("unlimited") = node.value {
                retention.bytes = nil
            } else if let size = quantity(node, path / "bytes", as: .bytes) {
                retention.bytes = size
            }
        }
        return retention
    }

    mutating func apps(_ node: LocatedNode, _ path: ConfigPath) -> [AppConfig] {
        guard let items = array(node, path) else { return [] }
        var result: [AppConfig] = []
        var firstIndex: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let itemPath = path / index
            guard case .object = item.value else {
                error(at: item, itemPath, "expected an app object ({\"name\": …, \"kind\": …}), found \(item.kindDescription)")
                continue
            }
            let fields = object(item, itemPath, keys: ["name", "kind", "enabled", "settings"])
            let nameNode = required("name", in: fields, of: item, itemPath)
            let kindNode = required("kind", in: fields, of: item, itemPath)
            guard let nameNode, let name = string(nameNode, itemPath / "name"), checkLabel(name, nameNode, itemPath / "name")
            else { continue }
            if let first = firstIndex[name] {
                error(
                    at: nameNode, itemPath / "name", "app \"\(name)\" is declared twice (first at \(path / first))",
                    hint: "give each app its own name")
                continue
            }
            firstIndex[name] = index
            guard let kindNode, let kind = nonEmptyString(kindNode, itemPath / "kind") else { continue }
            var app = AppConfig(name: name, kind: kind)
            if let node = fields["enabled"], let flag = bool(node, itemPath / "enabled") { app.enabled = flag }
            if let node = fields["settings"] {
                if case .object = node.value {
                    app.settings = JSONValue(node)
                } else {
                    error(at: node, itemPath / "settings", "expected an object of app settings, found \(node.kindDescription)")
                }
            }
            result.append(app)
        }
        return result
    }

    // MARK: Names

    /// Checks a DNS-1123 label (Kubernetes object names); reports and returns false otherwise.
    mutating func checkLabel(_ name: String, _ node: LocatedNode, _ path: ConfigPath) -> Bool {
        if let problem = NameRules.dns1123LabelProblem(name) {
            let fixed = NameRules.suggestedLabel(from: name)
            error(
                at: node, path, "\"\(name)\" is not a valid name: \(problem)",
                hint: fixed.isEmpty || fixed == name ? nil : "try \"\(fixed)\"")
            return false
        }
        return true
    }

    mutating func checkTopicName(_ name: String, _ node: LocatedNode, _ path: ConfigPath) -> Bool {
        if let problem = NameRules.topicNameProblem(name) {
            error(at: node, path, "\"\(name)\" is not a valid topic name: \(problem)")
            return false
        }
        return true
    }

    // MARK: Typed readers

    /// The members of an object with the allowed `keys`; reports a wrong type, duplicate keys and
    /// unknown keys (with a "did you mean").
    mutating func object(_ node: LocatedNode, _ path: ConfigPath, keys: [String]) -> [String: LocatedNode] {
        guard case .object(let members) = node.value else {
            error(at: node, path, "expected an object, found \(node.kindDescription)")
            return [:]
        }
        var fields: [String: LocatedNode] = [:]
        var firstAt: [String: SourceLocation] = [:]
        for member in members {
            if let first = firstAt[member.key] {
                error(
                    at: member.keyLocation, path / member.key,
                    "duplicate key \"\(member.key)\" (first at \(first))", hint: "keep only one of them")
                continue
            }
            firstAt[member.key] = member.keyLocation
            guard keys.contains(member.key) else {
                error(
                    at: member.keyLocation, path / member.key, "unknown key \"\(member.key)\"",
                    hint: suggestion(for: member.key, among: keys, listing: "allowed keys here are"))
                continue
            }
            fields[member.key] = member.value
        }
        return fields
    }

    mutating func required(
        _ key: String, in fields: [String: LocatedNode], of node: LocatedNode, _ path: ConfigPath
    ) -> LocatedNode? {
        if let value = fields[key] { return value }
        error(at: node, path, "missing required key \"\(key)\"")
        return nil
    }

    func member(_ key: String, of node: LocatedNode) -> LocatedNode? {
        guard case .object(let members) = node.value else { return nil }
        return members.first { $0.key == key }?.value
    }

    mutating func array(_ node: LocatedNode, _ path: ConfigPath) -> [LocatedNode]? {
        guard case .array(let items) = node.value else {
            error(at: node, path, "expected an array ([ … ]), found \(node.kindDescription)")
            return nil
        }
        return items
    }

    mutating func string(_ node: LocatedNode, _ path: ConfigPath) -> String? {
        switch node.value {
        case .string(let text): return text
        case .number(let text):
            error(at: node, path, "expected a string, found a number", hint: "write \"\(text)\" in quotes")
        default:
            error(at: node, path, "expected a string, found \(node.kindDescription)")
        }
        return nil
    }

    mutating func nonEmptyString(_ node: LocatedNode, _ path: ConfigPath) -> String? {
        guard let text = string(node, path) else { return nil }
        if text.trimmingCharacters(in: .whitespaces).isEmpty {
            error(at: node, path, "must not be empty")
            return nil
        }
        return text
    }

    mutating func int(_ node: LocatedNode, _ path: ConfigPath, in range: ClosedRange<Int>? = nil) -> Int? {
        let value: Int
        switch node.value {
        case .number(let text):
            if let whole = Int(text) {
                value = whole
            } else if let real = Double(text), real == real.rounded(), abs(real) < 1e15 {
                value = Int(real)
            } else {
                error(at: node, path, "expected a whole number, found \(text)")
                return nil
            }
        case .string(let text) where Int(text) != nil:
            error(at: node, path, "expected a number, found a string", hint: "write \(text) without quotes")
            return nil
        default:
            error(at: node, path, "expected a whole number, found \(node.kindDescription)")
            return nil
        }
        if let range, !range.contains(value) {
            let bound = value < range.lowerBound ? "\(range.lowerBound) or more" : "at most \(range.upperBound)"
            error(at: node, path, "must be \(bound), found \(value)")
            return nil
        }
        return value
    }

    mutating func bool(_ node: LocatedNode, _ path: ConfigPath) -> Bool? {
        switch node.value {
        case .bool(let flag): return flag
        case .string(let text) where ["true", "false"].contains(text.lowercased()):
            error(at: node, path, "expected true or false, found a string", hint: "write \(text.lowercased()) without quotes")
        default:
            error(at: node, path, "expected true or false, found \(node.kindDescription)")
        }
        return nil
    }

    mutating func quantity(_ node: LocatedNode, _ path: ConfigPath, as kind: Quantity.Kind) -> Quantity? {
        let text: String
        switch node.value {
        case .string(let written), .number(let written): text = written
        default:
            error(at: node, path, "expected a quantity such as \(kind == .cpu ? "\"200m\"" : "\"128Mi\""), found \(node.kindDescription)")
            return nil
        }
        do {
            return try Quantity.parse(text, as: kind)
        } catch {
            self.error(at: node, path, error.message, hint: error.hint)
            return nil
        }
    }

    // MARK: Reporting

    func suggestion(for word: String, among candidates: [String], listing intro: String) -> String {
        if let close = Suggestion.closest(to: word, in: candidates) {
            return "did you mean \"\(close)\"?"
        }
        return "\(intro) \(candidates.joined(separator: ", "))"
    }

    mutating func error(at node: LocatedNode, _ path: ConfigPath, _ message: String, hint: String? = nil) {
        error(at: node.location, path, message, hint: hint)
    }

    mutating func error(at location: SourceLocation, _ path: ConfigPath, _ message: String, hint: String? = nil) {
        diagnostics.append(Diagnostic(.error, path: path, at: location, message, hint: hint))
    }

    mutating func warning(at node: LocatedNode, _ path: ConfigPath, _ message: String, hint: String? = nil) {
        diagnostics.append(Diagnostic(.warning, path: path, at: node.location, message, hint: hint))
    }
}
