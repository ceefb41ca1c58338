import Foundation

/// A Kubernetes resource quantity (`200m`, `0.5`, `128Mi`, `1e9`) with its value in base units
/// (cores or bytes), so requests and limits can be compared.
public struct Quantity: Sendable, Equatable, CustomStringConvertible {
    /// The text exactly as written; it is what gets rendered into manifests.
    public var text: String
    /// The amount in base units: cores for CPU, bytes for memory and storage.
    public var value: Double

    public var description: String { text }

    /// The amount as whole base units (bytes), rounded down. Every parsed quantity fits: parsing
    /// refuses amounts of 2^63 base units or more.
    public var wholeUnits: Int64 { value < 0x1p63 ? Int64(value.rounded(.down)) : Int64.max }

    public static func == (lhs: Quantity, rhs: Quantity) -> Bool { lhs.value == rhs.value }

    /// A quantity known to be valid (built-in defaults); user input goes through `parse`.
    public init(text: String, value: Double) {
        self.text = text
        self.value = value
    }

    /// What the quantity measures; each kind accepts a different set of suffixes.
    public enum Kind: Sendable {
        case cpu
        case bytes
    }

    /// Why a text is not a quantity of the requested kind, with a suggested fix.
    public struct Problem: Error, Equatable {
        public var message: String
        public var hint: String?

        public init(message: String, hint: String?) {
            self.message = message
            self.hint = hint
        }
    }

    private static let binarySuffixes: [(String, Double)] = [
        ("Ki", 0x1p10), ("Mi", 0x1p20), ("Gi", 0x1p30), ("Ti", 0x1p40), ("Pi", 0x1p50), ("Ei", 0x1p60),
    ]
    private static let decimalSuffixes: [(String, Double)] = [
        ("n", 1e-9), ("u", 1e-6), ("m", 1e-3), ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("P", 1e15), ("E", 1e18),
    ]

    /// Parses `text` following the Kubernetes quantity grammar, then applies the rules of `kind`.
    public static func parse(_ text: String, as kind: Kind) throws(Problem) -> Quantity {
        let trimmed = text
        guard let (number, suffix) = split(trimmed), let mantissa = Double(number) else {
            throw notAQuantity(text, kind)
        }
        guard mantissa >= 0, !number.hasPrefix("-") else {
            throw Problem(message: "\"\(text)\" is negative; resource quantities must be zero or more", hint: nil)
        }
        var multiplier = 1.0
        if let exponent = exponentSuffix(suffix) {
            // Anything past ±40 is out of range for every kind; refuse before computing it.
            guard (-40...40).contains(exponent) else {
                throw Problem(message: "\"\(text)\" is out of range (the exponent must be between -40 and 40)", hint: nil)
            }
            multiplier = pow(10, Double(exponent))
        } else if let binary = binarySuffixes.first(where: { $0.0 == suffix }) {
            multiplier = binary.1
        } else if let decimal = decimalSuffixes.first(where: { $0.0 == suffix }) {
            multiplier = decimal.1
        } else if !suffix.isEmpty {
            throw notAQuantity(text, kind)
        }
        let value = mantissa * multiplier
        // Kubernetes keeps quantities as 63-bit integers (CPU in milli-units): larger is unusable.
        let limit = kind == .cpu ? 0x1p63 / 1000 : 0x1p63
        guard value.isFinite, value < limit else {
            throw Problem(
                message: "\"\(text)\" is too large (at most \(kind == .cpu ? "9.2e15 cores" : "8Ei - 1 bytes, about 9.2e18"))", hint: nil)
        }
        switch kind {
        case .cpu:
            guard suffix.isEmpty || suffix == "m" || exponentSuffix(suffix) != nil else { throw notAQuantity(text, kind) }
            if value > 0 && value < 0.001 {
                throw Problem(message: "\"\(text)\" is finer than Kubernetes allows for CPU (1m)", hint: "use at least \"1m\"")
            }
        case .bytes:
            if ["m", "u", "n"].contains(suffix) {
                throw Problem(
                    message: "\"\(text)\" means \(number) milli-/micro-/nano-bytes, not megabytes",
                    hint: "try \"\(number)Mi\" (mebibytes) or \"\(number)M\" (megabytes)")
            }
        }
        return Quantity(text: text, value: value)
    }

    private static func notAQuantity(_ text: String, _ kind: Kind) -> Problem {
        switch kind {
        case .cpu:
            return Problem(message: "\"\(text)\" is not a Kubernetes CPU quantity", hint: "try \"200m\" or \"0.5\"")
        case .bytes:
            let digits = String(text.prefix { $0.isNumber || $0 == "." })
            let unit = text.dropFirst(digits.count).uppercased()
            let guess: [String: String] = ["KB": "Ki", "MB": "Mi", "GB": "Gi", "TB": "Ti", "K": "Ki", "G": "Gi", "MIB": "Mi", "GIB": "Gi"]
            if !digits.isEmpty, let suffix = guess[unit] {
                return Problem(message: "\"\(text)\" is not a Kubernetes memory quantity", hint: "try \"\(digits)\(suffix)\"")
            }
            return Problem(message: "\"\(text)\" is not a Kubernetes memory quantity", hint: "try \"128Mi\", \"1Gi\", \"500M\" or \"1e9\"")
        }
    }

    /// Splits `12.5Mi` into ("12.5", "Mi"); nil when the number part is malformed.
    private static func split(_ text: String) -> (String, String)? {
        var number = ""
        var rest = Substring(text)
        if let sign = rest.first, sign == "+" || sign == "-" {
            number.append(sign)
            rest = rest.dropFirst()
        }
        let digits = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard digits.contains(where: \.isNumber), digits.filter({ $0 == "." }).count <= 1 else { return nil }
        number += digits.hasSuffix(".") ? digits + "0" : String(digits)
        if number.hasPrefix(".") || number.hasPrefix("+.") || number.hasPrefix("-.") {
            number = number.replacingOccurrences(of: ".", with: "0.")
        }
        return (number, String(rest.dropFirst(digits.count)))
    }

    /// `e9` → 9; digits beyond what an Int holds saturate (and are then refused as out of range).
    private static func exponentSuffix(_ suffix: String) -> Int? {
        guard let first = suffix.first, first == "e" || first == "E" else { return nil }
        var digits = suffix.dropFirst()
        var sign = 1
        if let mark = digits.first, mark == "+" || mark == "-" {
            sign = mark == "-" ? -1 : 1
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return sign * (digits.count > 6 ? 1_000_000 : Int(digits) ?? 0)
    }
}
