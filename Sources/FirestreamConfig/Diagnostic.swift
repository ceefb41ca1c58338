public import FirestreamFormats

/// One problem found in a config file: where it is, what is wrong, and how to fix it.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable, Codable {
        case error
        case warning
    }

    public var severity: Severity
    /// JSON path of the offending value (`services[1].resources.requests.cpu`); `nil` for syntax errors.
    public var path: ConfigPath?
    /// Position in the file; `nil` when the problem is about the file as a whole.
    public var location: SourceLocation?
    public var message: String
    /// A concrete fix, when one can be named.
    public var hint: String?

    public init(
        _ severity: Severity, path: ConfigPath? = nil, at location: SourceLocation?, _ message: String,
        hint: String? = nil
    ) {
        self.severity = severity
        self.path = path
        self.location = location
        self.message = message
        self.hint = hint
    }

    /// `path: message`, the part of the rendering that does not depend on the file.
    public var description: String {
        guard let path else { return message }
        return "\(path): \(message)"
    }
}

extension [Diagnostic] {
    public var hasErrors: Bool { contains { $0.severity == .error } }
    public var errorCount: Int { filter { $0.severity == .error }.count }
    public var warningCount: Int { filter { $0.severity == .warning }.count }
}
