public import FirestreamFormats

/// Who may reach the gateway, and from where (`gateway` in the config).
public struct GatewayConfig: Sendable, Equatable {
    /// Host names accepted in the `Host` header besides the loopback forms and IP literals
    /// (protection against DNS rebinding).
    public var hosts: [String] = []
    /// Browser origins (`https://dash.example.com`) allowed to open WebSockets and post, besides
    /// the page's own origin.
    public var origins: [String] = []
    /// Tokens, stored hashed: bearer tokens for the gateway, SASL credentials for the Kafka
    /// listener. With none, both are open to whoever reaches them (and listen on loopback only).
    public var tokens: [TokenConfig] = []

    public init(hosts: [String] = [], origins: [String] = [], tokens: [TokenConfig] = []) {
        self.hosts = hosts
        self.origins = origins
        self.tokens = tokens
    }
}

/// One token: its name (for logs and metrics, and the SASL user name of Kafka clients), the
/// SHA-256 of the token (hex), what it may do, and its SCRAM credentials.
public struct TokenConfig: Sendable, Equatable {
    public var name: String
    /// Lower-case hex of SHA-256(token): the token itself is never stored.
    public var sha256: String
    public var scopes: [TokenScope]
    /// For Kafka clients using SCRAM-SHA-256/512 (PLAIN needs only `sha256`); none for tokens
    /// created before Firestream spoke SASL.
    public var scram: [ScramCredential]

    public init(name: String, sha256: String, scopes: [TokenScope], scram: [ScramCredential] = []) {
        self.name = name
        self.sha256 = sha256
        self.scopes = scopes
        self.scram = scram
    }
}
