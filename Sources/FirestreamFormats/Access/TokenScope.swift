/// A permission: `topic:<pattern>:read|write|admin` (the pattern may use `*`), `metrics:read`,
/// or `admin` (everything).
public struct TokenScope: Sendable, Equatable, CustomStringConvertible {
    /// What may be done with a topic; `admin` includes `read` and `write` (and creating topics).
    public enum Action: String, Sendable, CaseIterable {
        case read, write, admin
    }

    public enum Grant: Sendable, Equatable {
        case topics(pattern: String, Action)
        case metrics
        case everything
    }

    public var grant: Grant

    public init(_ grant: Grant) {
        self.grant = grant
    }

    public var description: String {
        switch grant {
        case .topics(let pattern, let action): "topic:\(pattern):\(action.rawValue)"
        case .metrics: "metrics:read"
        case .everything: "admin"
        }
    }

    /// Parses a scope; the error says what is wrong.
    public static func parse(_ text: String) -> Result<TokenScope, AccessProblem> {
        if text == "admin" { return .success(TokenScope(.everything)) }
        if text == "metrics:read" { return .success(TokenScope(.metrics)) }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts[0] == "topic" else {
            return .failure(
                AccessProblem(message: "\"\(text)\" is not a scope", hint: "write topic:<name or pattern>:read|write|admin, metrics:read, or admin"))
        }
        guard let action = Action(rawValue: parts[2]) else {
            return .failure(AccessProblem(message: "\"\(parts[2])\" is not a topic action", hint: "use read, write or admin"))
        }
        let pattern = parts[1]
        guard !pattern.isEmpty, pattern.allSatisfy({ $0 == "*" || $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            return .failure(
                AccessProblem(
                    message: "\"\(pattern)\" is not a topic name or pattern", hint: "letters, digits, '.', '_', '-', and '*' for any run of them"))
        }
        return .success(TokenScope(.topics(pattern: pattern, action)))
    }

    /// Whether this scope lets its holder do `action` on `topic`.
    public func allows(_ action: Action, topic: String) -> Bool {
        switch grant {
        case .everything: return true
        case .metrics: return false
        case .topics(let pattern, let granted):
            guard granted == action || granted == .admin else { return false }
            return Self.matches(pattern, topic)
        }
    }

    /// Glob matching where `*` stands for any run of characters (none included).
    static func matches(_ pattern: String, _ name: String) -> Bool {
        let pattern = Array(pattern.utf8)
        let name = Array(name.utf8)
        var p = 0
        var n = 0
        var star: Int?
        var resume = 0
        while n < name.count {
            if p < pattern.count, pattern[p] == UInt8(ascii: "*") {
                star = p
                resume = n
                p += 1
            } else if p < pattern.count, pattern[p] == name[n] {
                p += 1
                n += 1
            } else if let star {
                p = star + 1
                resume += 1
                n = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }
}

/// Why a scope or a credential cannot be read, and what to do.
public struct AccessProblem: Error, Equatable, Sendable {
    public var message: String
    public var hint: String?
}
