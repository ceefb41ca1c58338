import FirestreamFormats

/// Decoding of `kafka`: the listener for Kafka clients.
extension ConfigDecoder {
    mutating func kafka(_ node: LocatedNode, _ path: ConfigPath) -> KafkaConfig {
        var config = KafkaConfig()
        let fields = object(
            node, path,
            keys: ["enabled", "listener", "advertisedHost", "autoCreateTopics", "defaultPartitions", "bootstrap", "security", "exactlyOnce"])
        if let node = fields["enabled"], let enabled = bool(node, path / "enabled") { config.enabled = enabled }
        if let node = fields["listener"], let text = string(node, path / "listener") {
            if let listener = KafkaListener(parsing: text) {
                config.listener = listener
            } else {
                error(
                    at: node, path / "listener", "\"\(text)\" is not host:port",
                    hint: "for example 127.0.0.1:9092, or 0.0.0.0:9092 for every interface")
            }
        }
        if let node = fields["advertisedHost"], let host = nonEmptyString(node, path / "advertisedHost") {
            if host.contains(where: { $0 == "/" || $0 == " " || !$0.isASCII }) || host.hasSuffix(":") {
                error(
                    at: node, path / "advertisedHost", "\"\(host)\" is not a host name or address", hint: "the name clients use to reach this machine"
                )
            } else {
                config.advertisedHost = host
            }
        }
        if let node = fields["autoCreateTopics"], let value = bool(node, path / "autoCreateTopics") { config.autoCreateTopics = value }
        if let node = fields["defaultPartitions"], let count = int(node, path / "defaultPartitions", in: 1...10_000) {
            config.defaultPartitions = count
        }
        if let node = fields["bootstrap"], let text = nonEmptyString(node, path / "bootstrap") {
            let servers = text.split(separator: ",", omittingEmptySubsequences: false).map { KafkaListener(parsing: String($0.filter { $0 != " " })) }
            if servers.contains(where: { $0 == nil }) {
                error(
                    at: node, path / "bootstrap", "\"\(text)\" is not a list of host:port", hint: "for example broker-1:9092,broker-2:9092")
            } else {
                config.bootstrap = servers.compactMap { $0 }
            }
        }
        if let node = fields["security"] { config.security = kafkaSecurity(node, path / "security") }
        if let node = fields["exactlyOnce"], let value = bool(node, path / "exactlyOnce") { config.exactlyOnce = value }
        return config
    }

    /// `kafka.security`: the protocol, and with SASL the mechanism, user name and the
    /// environment variable holding the password (never the password itself).
    mutating func kafkaSecurity(_ node: LocatedNode, _ path: ConfigPath) -> KafkaSecurity {
        var security = KafkaSecurity()
        let fields = object(node, path, keys: ["protocol", "mechanism", "username", "passwordEnv"])
        if let node = fields["protocol"], let value = nonEmptyString(node, path / "protocol") {
            if KafkaSecurity.protocols.contains(value) {
                security.protocol = value
            } else {
                error(
                    at: node, path / "protocol", "\"\(value)\" is not a Kafka security protocol",
                    hint: KafkaSecurity.protocols.joined(separator: ", "))
            }
        }
        if let node = fields["mechanism"], let value = nonEmptyString(node, path / "mechanism") {
            if KafkaSecurity.mechanisms.contains(value) {
                security.mechanism = value
            } else {
                error(
                    at: node, path / "mechanism", "\"\(value)\" is not a SASL mechanism here", hint: KafkaSecurity.mechanisms.joined(separator: ", "))
            }
        }
        if let node = fields["username"], let value = nonEmptyString(node, path / "username") { security.username = value }
        if let node = fields["passwordEnv"], let value = nonEmptyString(node, path / "passwordEnv") {
            if value.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber || $0 == "_") }), value.first?.isNumber == false {
                security.passwordEnv = value
            } else {
                error(
                    at: node, path / "passwordEnv", "\"\(value)\" is not an environment variable name",
                    hint: "upper-case letters, digits and _, e.g. KAFKA_PASSWORD; the config never holds the password itself")
            }
        }
        if security.usesSASL {
            for key in ["mechanism", "username", "passwordEnv"] where fields[key] == nil {
                error(at: node, path / key, "\(security.protocol) needs \(key)", hint: nil)
            }
        }
        return security
    }
}
