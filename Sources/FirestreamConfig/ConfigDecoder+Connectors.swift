import FirestreamFormats
import FirestreamJSON
import Foundation

/// Decoding of `sources` and `effects`: each kind has its own keys, and every URL, duration,
/// pointer and topic name is checked with its position.
extension ConfigDecoder {
    mutating func sources(_ node: LocatedNode, _ path: ConfigPath) -> [SourceConfig] {
        guard let items = array(node, path) else { return [] }
        var result: [SourceConfig] = []
        for (index, item) in items.enumerated() {
            let itemPath = path / index
            guard case .object = item.value else {
                error(at: item, itemPath, "expected a source object ({\"name\": …, \"kind\": …}), found \(item.kindDescription)")
                continue
            }
            let kindNames = SourceConfig.Kind.allCases.map(\.rawValue)
            guard let kindNode = member("kind", of: item) else {
                error(at: item, itemPath, "missing required key \"kind\"", hint: "one of: \(kindNames.joined(separator: ", "))")
                continue
            }
            guard let kindText = string(kindNode, itemPath / "kind") else { continue }
            guard let kind = SourceConfig.Kind(rawValue: kindText) else {
                error(
                    at: kindNode, itemPath / "kind", "unknown source kind \"\(kindText)\"",
                    hint: suggestion(for: kindText, among: kindNames, listing: "source kinds are"))
                continue
            }
            let common = ["name", "kind", "enabled", "topic", "url", "key", "headers"]
            let specific = kind == .websocket ? ["subscribe", "reconnect"] : ["interval", "items", "dedupe"]
            let fields = object(item, itemPath, keys: common + specific)
            guard let (name, topic, url) = connectorBasics(fields, item, itemPath, schemes: kind == .websocket ? ["ws", "wss"] : ["http", "https"])
            else { continue }
            var source = SourceConfig(name: name, kind: kind, topic: topic, url: url)
            if let node = fields["enabled"], let flag = bool(node, itemPath / "enabled") { source.enabled = flag }
            if let node = fields["key"] { source.key = pointer(node, itemPath / "key") }
            if let node = fields["headers"] { source.headers = headers(node, itemPath / "headers") }
            if let node = fields["subscribe"], let text = string(node, itemPath / "subscribe") { source.subscribe = text }
            if let node = fields["reconnect"] { source.reconnect = backoff(node, itemPath / "reconnect", defaults: source.reconnect) }
            if let node = fields["interval"], let duration = duration(node, itemPath / "interval") { source.interval = duration }
            if let node = fields["items"] { source.items = pointer(node, itemPath / "items") }
            if let node = fields["dedupe"] { source.dedupe = pointer(node, itemPath / "dedupe") }
            result.append(source)
        }
        return result
    }

    mutating func effects(_ node: LocatedNode, _ path: ConfigPath) -> [EffectConfig] {
        guard let items = array(node, path) else { return [] }
        var result: [EffectConfig] = []
        for (index, item) in items.enumerated() {
            let itemPath = path / index
            guard case .object = item.value else {
                error(at: item, itemPath, "expected an effect object ({\"name\": …, \"kind\": \"webhook\"}), found \(item.kindDescription)")
                continue
            }
            let fields = object(
                item, itemPath,
                keys: [
                    "name", "kind", "enabled", "topic", "url", "headers", "body", "start", "batch", "maxAttempts", "backoff", "timeout", "signature",
                    "deadLetter", "airflow",
                ])
            guard let kindNode = required("kind", in: fields, of: item, itemPath), let kindText = string(kindNode, itemPath / "kind") else {
                continue
            }
            guard let kind = EffectConfig.Kind(rawValue: kindText) else {
                error(
                    at: kindNode, itemPath / "kind", "unknown effect kind \"\(kindText)\"",
                    hint: suggestion(for: kindText, among: EffectConfig.Kind.allCases.map(\.rawValue), listing: "effect kinds are"))
                continue
            }
            guard let (name, topic, url) = connectorBasics(fields, item, itemPath, schemes: ["http", "https"]) else { continue }
            var effect = EffectConfig(name: name, kind: kind, topic: topic, url: url)
            if let node = fields["enabled"], let flag = bool(node, itemPath / "enabled") { effect.enabled = flag }
            if let node = fields["headers"] { effect.headers = headers(node, itemPath / "headers") }
            if let node = fields["body"], let value: EffectConfig.Body = choice(node, itemPath / "body") { effect.body = value }
            if let node = fields["start"], let value: EffectConfig.Start = choice(node, itemPath / "start") { effect.start = value }
            if let node = fields["batch"], let count = int(node, itemPath / "batch", in: 1...10_000) { effect.batch = count }
            if let node = fields["maxAttempts"], let count = int(node, itemPath / "maxAttempts", in: 1...1000) { effect.maxAttempts = count }
            if let node = fields["backoff"] { effect.backoff = backoff(node, itemPath / "backoff", defaults: effect.backoff) }
            if let node = fields["timeout"], let value = duration(node, itemPath / "timeout") { effect.timeout = value }
            if let node = fields["signature"], let value = signature(node, itemPath / "signature") {
                if value.scheme == .stripe {
                    error(at: node, itemPath / "signature" / "scheme", "effects sign with hmac-sha256 or github, not stripe")
                } else {
                    effect.signature = value
                }
            }
            if let node = fields["deadLetter"], let text = string(node, itemPath / "deadLetter"), checkTopicName(text, node, itemPath / "deadLetter")
            {
                effect.deadLetter = text
            }
            effect.airflow = airflowTarget(kind: kind, fields: fields, item: item, path: itemPath)
            result.append(effect)
        }
        return result
    }

