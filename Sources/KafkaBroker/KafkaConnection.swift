public import FirestreamFormats

/// One client connection as the broker sees it: where it comes from and who it is. On a broker
/// with credentials, a connection is nobody until SASL authentication completes, and may only
/// ask ApiVersions, SaslHandshake and SaslAuthenticate until then (as in Kafka).
public struct KafkaConnection: Sendable {
    /// The client's address, as Kafka shows it in DescribeGroups ("/127.0.0.1").
    public let peer: String
    /// Who the client is: ``Principal/anyone`` on a broker without credentials, nil before
    /// authentication on one with them.
    public internal(set) var principal: Principal?
    /// The SASL exchange under way, after a SaslHandshake.
    var exchange: SaslExchange?
    /// After SaslHandshake v0: the next frames are the mechanism's messages, bare.
    var bareMessages = false
    /// Set when the connection must close once the current answer is sent (a failed
    /// authentication, a handshake out of turn).
    var closing: String?

    init(peer: String, authenticated: Bool) {
        self.peer = peer
        self.principal = authenticated ? .anyone : nil
    }

    /// Whether the client has authenticated (or needs not).
    public var isAuthenticated: Bool { principal != nil }
}

extension KafkaBroker {
    /// A new connection from `peer`: authenticated already when the broker has no credentials.
    public func connection(peer: String) -> KafkaConnection {
        KafkaConnection(peer: peer, authenticated: !authenticationRequired)
    }

    /// Whether clients must authenticate with SASL (the project declares tokens).
    public var authenticationRequired: Bool { !options.credentials.isEmpty }

    /// Whether this broker lists and answers `api` (the SASL APIs only with credentials).
    func offers(_ api: SupportedAPIs.API) -> Bool { !api.needsSASL || authenticationRequired }
}
