public import FirestreamFormats

/// A config file parsed into a located tree (nil when a fatal problem stopped parsing), with
/// every syntax problem as a diagnostic.
public struct ParsedDocument: Sendable {
    public var root: LocatedNode?
    public var diagnostics: [Diagnostic]

    public init(root: LocatedNode?, diagnostics: [Diagnostic]) {
        self.root = root
        self.diagnostics = diagnostics
    }

    /// The JSON parser's syntax problems, as errors at their positions.
    public init(_ parsed: JSONParser.Result) {
        self.init(
            root: parsed.root,
            diagnostics: parsed.problems.map { Diagnostic(.error, at: $0.location, $0.message, hint: $0.hint) })
    }
}