    /// An `airflow` effect's `airflow` object (required there, refused elsewhere).
    private mutating func airflowTarget(kind: EffectConfig.Kind, fields: [String: LocatedNode], item: LocatedNode, path: ConfigPath)
        -> EffectConfig.Airflow?
    {
        guard kind == .airflow else {
            if let node = fields["airflow"] { error(at: node, path / "airflow", "airflow applies only to effects of kind \"airflow\"") }
            return nil
        }
        for key in ["body", "signature"] where fields[key] != nil {
            error(at: fields[key]!, path / key, "\(key) applies only to webhook effects: an airflow effect sends asset events")
        }
        guard let node = required("airflow", in: fields, of: item, path) else { return nil }
        let airflowPath = path / "airflow"
        let parts = object(node, airflowPath, keys: ["asset", "username", "passwordEnv"])
        guard case .object = node.value, let assetNode = required("asset", in: parts, of: node, airflowPath),
            let asset = nonEmptyString(assetNode, airflowPath / "asset")
        else { return nil }
        var target = EffectConfig.Airflow(asset: asset)
        if let userNode = parts["username"] { target.username = nonEmptyString(userNode, airflowPath / "username") }
        if let envNode = parts["passwordEnv"], let env = nonEmptyString(envNode, airflowPath / "passwordEnv") {
            if env.contains(where: { !($0.isLetter || $0.isNumber || $0 == "_") }) {
                error(
                    at: envNode, airflowPath / "passwordEnv", "\"\(env)\" is not an environment variable name",
                    hint: "name the variable that holds the password (letters, digits, _), never the password itself")
            }
            target.passwordEnv = env
        }
        if (target.username == nil) != (target.passwordEnv == nil) {
            error(at: node, airflowPath, "username and passwordEnv go together: give both, or neither (Airflow with every user an admin)")
        }
        return target
    }

