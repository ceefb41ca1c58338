public import FirestreamFormats
import FirestreamLog
import Foundation
import HTTPTypes

/// Who may do what through the gateway, and where requests may come from.
///
/// - `Host` must be a loopback name, an IP literal, or a configured host (DNS rebinding: a page
///   on evil.example that resolves to 127.0.0.1 sends `Host: evil.example`).
/// - A browser's `Origin`, when present, must name the host the request was sent to, or be a
///   configured origin: no other web page may open a WebSocket to the gateway or post to it.
/// - With tokens configured, every route but `/healthz`, `/readyz` and the dashboard's static
///   files needs a bearer token (`Authorization: Bearer …`) or the dashboard's session cookie,
///   whose scopes allow the action on the topic. A topic with a webhook signature accepts a
///   valid signature instead of a token: the signature is its sender's credential.
/// - Nobody writes through the gateway into internal topics (`__…`), app outputs or dead-letter
///   topics: those belong to the runtime.
public struct AccessPolicy: Sendable {
    /// A token: its name, the SHA-256 of the token, and its scopes.
    public typealias Token = TokenCredential

    public var tokens: [Token]
    /// Host names allowed besides loopback names and IP literals (lower case).
    public var hosts: Set<String>
    /// Origins allowed besides the page's own (`https://dash.example.com`, lower case).
    public var origins: Set<String>
    /// Topics no client may write, with the reason.
    public var protectedTopics: [String: String]

    public init(tokens: [Token] = [], hosts: Set<String> = [], origins: Set<String> = [], protectedTopics: [String: String] = [:]) {
        self.tokens = tokens
        self.hosts = hosts
        self.origins = origins
        self.protectedTopics = protectedTopics
    }

    /// With no tokens the gateway is open (and `up` keeps it on loopback).
    public var authenticationRequired: Bool { !tokens.isEmpty }

    /// The token whose SHA-256 matches `token`'s, compared in constant time.
    func token(matching token: String) -> Token? { TokenCredential.matching(token, in: tokens) }

    /// Why a client may not write `topic`; nil when it may.
    func writeProtection(_ topic: String) -> String? { TopicProtection(owned: protectedTopics).writeRefusal(topic) }

    // MARK: Hosts and origins

    /// Nil when the `Host` header is allowed; otherwise why not.
    public func hostProblem(_ authority: String?) -> String? {
        guard let authority, !authority.isEmpty else { return nil }
        let host = Self.hostPart(of: authority)
        if Self.isLoopbackName(host) || Self.isIPLiteral(host) || hosts.contains(host) { return nil }
        return "Host \"\(authority)\" is not allowed (add \"\(host)\" to gateway.hosts in the config)"
    }

    /// Nil when the `Origin` header (if any) is allowed for a request to `authority`.
    public func originProblem(_ origin: String?, authority: String?) -> String? {
        guard let origin else { return nil }
        let lowered = origin.lowercased()
        if origins.contains(lowered) { return nil }
        // The page's own host (whatever the port: a page served by another program on this host
        // already runs beside the gateway). Remote pages and rebound names differ in host.
        if let separator = lowered.range(of: "://"), let authority,
            Self.hostPart(of: String(lowered[separator.upperBound...])) == Self.hostPart(of: authority)
        {
            return nil
        }
        return "Origin \"\(origin)\" may not use this gateway (add it to gateway.origins in the config)"
    }

    /// `example.com:8000` → `example.com`; `[::1]:8000` → `[::1]`.
    static func hostPart(of authority: String) -> String {
        let lowered = authority.lowercased()
        if lowered.hasPrefix("["), let close = lowered.firstIndex(of: "]") { return String(lowered[...close]) }
        if let colon = lowered.lastIndex(of: ":"), lowered[lowered.index(after: colon)...].allSatisfy(\.isNumber) {
            return String(lowered[..<colon])
        }
        return lowered
    }

    static func isLoopbackName(_ host: String) -> Bool {
        host == "localhost" || host.hasSuffix(".localhost")
    }

    /// IPv4 dotted quads and bracketed IPv6: a rebinding page's Host is always a name.
    static func isIPLiteral(_ host: String) -> Bool {
        if host.hasPrefix("[") && host.hasSuffix("]") { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isNumber) && (Int($0) ?? 256) <= 255 }
    }

    /// Whether `host` (as given to `--host`) is a loopback address.
    public static func isLoopbackAddress(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}

/// Dashboard sessions: a random id in an HttpOnly, SameSite=Strict cookie stands for the token
/// the user typed once, so the token never appears in a URL or in the page's script.
final class Sessions: Sendable {
    static let cookieName = "firestream_session"
    /// A session lasts this long after login.
    static let lifetimeSeconds: Int64 = 12 * 3600
    /// At most this many sessions; the oldest go first.
    static let capacity = 10_000

    private struct Session {
        var principal: Principal
        var expires: Int64
    }

    private let sessions = Locked<[String: Session]>([:])

    /// A new session for `principal`; returns its id.
    func create(for principal: Principal, now: Int64) -> String {
        var generator = SystemRandomNumberGenerator()
        let id = (0..<4).map { _ in String(generator.next() as UInt64, radix: 16) }.joined(separator: "-")
        sessions.withLock { sessions in
            sessions = sessions.filter { $0.value.expires > now }
            if sessions.count >= Self.capacity, let oldest = sessions.min(by: { $0.value.expires < $1.value.expires })?.key {
                sessions[oldest] = nil
            }
            sessions[id] = Session(principal: principal, expires: now + Self.lifetimeSeconds)
        }
        return id
    }

    func principal(for id: String, now: Int64) -> Principal? {
        sessions.withLock { sessions in
            guard let session = sessions[id] else { return nil }
            guard session.expires > now else {
                sessions[id] = nil
                return nil
            }
            return session.principal
        }
    }

    func remove(_ id: String) {
        sessions.withLock { $0[id] = nil }
    }

    /// The session id in a `Cookie` header, if any.
    static func id(inCookieHeader header: String?) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces) == cookieName {
                return String(pair[1]).trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
}
