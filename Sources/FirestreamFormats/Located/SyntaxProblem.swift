/// A syntax error in a located document: where it is, what is wrong, and how to fix it.
///
/// The config module turns these into diagnostics; this module knows nothing of config paths.
public struct SyntaxProblem: Sendable, Equatable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    /// A concrete fix, when one can be named.
    public var hint: String?

    public init(at location: SourceLocation, _ message: String, hint: String? = nil) {
        self.location = location
        self.message = message
        self.hint = hint
    }

    public var description: String { "\(location): \(message)" }
}
