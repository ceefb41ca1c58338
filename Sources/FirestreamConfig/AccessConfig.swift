public import FirestreamFormats

/// Who may reach the gateway, and from where (`gateway` in the config).
public struct GatewayConfig: Sendable, Equatable {
    /// Host names accepted in the `Host` header besides the loopback forms and IP literals
    /// (protection against DNS rebinding).
    public var hosts: [String] = []
    /// Browser origins (`https://dash.example.com`) allowed to open WebSockets and post, besides
    /// the page's own origin.
    public var origins: [String] = []
    /// Bearer tokens, stored hashed. With none, the gateway is open to whoever reaches it (and
    /// must then listen on loopback only).
    public var tokens: [TokenConfig] = []

    public init(hosts: [String] = [], origins: [String] = [], tokens: [TokenConfig] = []) {
        self.hosts = hosts
        self.origins = origins
        self.tokens = tokens
    }
}

/// One bearer token: its name (for logs and metrics), the SHA-256 of the token (hex), and what
/// it may do.
public struct TokenConfig: Sendable, Equatable {
    public var name: String
    /// Lower-case hex of SHA-256(token): the token itself is never stored.
    public var sha256: String
    public var scopes: [TokenScope]

    public init(name: String, sha256: String, scopes: [TokenScope]) {
        self.name = name
        self.sha256 = sha256
        self.scopes = scopes
    }
}
