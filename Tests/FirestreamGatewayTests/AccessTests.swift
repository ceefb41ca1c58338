import FirestreamFormats
import FirestreamLog
import Foundation
import Testing

@testable import FirestreamGateway

#if canImport(Glibc)
    import Glibc
#endif

/// One HTTP/1.1 exchange on a plain socket, so a test can send any `Host` and `Origin`. Reads
/// wait at most 50 ms at a time and yield in between: a test must never hold one of the two
/// cooperative threads in a blocking `recv`, or the server it talks to may starve.
func rawExchange(port: Int, _ head: String, body: String = "") async throws -> (status: Int, headers: String, body: String) {
    let connection = try RawConnection(port: port)
    connection.write(head.replacingOccurrences(of: "\n", with: "\r\n") + "Connection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
    var text = ""
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
        guard let piece = connection.readAvailable() else { break }
        text += piece
        // A WebSocket upgrade keeps the connection open: its head is all there is to read.
        if text.hasPrefix("HTTP/1.1 101"), text.contains("\r\n\r\n") { break }
        if piece.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
    }
    let parts = text.components(separatedBy: "\r\n\r\n")
    let status = Int(parts[0].split(separator: " ").dropFirst().first ?? "") ?? 0
    return (status, parts[0], parts.dropFirst().joined(separator: "\r\n\r\n"))
}

let upgradeHeaders = "Upgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n"

/// A refused WebSocket upgrade is answered 400 by the WebSocket library, without a body; the
/// same request without the upgrade headers gets the gateway's status and reason.
func refusedUpgrade(port: Int, _ head: String) async throws -> (status: Int, body: String) {
    let upgrade = try await rawExchange(port: port, head + upgradeHeaders)
    guard upgrade.status == 400 else { return (upgrade.status, upgrade.body) }
    let plain = try await rawExchange(port: port, head)
    return (plain.status, plain.body)
}

