import FirestreamFormats

/// Decoding of `kafka`: the listener for Kafka clients.
extension ConfigDecoder {
    mutating func kafka(_ node: LocatedNode, _ path: ConfigPath) -> KafkaConfig {
        var config = KafkaConfig()
        let fields = object(node, path, keys: ["enabled", "listener", "advertisedHost", "autoCreateTopics", "defaultPartitions"])
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
        return config
    }
}
