import FirestreamFormats

/// Decoding of `gateway`: allowed hosts and origins, and bearer tokens with their scopes.
extension ConfigDecoder {
    mutating func gateway(_ node: LocatedNode, _ path: ConfigPath) -> GatewayConfig {
        var config = GatewayConfig()
        let fields = object(node, path, keys: ["hosts", "origins", "tokens"])
        if let node = fields["hosts"], let items = array(node, path / "hosts") {
            for (index, item) in items.enumerated() {
                guard let host = string(item, path / "hosts" / index) else { continue }
                if host.isEmpty || host.contains(where: { $0 == "/" || $0 == ":" || $0 == " " || !$0.isASCII }) {
                    error(
                        at: item, path / "hosts" / index, "\"\(host)\" is not a host name",
                        hint: "a name such as firestream.example.com, without scheme or port")
                } else {
                    config.hosts.append(host.lowercased())
                }
            }
        }
        if let node = fields["origins"], let items = array(node, path / "origins") {
            for (index, item) in items.enumerated() {
                guard let origin = string(item, path / "origins" / index) else { continue }
                let parts = origin.split(separator: "/", omittingEmptySubsequences: false)
                if (origin.hasPrefix("http://") || origin.hasPrefix("https://")) && parts.count == 3 && !parts[2].isEmpty {
                    config.origins.append(origin.lowercased())
                } else {
                    error(
                        at: item, path / "origins" / index, "\"\(origin)\" is not an origin",
                        hint: "scheme, host and optional port, e.g. https://dash.example.com")
                }
            }
        }
        if let node = fields["tokens"], let items = array(node, path / "tokens") {
            var names: [String: Int] = [:]
            for (index, item) in items.enumerated() {
                let itemPath = path / "tokens" / index
                let fields = object(item, itemPath, keys: ["name", "sha256", "scopes", "scram"])
                guard case .object = item.value else { continue }
                let nameNode = required("name", in: fields, of: item, itemPath)
                let hashNode = required("sha256", in: fields, of: item, itemPath)
                let scopesNode = required("scopes", in: fields, of: item, itemPath)
                guard let nameNode, let name = nonEmptyString(nameNode, itemPath / "name") else { continue }
                if let first = names[name] {
                    error(at: nameNode, itemPath / "name", "token \"\(name)\" is declared twice (first at \(path / "tokens" / first))")
                    continue
                }
                names[name] = index
                guard let hashNode, let hash = string(hashNode, itemPath / "sha256") else { continue }
                guard hash.count == 64, hash.allSatisfy({ $0.isHexDigit }) else {
                    error(
                        at: hashNode, itemPath / "sha256", "expected the 64 hex digits of the token's SHA-256",
                        hint: "firestream token create prints the entry to paste; never put the token itself here")
                    continue
                }
                guard let scopesNode, let scopeItems = array(scopesNode, itemPath / "scopes") else { continue }
                var scopes: [TokenScope] = []
                for (scopeIndex, scopeItem) in scopeItems.enumerated() {
                    guard let text = string(scopeItem, itemPath / "scopes" / scopeIndex) else { continue }
                    switch TokenScope.parse(text) {
                    case .success(let scope): scopes.append(scope)
                    case .failure(let problem): error(at: scopeItem, itemPath / "scopes" / scopeIndex, problem.message, hint: problem.hint)
                    }
                }
                if scopeItems.isEmpty { error(at: scopesNode, itemPath / "scopes", "a token needs at least one scope") }
                let scram = fields["scram"].map { scramCredentials($0, itemPath / "scram") } ?? []
                config.tokens.append(TokenConfig(name: name, sha256: hash.lowercased(), scopes: scopes, scram: scram))
            }
        }
        return config
    }

    /// `scram: {SCRAM-SHA-256: "salt=…,stored_key=…,server_key=…,iterations=4096", SCRAM-SHA-512: …}`.
    private mutating func scramCredentials(_ node: LocatedNode, _ path: ConfigPath) -> [ScramCredential] {
        let names = ScramMechanism.allCases.map(\.rawValue)
        let fields = object(node, path, keys: names)
        return ScramMechanism.allCases.compactMap { mechanism in
            guard let item = fields[mechanism.rawValue], let text = string(item, path / mechanism.rawValue) else { return nil }
            switch ScramCredential.parse(text, mechanism: mechanism) {
            case .success(let credential): return credential
            case .failure(let problem):
                error(at: item, path / mechanism.rawValue, problem.message, hint: problem.hint)
                return nil
            }
        }
    }
}
