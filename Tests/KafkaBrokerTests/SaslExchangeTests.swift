import Foundation
import Testing

@testable import FirestreamFormats

/// The client's side of SCRAM, as Kafka clients compute it (RFC 5802), to drive the server.
struct ScramClient {
    var mechanism: ScramMechanism
    var user: String
    var password: String
    var nonce = "fyko+d2lbbFgONRv9qkxdawL"

    var first: [UInt8] { Array("n,,\(bare)".utf8) }
    var bare: String { "n=\(user.replacingOccurrences(of: "=", with: "=3D").replacingOccurrences(of: ",", with: "=2C")),r=\(nonce)" }

    /// The client-final message for `serverFirst`, and the server signature it expects back.
    func final(_ serverFirst: [UInt8], nonceFront: String = "") throws -> (message: [UInt8], expected: String) {
        let text = String(decoding: serverFirst, as: UTF8.self)
        var fields: [String: String] = [:]
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            fields[String(pair[0])] = String(pair[1])
        }
        guard let salt = fields["s"].flatMap({ Data(base64Encoded: $0) }), let iterations = fields["i"].flatMap({ Int($0) }),
            let combined = fields["r"]
        else { throw SaslTestFailure(description: "server-first without r, s or i: \(text)") }
        let salted = mechanism.salted(Array(password.utf8), salt: Array(salt), iterations: iterations)
        let clientKey = mechanism.hmac(salted, Array("Client Key".utf8))
        let withoutProof = "c=biws,r=\(nonceFront)\(combined)"
        let authMessage = Array("\(bare),\(text),\(withoutProof)".utf8)
        let signature = mechanism.hmac(mechanism.hash(clientKey), authMessage)
        let proof = zip(clientKey, signature).map { $0 ^ $1 }
        let serverSignature = mechanism.hmac(mechanism.hmac(salted, Array("Server Key".utf8)), authMessage)
        return (Array("\(withoutProof),p=\(Data(proof).base64EncodedString())".utf8), "v=" + Data(serverSignature).base64EncodedString())
    }
}

struct SaslTestFailure: Error, CustomStringConvertible {
    var description: String
}

func token(_ name: String, _ secret: String, scopes: [String] = ["topic:*:read"], scram: Bool = true) -> TokenCredential {
    TokenCredential(
        name: name, digest: Digests.sha256(secret.utf8), scopes: scopes.map { try! TokenScope.parse($0).get() },
        scram: scram ? ScramMechanism.allCases.map { ScramCredential.derive($0, password: secret) } : [])
}

@Suite struct SaslExchangeTests {
    @Test func scramSha256FollowsTheExampleOfRFC7677() throws {
        let credential = ScramCredential.derive(.sha256, password: "pencil", salt: Array(Data(base64Encoded: "W22ZaJ0SNY7soEsUEjb6gQ==")!))
        let user = TokenCredential(name: "user", digest: [], scopes: [], scram: [credential])
        let nonce: @Sendable () -> String = { "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0" }
        var exchange = try #require(SaslExchange(mechanism: "SCRAM-SHA-256", credentials: [user], serverNonce: nonce))
        let first = exchange.step(Array("n,,n=user,r=rOprNGfwEbeRWgbNEkqO".utf8))
        #expect(first == .challenge(Array("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".utf8)))
        let final = exchange.step(
            Array("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=".utf8))
        #expect(final == .authenticated(Principal(name: "user", scopes: []), final: Array("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8)))
        // One exchange, one authentication.
        guard case .failed = exchange.step([]) else {
            Issue.record("a message after the end was accepted")
            return
        }
    }

    @Test func bothScramMechanismsAuthenticateATokenAndRefuseAWrongProof() throws {
        let tokens = [token("ingest", "fst_secret", scopes: ["topic:events:write"]), token("other", "fst_else")]
        for mechanism in ScramMechanism.allCases {
            let client = ScramClient(mechanism: mechanism, user: "ingest", password: "fst_secret")
            var exchange = try #require(SaslExchange(mechanism: mechanism.rawValue, credentials: tokens))
            guard case .challenge(let serverFirst) = exchange.step(client.first) else {
                Issue.record("no challenge")
                return
            }
            #expect(String(decoding: serverFirst, as: UTF8.self).hasPrefix("r=\(client.nonce)"), "the server's nonce extends the client's")
            let (message, expected) = try client.final(serverFirst)
            #expect(exchange.step(message) == .authenticated(tokens[0].principal, final: Array(expected.utf8)))

            // librdkafka 2.0.2 repeats its nonce in front of the agreed one; Kafka accepts that.
            var repeated = try #require(SaslExchange(mechanism: mechanism.rawValue, credentials: tokens))
            guard case .challenge(let again) = repeated.step(client.first) else {
                Issue.record("no challenge")
                return
            }
            let (doubled, signature) = try client.final(again, nonceFront: client.nonce)
            #expect(repeated.step(doubled) == .authenticated(tokens[0].principal, final: Array(signature.utf8)))

            // Another token's secret gives a proof that does not match.
            let impostor = ScramClient(mechanism: mechanism, user: "ingest", password: "fst_else")
            var refused = try #require(SaslExchange(mechanism: mechanism.rawValue, credentials: tokens))
            guard case .challenge(let challenge) = refused.step(impostor.first) else {
                Issue.record("no challenge")
                return
            }
            guard case .failed(let reason, let detail) = refused.step(try impostor.final(challenge).message) else {
                Issue.record("a wrong password authenticated")
                return
            }
            #expect(reason.contains("authentication failed") && detail.contains("does not match"))
        }
    }

