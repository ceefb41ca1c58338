/// Who is calling: a token's name and scopes, or anyone when no tokens are configured. The
/// gateway (bearer tokens, dashboard sessions) and the Kafka listener (SASL) grant the same
/// principals the same things.
public struct Principal: Sendable, Equatable {
    public var name: String
    public var scopes: [TokenScope]

    public init(name: String, scopes: [TokenScope]) {
        self.name = name
        self.scopes = scopes
    }

    /// Everyone, when a project declares no tokens.
    public static let anyone = Principal(name: "anyone", scopes: [TokenScope(.everything)])

    /// Whether the scopes allow `action` on `topic`.
    public func may(_ action: TokenScope.Action, topic: String) -> Bool { scopes.contains { $0.allows(action, topic: topic) } }

    /// Why the scopes do not allow `action` on `topic` (the gateway and the broker refuse in
    /// the same words); nil when they do.
    public func refusal(_ action: TokenScope.Action, topic: String) -> String? {
        may(action, topic: topic) ? nil : "token \"\(name)\" may not \(action.rawValue) topic \"\(topic)\" (its scopes: \(scopeList))"
    }

    /// Why the scopes do not let the principal see `topic` at all (no action on it); nil when
    /// they do.
    public func seeRefusal(topic: String) -> String? {
        maySee(topic: topic) ? nil : "token \"\(name)\" may not see topic \"\(topic)\" (its scopes: \(scopeList))"
    }

    /// Whether any topic action is allowed on `topic`: enough to see that it exists, its
    /// partitions and offsets (Kafka's Describe).
    public func maySee(topic: String) -> Bool { TokenScope.Action.allCases.contains { may($0, topic: topic) } }

    /// Whether some topic may be written (Kafka hands producer ids to writers only).
    public var writesSomewhere: Bool {
        scopes.contains {
            switch $0.grant {
            case .everything: true
            case .topics(_, let action): action != .read
            case .metrics: false
            }
        }
    }

    /// The `admin` scope: everything, the broker's settings included.
    public var isAdministrator: Bool { scopes.contains { $0.grant == .everything } }

    public var mayReadMetrics: Bool {
        scopes.contains {
            switch $0.grant {
            case .metrics, .everything: true
            case .topics: false
            }
        }
    }

    /// The scopes, as a refusal lists them.
    public var scopeList: String { scopes.map(\.description).joined(separator: ", ") }
}

/// A token as the config declares it: its name, the SHA-256 of the token, its SCRAM
/// credentials (for Kafka clients; tokens created before them have none), and its scopes.
public struct TokenCredential: Sendable, Equatable {
    public var name: String
    public var digest: [UInt8]
    public var scopes: [TokenScope]
    public var scram: [ScramCredential]

    public init(name: String, digest: [UInt8], scopes: [TokenScope], scram: [ScramCredential] = []) {
        self.name = name
        self.digest = digest
        self.scopes = scopes
        self.scram = scram
    }

    public var principal: Principal { Principal(name: name, scopes: scopes) }

    /// The credential whose digest matches `token`'s; every candidate is compared, in constant
    /// time, so the answer's timing does not tell which one (or how much of it) matched.
    public static func matching(_ token: some StringProtocol, in credentials: [TokenCredential]) -> TokenCredential? {
        let digest = Digests.sha256(token.utf8)
        var found: TokenCredential?
        for candidate in credentials where Digests.constantTimeEqual(candidate.digest, digest) { found = candidate }
        return found
    }
}
