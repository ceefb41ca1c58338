import FirestreamFormats

/// Decoding of `warehouse`: the engine, and for an external PostgreSQL how to reach it.
extension ConfigDecoder {
    mutating func warehouse(_ node: LocatedNode, _ path: ConfigPath) -> WarehouseConfig {
        var result = WarehouseConfig()
        let fields = object(node, path, keys: ["engine", "host", "port", "database", "user", "passwordEnv"])
        if let engineNode = fields["engine"], let text = string(engineNode, path / "engine") {
            if let engine = WarehouseConfig.Engine(rawValue: text) {
                result.engine = engine
            } else {
                error(at: engineNode, path / "engine", "\"\(text)\" is not a warehouse engine", hint: "sqlite (built in) or postgres")
            }
        }
        if let node = fields["host"], let text = string(node, path / "host") {
            if text.isEmpty || text.contains(where: { $0 == " " || $0 == "/" }) {
                error(at: node, path / "host", "\"\(text)\" is not a host name", hint: "e.g. \"postgres.example.com\" or \"10.0.0.5\"")
            } else {
                result.host = text
            }
        }
        if let node = fields["port"], let port = int(node, path / "port", in: 1...65535) { result.port = port }
        if let node = fields["database"], let text = string(node, path / "database"), !text.isEmpty { result.database = text }
        if let node = fields["user"], let text = string(node, path / "user"), !text.isEmpty { result.user = text }
        if let node = fields["passwordEnv"], let text = string(node, path / "passwordEnv") {
            if text.isEmpty || !text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) || text.first?.isNumber == true {
                error(at: node, path / "passwordEnv", "\"\(text)\" is not an environment variable name", hint: "e.g. \"WAREHOUSE_PASSWORD\"")
            } else {
                result.passwordEnv = text
            }
        }
        for key in ["host", "database", "user", "passwordEnv"] where result.engine != .postgres {
            if let keyNode = fields[key] {
                error(at: keyNode, path / key, "\(key) applies to the postgres engine", hint: "add \"engine\": \"postgres\"")
            }
        }
        if result.host != nil, result.passwordEnv == nil {
            error(at: node, path, "an external PostgreSQL (host) needs passwordEnv", hint: "the environment variable that holds the password")
        }
        return result
    }
}
