/// A span of time written as `500ms`, `30s`, `15m`, `12h`, `7d` or `2w`.
public struct TimeSpan: Sendable, Equatable, CustomStringConvertible {
    public var text: String
    public var milliseconds: Int64

    public var description: String { text }

    /// A span known to be valid (built-in defaults); user input goes through `parse`.
    public init(text: String, milliseconds: Int64) {
        self.text = text
        self.milliseconds = milliseconds
    }

    public static func == (lhs: TimeSpan, rhs: TimeSpan) -> Bool { lhs.milliseconds == rhs.milliseconds }

    private static let units: [(String, Int64)] = [
        ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000),
    ]

    /// Parses a positive whole number followed by a unit; nil when the text is not a duration.
    public static func parse(_ text: String) -> TimeSpan? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let amount = Int64(digits), amount > 0,
            let unit = units.first(where: { $0.0 == text.dropFirst(digits.count) })
        else { return nil }
        let (product, overflow) = amount.multipliedReportingOverflow(by: unit.1)
        guard !overflow else { return nil }
        return TimeSpan(text: text, milliseconds: product)
    }
}
