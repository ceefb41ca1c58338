import Foundation

/// The server's side of one SASL authentication with a project's tokens: PLAIN (the token
/// name as user name, the token as password; one message) or SCRAM-SHA-256/512 (RFC 5802:
/// the token never crosses the wire; two rounds). Without I/O: bytes in, the next step out.
public struct SaslExchange: Sendable {
    /// What to do after a client's message.
    public enum Step: Sendable, Equatable {
        /// Send these bytes; the client answers with its next message.
        case challenge([UInt8])
        /// Authenticated as the principal: send `final` (SCRAM's server signature; nothing for PLAIN).
        case authenticated(Principal, final: [UInt8])
        /// Refused: what the client is told, and the detail for the broker's log (never sent:
        /// it may say which user names exist).
        case failed(String, detail: String)
    }

    /// The mechanisms offered, as SaslHandshake lists them.
    public static let mechanisms = ["PLAIN"] + ScramMechanism.allCases.map(\.rawValue)

    /// The longest client message accepted (names, nonces and proofs are short).
    public static let maxMessageBytes = 8192

    private enum State {
        case plain
        case scramFirst(ScramMechanism)
        case scramFinal(ScramRound)
        case finished
    }

    private struct ScramRound {
        var credential: ScramCredential
        var name: String
        var scopes: [TokenScope]
        var gs2Header: Substring
        var clientFirstBare: Substring
        var serverFirst: String
        var nonce: String
    }

    private var state: State
    private let credentials: [TokenCredential]
    private let serverNonce: @Sendable () -> String

    /// Nil for a mechanism not offered. `serverNonce` is for tests (RFC 7677's example).
    public init?(mechanism: String, credentials: [TokenCredential], serverNonce: (@Sendable () -> String)? = nil) {
        if mechanism == "PLAIN" {
            state = .plain
        } else if let scram = ScramMechanism(rawValue: mechanism) {
            state = .scramFirst(scram)
        } else {
            return nil
        }
        self.credentials = credentials
        self.serverNonce = serverNonce ?? Self.randomNonce
    }

    /// The next step after the client's `message`.
    public mutating func step(_ message: [UInt8]) -> Step {
        let current = state
        state = .finished
        guard message.count <= Self.maxMessageBytes else {
            return .failed("a SASL message of \(message.count) bytes is over \(Self.maxMessageBytes)", detail: "oversized message")
        }
        switch current {
        case .plain: return plain(message)
        case .scramFirst(let mechanism): return scramFirst(message, mechanism)
        case .scramFinal(let round): return scramFinal(message, round)
        case .finished: return .failed("the authentication is already over", detail: "a message after the last step")
        }
    }

    // MARK: PLAIN

    /// `authzid NUL authcid NUL password` (RFC 4616).
    private func plain(_ message: [UInt8]) -> Step {
        let refusal = "authentication failed: the user name must be a token's name and the password that token"
        let parts = message.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let authzid = String(validating: parts[0], as: UTF8.self),
            let user = String(validating: parts[1], as: UTF8.self), let password = String(validating: parts[2], as: UTF8.self)
        else {
            return .failed("a PLAIN message is authzid, NUL, user name, NUL, password", detail: "malformed PLAIN message")
        }
        guard authzid.isEmpty || authzid == user else {
            return .failed("authentication failed: acting as another user (\(authzid)) is not supported", detail: "authzid \(authzid) for \(user)")
        }
        guard let credential = TokenCredential.matching(password, in: credentials), credential.name == user else {
            return .failed(refusal, detail: "PLAIN for user \"\(user)\": no token with that name and secret")
        }
        return .authenticated(credential.principal, final: [])
    }

    // MARK: SCRAM

