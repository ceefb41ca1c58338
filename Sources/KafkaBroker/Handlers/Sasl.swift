import FirestreamFormats
import KafkaProtocol
import Logging

/// SaslHandshake then SaslAuthenticate 0–2 (KIP-152): the client names a mechanism, then sends
/// the mechanism's messages inside SaslAuthenticate requests. PLAIN takes one round, SCRAM two.
/// After a SaslHandshake v0 (clients before Kafka 1.0) the messages come bare, each in a
/// size-prefixed frame without a request header, and are answered the same way. A refusal is
/// answered (error and reason) and then the connection closes, as in Kafka; a client that
/// skips authentication is disconnected at its first other request.
extension KafkaBroker {
    func saslHandshake(_ request: SaslHandshakeRequest, version: Int16, connection: inout KafkaConnection) -> SaslHandshakeResponse {
        var response = SaslHandshakeResponse()
        response.mechanisms = SaslExchange.mechanisms
        guard !connection.isAuthenticated, connection.exchange == nil else {
            response.errorCode = ErrorCode.illegalSaslState.code
            connection.closing = "a SaslHandshake after the connection's authentication began (re-authentication is not offered)"
            return response
        }
        guard let exchange = SaslExchange(mechanism: request.mechanism, credentials: options.credentials) else {
            response.errorCode = ErrorCode.unsupportedSaslMechanism.code
            connection.closing = "SASL mechanism \"\(request.mechanism)\" is not offered (\(SaslExchange.mechanisms.joined(separator: ", ")) are)"
            return response
        }
        connection.exchange = exchange
        connection.bareMessages = version == 0
        return response
    }

    func saslAuthenticate(_ request: SaslAuthenticateRequest, connection: inout KafkaConnection) -> SaslAuthenticateResponse {
        var response = SaslAuthenticateResponse()
        response.authBytes = []
        guard !connection.isAuthenticated, connection.exchange != nil, !connection.bareMessages else {
            response.errorCode = ErrorCode.illegalSaslState.code
            response.errorMessage = connection.isAuthenticated ? "already authenticated" : "send SaslHandshake v1 first"
            connection.closing = "a SaslAuthenticate \(connection.isAuthenticated ? "after authentication" : "without SaslHandshake v1")"
            return response
        }
        switch advance(&connection, with: request.authBytes) {
        case .success(let bytes): response.authBytes = bytes
        case .failure(let refusal):
            response.errorCode = refusal.code.code
            response.errorMessage = refusal.message
        }
        return response
    }

    /// A bare SASL message after SaslHandshake v0: the answer is bare too; a refusal closes.
    func bareSaslMessage(_ frame: [UInt8], connection: inout KafkaConnection) -> Reply {
        switch advance(&connection, with: frame) {
        case .success(let bytes): return .frame(withUnsafeBytes(of: UInt32(bytes.count).bigEndian, Array.init) + bytes)
        case .failure: return .close(reason: connection.closing ?? "SASL authentication failed")
        }
    }

    /// Feeds the client's message to the connection's exchange: the bytes to send back, or the
    /// refusal (the connection then closes after the answer).
    private func advance(_ connection: inout KafkaConnection, with message: [UInt8]) -> Result<[UInt8], Refusal> {
        guard var exchange = connection.exchange else { return .failure(Refusal(code: .illegalSaslState, message: "no SASL exchange")) }
        switch exchange.step(message) {
        case .challenge(let bytes):
            connection.exchange = exchange
            return .success(bytes)
        case .authenticated(let principal, let final):
            connection.exchange = nil
            connection.bareMessages = false
            connection.principal = principal
            logger.debug("Kafka client at \(connection.peer) authenticated as \"\(principal.name)\"")
            return .success(final)
        case .failed(let reason, let detail):
            connection.exchange = nil
            connection.closing = "SASL authentication failed: \(detail)"
            return .failure(Refusal(code: .saslAuthenticationFailed, message: reason))
        }
    }
}