    /// Name, topic and URL, required by every connector.
    private mutating func connectorBasics(_ fields: [String: LocatedNode], _ item: LocatedNode, _ path: ConfigPath, schemes: [String])
        -> (String, String, String)?
    {
        let nameNode = required("name", in: fields, of: item, path)
        let topicNode = required("topic", in: fields, of: item, path)
        let urlNode = required("url", in: fields, of: item, path)
        guard let nameNode, let name = string(nameNode, path / "name"), checkLabel(name, nameNode, path / "name") else { return nil }
        guard let topicNode, let topic = string(topicNode, path / "topic"), checkTopicName(topic, topicNode, path / "topic") else { return nil }
        guard let urlNode, let url = string(urlNode, path / "url") else { return nil }
        let scheme = url.split(separator: ":", maxSplits: 1).first.map { $0.lowercased() } ?? ""
        guard schemes.contains(scheme), url.contains("://"), url.split(separator: "/", omittingEmptySubsequences: true).count >= 2 else {
            error(
                at: urlNode, path / "url", "\"\(url)\" is not a \(schemes.joined(separator: " or ")) URL",
                hint: "e.g. \"\(schemes[0])://example.com/path\"")
            return nil
        }
        // What the connector will parse at run time must parse now (spaces, bad ports, no host).
        guard !url.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }),
            let parsed = URL(string: url), let host = parsed.host, !host.isEmpty, parsed.port.map({ (1...65535).contains($0) }) ?? true
        else {
            error(
                at: urlNode, path / "url", "\"\(url)\" is not a valid URL",
                hint: url.contains(" ") ? "encode spaces as %20" : "e.g. \"\(schemes[0])://example.com/path\"")
            return nil
        }
        return (name, topic, url)
    }

    private mutating func pointer(_ node: LocatedNode, _ path: ConfigPath) -> String? {
        guard let text = string(node, path) else { return nil }
        guard text.hasPrefix("/") else {
            error(at: node, path, "\"\(text)\" is not a JSON pointer", hint: "write it as \"/\(text)\" (RFC 6901: a '/' before each field name)")
            return nil
        }
        return text
    }

    private mutating func duration(_ node: LocatedNode, _ path: ConfigPath) -> TimeSpan? {
        guard let text = string(node, path) else { return nil }
        guard let value = TimeSpan.parse(text) else {
            error(at: node, path, "\"\(text)\" is not a duration", hint: "a whole number and a unit (ms, s, m, h, d), e.g. \"30s\"")
            return nil
        }
        return value
    }

    private mutating func backoff(_ node: LocatedNode, _ path: ConfigPath, defaults: Backoff) -> Backoff {
        var result = defaults
        let fields = object(node, path, keys: ["initial", "max"])
        if let value = fields["initial"].flatMap({ duration($0, path / "initial") }) { result.initial = value }
        if let value = fields["max"].flatMap({ duration($0, path / "max") }) { result.max = value }
        if result.max.milliseconds < result.initial.milliseconds, let node = fields["max"] ?? fields["initial"] {
            error(at: node, path, "max (\(result.max)) is shorter than initial (\(result.initial))")
        }
        return result
    }

    private mutating func headers(_ node: LocatedNode, _ path: ConfigPath) -> [String: String] {
        guard case .object(let members) = node.value else {
            error(at: node, path, "expected an object of header names and values, found \(node.kindDescription)")
            return [:]
        }
        var result: [String: String] = [:]
        for member in members {
            guard let value = string(member.value, path / member.key) else { continue }
            if member.key.isEmpty
                || member.key.contains(where: { $0 == ":" || $0 == " " || !$0.isASCII || $0.asciiValue.map { $0 < 0x21 || $0 == 0x7F } ?? true })
            {
                error(at: member.keyLocation, path / member.key, "\"\(member.key)\" is not an HTTP header name")
                continue
            }
            if value.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) {
                error(at: member.value, path / member.key, "a header value must not contain line breaks or control characters")
                continue
            }
            result[member.key] = value
        }
        return result
    }

    private mutating func choice<T: RawRepresentable & CaseIterable>(_ node: LocatedNode, _ path: ConfigPath) -> T? where T.RawValue == String {
        guard let text = string(node, path) else { return nil }
        if let value = T(rawValue: text) { return value }
        let names = T.allCases.map(\.rawValue)
        error(
            at: node, path, "\"\(text)\" is not one of: \(names.joined(separator: ", "))",
            hint: suggestion(for: text, among: names, listing: "choices are"))
        return nil
    }

    /// Connector names share one namespace with apps (they appear side by side in status lines).
    mutating func checkConnectorNames(_ config: ProjectConfig, _ root: LocatedNode) {
        var seen = Set(config.apps.map(\.name))
        let names = config.sources.map { ($0.name, "sources") } + config.effects.map { ($0.name, "effects") }
        for (name, section) in names {
            if !seen.insert(name).inserted {
                let node = member(section, of: root) ?? root
                error(
                    at: node, ConfigPath.root / section, "the name \"\(name)\" is used twice among apps, sources and effects",
                    hint: "give each its own name")
            }
        }
    }
}