@Suite(.serialized) struct AccessTests {
    @Test func clientsCannotWriteTheRuntimesTopics() async throws {
        let access = AccessPolicy(protectedTopics: [
            "wiener": "the output of app \"wiener\"", "wiener.dlq": "the dead-letter topic of app \"wiener\"",
        ])
        let gateway = try await LiveGateway(access: access)
        defer { Task { await gateway.stop() } }
        let journal = try gateway.log.createTopic("__wiener.journal")
        _ = try gateway.log.createTopic("wiener")
        _ = try gateway.log.createTopic("metronome")
        // What bricked the next `up` before: one `POST {}` into an app's journal.
        let intoJournal = try await gateway.send("POST", "/topics/__wiener.journal", body: "{}")
        #expect(intoJournal.status == 403)
        #expect(try gateway.json(intoJournal.body)["error"] as? String == "topic \"__wiener.journal\" is internal: only Firestream writes it")
        let intoOutput = try await gateway.send("POST", "/topics/wiener", body: "{}")
        #expect(intoOutput.status == 403)
        #expect(
            try gateway.json(intoOutput.body)["error"] as? String == "topic \"wiener\" is the output of app \"wiener\": only Firestream writes it")
        let refused = try await refusedUpgrade(port: gateway.port, "GET /ws/ingest/wiener.dlq HTTP/1.1\nHost: localhost\n")
        #expect(refused.status == 403)
        #expect(refused.body.contains("the dead-letter topic of app"))
        #expect(journal.recordCount == 0)
        #expect(try gateway.log.topic("wiener").recordCount == 0)
        // Inputs take writes; outputs can still be read.
        #expect(try await gateway.send("POST", "/topics/metronome", body: "{}").status == 200)
        #expect(try await gateway.send("GET", "/topics/wiener/records").status == 200)
        // Two POSTs, and the refused upgrade counted once as an upgrade and once as a plain GET.
        #expect(try await gateway.metricsText().contains("firestream_protected_writes_total 4"))
    }

    @Test func hostsAndOriginsAreAllowListed() async throws {
        let access = AccessPolicy(hosts: ["firestream.example.com"], origins: ["https://dash.example.com"])
        let gateway = try await LiveGateway(access: access)
        defer { Task { await gateway.stop() } }
        _ = try gateway.log.createTopic("t")
        let port = gateway.port
        func status(_ head: String) async throws -> Int { try await rawExchange(port: port, head).status }
        // DNS rebinding: a name that resolves to 127.0.0.1 but is not ours.
        #expect(try await status("GET /topics HTTP/1.1\nHost: evil.example:\(port)\n") == 403)
        let refused = try await rawExchange(port: port, "GET /topics HTTP/1.1\nHost: evil.example\n")
        #expect(refused.body.contains("Host \\\"evil.example\\\" is not allowed (add \\\"evil.example\\\" to gateway.hosts in the config)"))
        for host in ["localhost:\(port)", "127.0.0.1:\(port)", "[::1]:\(port)", "firestream.example.com", "10.1.2.3:\(port)", "app.localhost"] {
            #expect(try await status("GET /topics HTTP/1.1\nHost: \(host)\n") == 200, "\(host)")
        }
        // Another web page may not open a WebSocket or post, whatever the Host.
        let subscribe = "GET /ws/topics/t HTTP/1.1\nHost: localhost:\(port)\n" + upgradeHeaders
        let subscription = "GET /ws/topics/t HTTP/1.1\nHost: localhost:\(port)\n"
        #expect(try await refusedUpgrade(port: port, subscription + "Origin: http://evil.example\n").status == 403)
        #expect(try await refusedUpgrade(port: port, subscription + "Origin: null\n").status == 403)
        #expect(try await status(subscribe + "Origin: http://localhost:\(port)\n") == 101)
        #expect(try await status(subscribe + "Origin: https://dash.example.com\n") == 101)
        #expect(try await status(subscribe) == 101, "non-browser clients send no Origin")
        #expect(
            try await status("POST /topics/t HTTP/1.1\nHost: localhost:\(port)\nOrigin: http://evil.example\nContent-Type: application/json\n") == 403
        )
        #expect(try gateway.log.topic("t").recordCount == 0)
        // Probes are not turned away.
        #expect(try await status("GET /healthz HTTP/1.1\nHost: 10.0.0.7:8000\n") == 200)
        #expect(try await status("GET /healthz HTTP/1.1\nHost: pod-name\n") == 200)
    }

    @Test func tokensAndScopesGuardEveryRoute() async throws {
        let reader = AccessToken.generate()
        let writer = AccessToken.generate()
        let watcher = AccessToken.generate()
        func token(_ name: String, _ secret: String, _ scopes: [String]) throws -> AccessPolicy.Token {
            AccessPolicy.Token(
                name: name, digest: Hex.bytes(AccessToken.digestHex(secret))!, scopes: try scopes.map { try TokenScope.parse($0).get() })
        }
        let access = AccessPolicy(tokens: [
            try token("reader", reader, ["topic:metro*:read"]), try token("writer", writer, ["topic:metronome:write"]),
            try token("watcher", watcher, ["metrics:read"]),
        ])
        let gateway = try await LiveGateway(access: access)
        defer { Task { await gateway.stop() } }
        _ = try gateway.log.createTopic("metronome")
        _ = try gateway.log.createTopic("secret")
        func bearer(_ token: String) -> [String: String] { ["Authorization": "Bearer \(token)"] }

        #expect(try await gateway.send("GET", "/healthz").status == 200)
        #expect(try await gateway.send("GET", "/readyz").status == 200)
        let anonymous = try await gateway.send("POST", "/topics/metronome", body: "{}")
        #expect(anonymous.status == 401)
        #expect(
            try gateway.json(anonymous.body)["error"] as? String
                == "authentication required: send Authorization: Bearer <token> (see firestream token create), or sign in on the dashboard")
        #expect(try await gateway.send("GET", "/topics").status == 401)
        #expect(try await gateway.send("GET", "/metrics").status == 401)
        #expect(try await gateway.send("GET", "/topics", headers: bearer("fst_guess")).status == 401)

        #expect(try await gateway.send("POST", "/topics/metronome", body: "{\"n\":1}", headers: bearer(writer)).status == 200)
        let readerWrites = try await gateway.send("POST", "/topics/metronome", body: "{}", headers: bearer(reader))
        #expect(readerWrites.status == 403)
        #expect(
            try gateway.json(readerWrites.body)["error"] as? String
                == "token \"reader\" may not write topic \"metronome\" (its scopes: topic:metro*:read)")
        #expect(try await gateway.send("GET", "/topics/metronome/records", headers: bearer(reader)).status == 200)
        #expect(try await gateway.send("GET", "/topics/metronome/records", headers: bearer(writer)).status == 403)
        #expect(try await gateway.send("GET", "/topics/secret/records", headers: bearer(reader)).status == 403)
        // The listing shows what the token may read.
        let listed = try await gateway.send("GET", "/topics", headers: bearer(reader))
        #expect(listed.body.contains("\"metronome\"") && !listed.body.contains("\"secret\""))
        #expect(try await gateway.send("GET", "/metrics", headers: bearer(reader)).status == 403)
        #expect(try await gateway.send("GET", "/metrics", headers: bearer(watcher)).status == 200)
        // WebSockets: the same rules before the upgrade.
        let port = gateway.port
        #expect(try await refusedUpgrade(port: port, "GET /ws/topics/metronome HTTP/1.1\nHost: localhost\n").status == 401)
        #expect(
            try await rawExchange(
                port: port, "GET /ws/topics/metronome HTTP/1.1\nHost: localhost\nAuthorization: Bearer \(reader)\n" + upgradeHeaders
            ).status == 101)
        #expect(
            try await refusedUpgrade(port: port, "GET /ws/ingest/metronome HTTP/1.1\nHost: localhost\nAuthorization: Bearer \(reader)\n").status
                == 403)
        #expect(
            try await rawExchange(
                port: port, "GET /ws/ingest/metronome HTTP/1.1\nHost: localhost\nAuthorization: Bearer \(writer)\n" + upgradeHeaders
            ).status == 101)
        #expect(try gateway.log.topic("metronome").recordCount == 1)
    }

    /// Auto-creating a topic by writing to it takes the admin scope, not only write.
    @Test func creatingATopicTakesTheAdminScope() async throws {
        let (writer, admin) = (AccessToken.generate(), AccessToken.generate())
        let access = AccessPolicy(tokens: [
            AccessPolicy.Token(
                name: "writer", digest: Hex.bytes(AccessToken.digestHex(writer))!, scopes: [TokenScope(.topics(pattern: "new-*", .write))]),
            AccessPolicy.Token(
                name: "admin", digest: Hex.bytes(AccessToken.digestHex(admin))!, scopes: [TokenScope(.topics(pattern: "new-*", .admin))]),
        ])
        let gateway = try await LiveGateway(options: Gateway.Options(port: 0, autoCreateTopics: true), access: access)
        defer { Task { await gateway.stop() } }
        let refused = try await gateway.send("POST", "/topics/new-a", body: "{}", headers: ["Authorization": "Bearer \(writer)"])
        #expect(refused.status == 403)
        #expect(gateway.log.topicIfExists("new-a") == nil)
        #expect(try await gateway.send("POST", "/topics/new-a", body: "{}", headers: ["Authorization": "Bearer \(admin)"]).status == 200)
        // Once it exists, write is enough.
        #expect(try await gateway.send("POST", "/topics/new-a", body: "{}", headers: ["Authorization": "Bearer \(writer)"]).status == 200)
    }

    /// The dashboard signs in once with a token and gets an HttpOnly cookie; the token is never
    /// in a URL, and the cookie stops working after sign-out.
    @Test func dashboardSessionsUseAnHttpOnlyCookie() async throws {
        let secret = AccessToken.generate()
        let access = AccessPolicy(tokens: [
            AccessPolicy.Token(name: "me", digest: Hex.bytes(AccessToken.digestHex(secret))!, scopes: [TokenScope(.everything)])
        ])
        let gateway = try await LiveGateway(access: access)
        defer { Task { await gateway.stop() } }
        _ = try gateway.log.createTopic("t")
        let port = gateway.port
        #expect(
            try await rawExchange(port: port, "GET /session HTTP/1.1\nHost: localhost\n").body.contains(
                #"{"authenticated":false,"name":null,"required":true}"#))
        #expect(try await rawExchange(port: port, "GET / HTTP/1.1\nHost: localhost\n").status != 401, "the page itself holds no data")
        let wrong = try await rawExchange(
            port: port, "POST /login HTTP/1.1\nHost: localhost\nContent-Type: application/json\n", body: #"{"token":"fst_nope"}"#)
        #expect(wrong.status == 401)
        let login = try await rawExchange(
            port: port, "POST /login HTTP/1.1\nHost: localhost\nContent-Type: application/json\n", body: "{\"token\":\"\(secret)\"}")
        #expect(login.status == 200)
        let cookieLine = login.headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie:") } ?? ""
        #expect(cookieLine.contains("HttpOnly") && cookieLine.contains("SameSite=Strict") && cookieLine.contains("Path=/"))
        #expect(!cookieLine.contains(secret))
        let cookie = String(cookieLine.dropFirst("set-cookie: ".count).split(separator: ";")[0])
        #expect(try await rawExchange(port: port, "GET /topics HTTP/1.1\nHost: localhost\nCookie: \(cookie)\n").status == 200)
        #expect(try await rawExchange(port: port, "GET /ws/topics/t HTTP/1.1\nHost: localhost\nCookie: \(cookie)\n" + upgradeHeaders).status == 101)
        #expect(
            try await rawExchange(port: port, "GET /session HTTP/1.1\nHost: localhost\nCookie: \(cookie)\n").body.contains(
                #"{"authenticated":true,"name":"me","required":true}"#))
        // A login from another page is refused before the token is even looked at.
        #expect(
            try await rawExchange(
                port: port, "POST /login HTTP/1.1\nHost: localhost\nOrigin: http://evil.example\nContent-Type: application/json\n",
                body: "{\"token\":\"\(secret)\"}"
            ).status == 403)
        #expect(try await rawExchange(port: port, "POST /logout HTTP/1.1\nHost: localhost\nCookie: \(cookie)\n").status == 200)
        #expect(try await rawExchange(port: port, "GET /topics HTTP/1.1\nHost: localhost\nCookie: \(cookie)\n").status == 401)
    }

    @Test func scopesAndPatterns() throws {
        func allows(_ scope: String, _ action: TokenScope.Action, _ topic: String) throws -> Bool {
            try TokenScope.parse(scope).get().allows(action, topic: topic)
        }
        #expect(try allows("topic:*:read", .read, "anything"))
        #expect(try !allows("topic:*:read", .write, "anything"))
        #expect(try allows("topic:sensor-*:admin", .write, "sensor-7"))
        #expect(try !allows("topic:sensor-*:admin", .write, "sensors"))
        #expect(try allows("topic:*-raw-*:read", .read, "eu-raw-clicks"))
        #expect(try !allows("topic:a*b:read", .read, "ac"))
        #expect(try allows("admin", .write, "x"))
        #expect(try !allows("metrics:read", .read, "x"))
        #expect(throws: AccessProblem.self) { try TokenScope.parse("topic:a:delete").get() }
        #expect(throws: AccessProblem.self) { try TokenScope.parse("topic:a/b:read").get() }
        #expect(throws: AccessProblem.self) { try TokenScope.parse("topics").get() }
        #expect(AccessToken.generate().count == 68)
        #expect(AccessToken.generate() != AccessToken.generate())
    }
}
