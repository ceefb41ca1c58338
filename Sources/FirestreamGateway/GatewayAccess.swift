import CoreMetrics
import FirestreamFormats
import FirestreamJSON
import FirestreamLog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import KafkaWire
import NIOCore

extension Gateway {
    /// Who sent `request`: anyone when no tokens are configured; otherwise the bearer token's or
    /// the session cookie's principal, or a 401.
    func principal(_ request: Request) throws -> Principal {
        guard access.authenticationRequired else { return .anyone }
        if let header = request.headers[.authorization] {
            guard header.lowercased().hasPrefix("bearer "),
                let token = access.token(matching: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
            else {
                metrics.authenticationFailures.increment()
                throw Failure(401, "the bearer token is not one of this project's tokens")
            }
            return token.principal
        }
        if let id = Sessions.id(inCookieHeader: request.headers[.cookie]),
            let principal = sessions.principal(for: id, now: wallClockMilliseconds() / 1000)
        {
            return principal
        }
        metrics.authenticationFailures.increment()
        throw Failure(401, "authentication required: send Authorization: Bearer <token> (see firestream token create), or sign in on the dashboard")
    }

    /// The principal, when it may do `action` on `topic`; a 403 otherwise.
    func authorize(_ request: Request, _ action: TokenScope.Action, topic: String) throws -> Principal {
        let principal = try principal(request)
        if let refusal = principal.refusal(action, topic: topic) { throw Failure(403, refusal) }
        return principal
    }

    /// The checks of `authorize(_:.write:)`, a 403 for topics no client writes, and, when the
    /// write would auto-create the topic, the `admin` scope.
    func authorizeWrite(_ request: Request, topic: String) async throws {
        _ = try authorize(request, .write, topic: topic)
        if let refusal = access.writeProtection(topic) {
            metrics.protectedWrites.increment()
            throw Failure(403, refusal)
        }
        if options.autoCreateTopics, try await storage.partitionCount(of: topic) == nil { _ = try authorize(request, .admin, topic: topic) }
    }

    func sessionStatus(_ request: Request) -> Response {
        let principal = try? principal(request)
        return json(jsonText(SessionAnswer(required: access.authenticationRequired, authenticated: principal != nil, name: principal?.name)))
    }

    /// `POST /login` with `{"token": "…"}`: a session cookie for the dashboard.
    func login(_ request: Request) async throws -> Response {
        let body = try await collectBody(request, limit: 4096)
        let bytes = Array(body.readableBytesView)
        guard JSONBytes.isValid(bytes), let token = JSONPointer("/token")?.keyText(in: bytes) else {
            throw Failure(400, "send {\"token\": \"…\"} as application/json")
        }
        guard access.authenticationRequired else { return json(jsonText(SessionAnswer(authenticated: true, name: "anyone"))) }
        guard let match = access.token(matching: token) else {
            metrics.authenticationFailures.increment()
            throw Failure(401, "that is not one of this project's tokens")
        }
        let id = sessions.create(for: match.principal, now: wallClockMilliseconds() / 1000)
        var response = json(jsonText(SessionAnswer(authenticated: true, name: match.name)))
        response.headers[.setCookie] = "\(Sessions.cookieName)=\(id); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Sessions.lifetimeSeconds)"
        return response
    }

    func logout(_ request: Request) -> Response {
        if let id = Sessions.id(inCookieHeader: request.headers[.cookie]) { sessions.remove(id) }
        var response = json(jsonText(SessionAnswer(authenticated: false)))
        response.headers[.setCookie] = "\(Sessions.cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
        return response
    }
}

/// Refuses requests whose `Host` or `Origin` is not allowed (DNS rebinding, other web pages),
/// before any route runs; `/healthz` and `/readyz` stay open to probes.
struct OriginCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    let access: AccessPolicy
    let metrics: GatewayMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/healthz" || request.uri.path == "/readyz" { return try await next(request, context) }
        if let problem = access.hostProblem(request.head.authority)
            ?? access.originProblem(request.headers[.origin], authority: request.head.authority)
        {
            metrics.originRefusals.increment()
            return failure(403, problem)
        }
        return try await next(request, context)
    }
}
