import Foundation

/// A webhook's HMAC-SHA256 signature: checked on bodies the gateway accepts (401 otherwise), and
/// made by the webhook effect for the bodies it sends.
///
/// - `github`: `X-Hub-Signature-256: sha256=<hex of HMAC(body)>`.
/// - `stripe`: `Stripe-Signature: t=<unix seconds>,v1=<hex of HMAC("<t>.<body>")>`; the
///   timestamp must be within `tolerance` of now (replay protection).
/// - `hmac-sha256`: `<header>: sha256=<hex of HMAC(body)>`, by default `X-Firestream-Signature`,
///   which is what Firestream's own webhook effect sends.
public struct WebhookSignature: Sendable, Equatable {
    public enum Scheme: Sendable, Equatable {
        case github
        case stripe(toleranceSeconds: Int64)
        case hmacSHA256(header: String)
    }

    public var scheme: Scheme
    public var secret: [UInt8]

    public init(scheme: Scheme, secret: [UInt8]) {
        self.scheme = scheme
        self.secret = secret
    }

    /// The header a signer must set.
    public var headerName: String {
        switch scheme {
        case .github: "X-Hub-Signature-256"
        case .stripe: "Stripe-Signature"
        case .hmacSHA256(let header): header
        }
    }

    /// The value of `headerName` that signs `body` at `nowSeconds`.
    public func headerValue(signing body: [UInt8], nowSeconds: Int64) -> String {
        switch scheme {
        case .github, .hmacSHA256: "sha256=" + Digests.hmacHex(body, key: secret)
        case .stripe: "t=\(nowSeconds),v1=" + Digests.hmacHex(Array("\(nowSeconds).".utf8) + body, key: secret)
        }
    }

    /// Nil when `body` is signed correctly by `headerValue` (the request's `headerName` header,
    /// nil when absent); otherwise why not (for the 401 body).
    public func problem(body: [UInt8], headerValue: String?, nowSeconds: Int64) -> String? {
        guard let value = headerValue else {
            return "missing \(headerName) header: this topic only accepts signed requests"
        }
        switch scheme {
        case .github, .hmacSHA256:
            guard value.hasPrefix("sha256=") else { return "\(headerName) must be sha256=<hex digest>" }
            return Digests.isValidHMAC(hex: value.dropFirst(7), for: body, key: secret)
                ? nil : "\(headerName) does not match the body (wrong secret, or the body was changed)"
        case .stripe(let tolerance):
            var timestamp: Int64?
            var signatures: [Substring] = []
            for part in value.split(separator: ",") {
                let pair = part.split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { continue }
                switch String(pair[0]).trimmingCharacters(in: .whitespaces) {
                case "t": timestamp = Int64(pair[1])
                case "v1": signatures.append(pair[1])
                default: continue
                }
            }
            guard let timestamp, !signatures.isEmpty else { return "Stripe-Signature must carry t=<timestamp> and v1=<hex digest>" }
            // Any Int64 may arrive here: the distance is computed without overflowing.
            let (difference, overflow) = nowSeconds.subtractingReportingOverflow(timestamp)
            guard !overflow, difference.magnitude <= tolerance.magnitude else {
                let distance = overflow ? "more than 292 billion years" : "\(difference.magnitude) s"
                return "Stripe-Signature timestamp is \(distance) away from now (tolerance \(tolerance) s)"
            }
            let signed = Array("\(timestamp).".utf8) + body
            return signatures.contains { Digests.isValidHMAC(hex: $0, for: signed, key: secret) }
                ? nil : "Stripe-Signature does not match the body (wrong secret, or the body was changed)"
        }
    }
}