    @Test func plainTakesTheTokenNameAndTheToken() throws {
        let tokens = [token("ingest", "fst_secret"), token("other", "fst_else")]
        func plain(_ text: String) throws -> SaslExchange.Step {
            var exchange = try #require(SaslExchange(mechanism: "PLAIN", credentials: tokens))
            return exchange.step(Array(text.utf8))
        }
        #expect(try plain("\0ingest\0fst_secret") == .authenticated(tokens[0].principal, final: []))
        #expect(try plain("ingest\0ingest\0fst_secret") == .authenticated(tokens[0].principal, final: []))
        for refused in ["\0ingest\0fst_else", "\0ingest\0wrong", "\0nobody\0fst_secret", "other\0ingest\0fst_secret", "ingest fst_secret"] {
            guard case .failed = try plain(refused) else {
                Issue.record("\(refused.debugDescription) authenticated")
                continue
            }
        }
    }

    @Test func malformedOrUnsupportedScramMessagesAreRefusedWithAReason() throws {
        let tokens = [token("ingest", "fst_secret"), token("old", "fst_old", scram: false)]
        func first(_ text: String) throws -> SaslExchange.Step {
            var exchange = try #require(SaslExchange(mechanism: "SCRAM-SHA-512", credentials: tokens))
            return exchange.step(Array(text.utf8))
        }
        let cases: [(String, String)] = [
            ("n=ingest,r=abc", "gs2 header"),
            ("p=tls-unique,,n=ingest,r=abc", "channel binding"),
            ("n,,r=abc,n=ingest", "n=<user>,r=<nonce>"),
            ("n,,n=ingest", "n=<user>,r=<nonce>"),
            ("n,,n=in=3Xgest,r=abc", "n=<user>,r=<nonce>"),
            ("n,a=other,n=ingest,r=abc", "another user"),
            ("n,,n=ingest,r=abc,tokenauth=true", "delegation tokens"),
            ("n,,n=nobody,r=abc", "authentication failed"),
            ("n,,n=old,r=abc", "re-creating"),
            ("n,,n=ingest,r=" + String(repeating: "x", count: 9000), "over"),
        ]
        for (message, expected) in cases {
            guard case .failed(let reason, _) = try first(message) else {
                Issue.record("\(message.prefix(40)) was accepted")
                continue
            }
            #expect(reason.contains(expected), "\(message.prefix(40)): \(reason)")
        }
        #expect(SaslExchange(mechanism: "GSSAPI", credentials: tokens) == nil)

        // The final message must repeat the gs2 header and the agreed nonce.
        let client = ScramClient(mechanism: .sha512, user: "ingest", password: "fst_secret")
        for tamper in [("c=biws", "c=eSws"), (",r=\(client.nonce)", ",r=other"), (",p=", "x,p=")] {
            var exchange = try #require(SaslExchange(mechanism: "SCRAM-SHA-512", credentials: tokens))
            guard case .challenge(let challenge) = exchange.step(client.first) else {
                Issue.record("no challenge")
                return
            }
            let message = String(decoding: try client.final(challenge).message, as: UTF8.self).replacingOccurrences(of: tamper.0, with: tamper.1)
            guard case .failed = exchange.step(Array(message.utf8)) else {
                Issue.record("\(tamper.1) was accepted")
                continue
            }
        }
    }

    @Test func credentialsAreWrittenAsKafkaStoredThemAndReadBack() throws {
        let credential = ScramCredential.derive(.sha512, password: "fst_secret")
        let text = credential.description
        #expect(text.hasPrefix("salt=") && text.hasSuffix(",iterations=4096"))
        #expect(try ScramCredential.parse(text, mechanism: .sha512).get() == credential)
        // A SHA-512 credential is not a SHA-256 one (key lengths differ).
        #expect(throws: AccessProblem.self) { try ScramCredential.parse(text, mechanism: .sha256).get() }
        for broken in [
            text.replacingOccurrences(of: "iterations=4096", with: "iterations=100"), text.replacingOccurrences(of: "salt=", with: "pepper="),
            text + ",extra=1", "salt", "",
        ] {
            #expect(throws: AccessProblem.self, "\(broken)") { try ScramCredential.parse(broken, mechanism: .sha512).get() }
        }
    }
}