    private mutating func scramFirst(_ message: [UInt8], _ mechanism: ScramMechanism) -> Step {
        guard let text = String(validating: message, as: UTF8.self) else { return malformed("client-first message is not UTF-8") }
        // gs2-header: a channel-binding flag, an optional authzid, then the bare message.
        let pieces = text.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count == 3 else { return malformed("client-first message has no gs2 header") }
        guard pieces[0] == "n" || pieces[0] == "y" else {
            return .failed("channel binding is not supported (send gs2 flag n)", detail: "gs2 flag \(pieces[0])")
        }
        let bare = pieces[2]
        let attributes = Self.attributes(bare)
        guard let name = attributes.first(where: { $0.key == "n" }).flatMap({ Self.saslName($0.value) }),
            let clientNonce = attributes.first(where: { $0.key == "r" })?.value, !clientNonce.isEmpty,
            attributes.first?.key == "n"
        else {
            return malformed("client-first message needs n=<user>,r=<nonce>")
        }
        if attributes.contains(where: { $0.key == "tokenauth" }) {
            return .failed("delegation tokens are not supported", detail: "tokenauth extension from \(name)")
        }
        guard pieces[1].isEmpty || pieces[1].hasPrefix("a=") && Self.saslName(pieces[1].dropFirst(2)) == name else {
            return .failed("authentication failed: acting as another user is not supported", detail: "authzid \(pieces[1]) for \(name)")
        }
        guard let token = credentials.first(where: { $0.name == name }) else {
            return .failed(Self.refusal(mechanism), detail: "\(mechanism.rawValue) for unknown user \"\(name)\"")
        }
        guard let credential = token.scram.first(where: { $0.mechanism == mechanism }) else {
            return .failed(
                Self.refusal(mechanism) + "; tokens created before SCRAM support need re-creating (firestream token create)",
                detail: "token \"\(name)\" has no \(mechanism.rawValue) credential in the config")
        }
        let nonce = String(clientNonce) + serverNonce()
        let serverFirst = "r=\(nonce),s=\(ScramCredential.base64(credential.salt)),i=\(credential.iterations)"
        state = .scramFinal(
            ScramRound(
                credential: credential, name: name, scopes: token.scopes, gs2Header: text[..<bare.startIndex], clientFirstBare: bare,
                serverFirst: serverFirst, nonce: nonce))
        return .challenge(Array(serverFirst.utf8))
    }

    private func scramFinal(_ message: [UInt8], _ round: ScramRound) -> Step {
        guard let text = String(validating: message, as: UTF8.self), let proofStart = text.range(of: ",p=", options: .backwards) else {
            return malformed("client-final message needs c=…,r=…,p=<proof>")
        }
        let withoutProof = text[..<proofStart.lowerBound]
        let attributes = Self.attributes(withoutProof)
        let mechanism = round.credential.mechanism
        guard attributes.first?.key == "c", attributes.first?.value == ScramCredential.base64(Array(round.gs2Header.utf8))[...] else {
            return malformed("client-final message's channel binding (c=) does not repeat its gs2 header")
        }
        // The nonce must end with the agreed one, as Kafka checks: librdkafka 2.0.2 sends its own
        // nonce again in front of it. The proof covers the server's nonce either way.
        guard let nonce = attributes.first(where: { $0.key == "r" })?.value, nonce.hasSuffix(round.nonce) else {
            return malformed("client-final message's nonce does not end with the one this exchange agreed")
        }
        guard let proof = ScramCredential.bytes(base64: text[proofStart.upperBound...]), proof.count == round.credential.storedKey.count else {
            return malformed("client-final message's proof is not base64 of the hash's length")
        }
        let authMessage = Array("\(round.clientFirstBare),\(round.serverFirst),\(withoutProof)".utf8)
        let clientSignature = mechanism.hmac(round.credential.storedKey, authMessage)
        let clientKey = zip(proof, clientSignature).map { $0 ^ $1 }
        guard Digests.constantTimeEqual(mechanism.hash(clientKey), round.credential.storedKey) else {
            return .failed(Self.refusal(mechanism), detail: "\(mechanism.rawValue) proof of \"\(round.name)\" does not match")
        }
        let serverSignature = mechanism.hmac(round.credential.serverKey, authMessage)
        return .authenticated(
            Principal(name: round.name, scopes: round.scopes), final: Array("v=\(ScramCredential.base64(serverSignature))".utf8))
    }

    private func malformed(_ what: String) -> Step { .failed(what, detail: what) }

    private static func refusal(_ mechanism: ScramMechanism) -> String {
        "authentication failed: the user name must be a token's name and the password that token (\(mechanism.rawValue))"
    }

    /// `k=v` attributes, in order.
    private static func attributes(_ text: Substring) -> [(key: Substring, value: Substring)] {
        text.split(separator: ",", omittingEmptySubsequences: false).map { part in
            guard let equals = part.firstIndex(of: "=") else { return (part, "") }
            return (part[..<equals], part[part.index(after: equals)...])
        }
    }

    /// A saslname: `=2C` stands for `,` and `=3D` for `=`; any other `=` is malformed.
    private static func saslName(_ text: Substring) -> String? {
        var name = ""
        var rest = text[...]
        while let equals = rest.firstIndex(of: "=") {
            name += rest[..<equals]
            let escape = rest[equals...].prefix(3)
            switch escape {
            case "=2C": name += ","
            case "=3D": name += "="
            default: return nil
            }
            rest = rest[rest.index(equals, offsetBy: 3)...]
        }
        name += rest
        return name.isEmpty ? nil : name
    }

    @Sendable private static func randomNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return ScramCredential.base64((0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
