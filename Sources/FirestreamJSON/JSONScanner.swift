/// Limits every reader of untrusted JSON applies (records, request bodies, remote responses).
public enum JSONLimits {
    /// Deepest nesting of arrays and objects accepted. Deeper input is refused, never recursed into.
    public static let maxDepth = 128
}

/// Why bytes are not JSON: what was wrong, and at which byte.
public struct JSONSyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Offset of the offending byte from the start of the scanned buffer.
    public var offset: Int
    public var message: String

    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }

    public var description: String { "\(message) (at byte \(offset))" }

    /// The 1-based line and column (in characters) of `offset` in `bytes`, for messages.
    public static func lineAndColumn(of offset: Int, in bytes: UnsafeRawBufferPointer) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for index in 0..<min(offset, bytes.count) {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return (line, column)
    }
}

/// A strict, bounded JSON (RFC 8259) validator over bytes: no tree, no per-value allocation, no
/// recursion past ``JSONLimits/maxDepth``. It checks grammar, string escapes, control characters
/// and UTF-8, and notes whether the value holds whitespace that compacting would remove.
///
/// This is the reader for everything that comes from outside; the config's `JSONParser` is the
/// one that explains hand-editing mistakes.
public struct JSONScanner {
    public let bytes: UnsafeRawBufferPointer
    /// The next byte to read.
    public var index: Int
    public let maxDepth: Int
    /// Whether the last scanned value had whitespace between its tokens.
    public private(set) var sawWhitespace = false

    public init(_ bytes: UnsafeRawBufferPointer, at index: Int = 0, maxDepth: Int = JSONLimits.maxDepth) {
        self.bytes = bytes
        self.index = index
        self.maxDepth = maxDepth
    }

    /// Skips spaces, tabs and line breaks.
    @inline(__always)
    public mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    public var atEnd: Bool { index >= bytes.count }

    /// Scans one value starting at `index` (no leading whitespace) and leaves `index` after it.
    public mutating func scanValue() throws(JSONSyntaxError) {
        sawWhitespace = false
        try value(depth: 0)
    }

    private mutating func value(depth: Int) throws(JSONSyntaxError) {
        guard index < bytes.count else { throw failure("unexpected end of input: expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): try object(depth: depth + 1)
        case UInt8(ascii: "["): try array(depth: depth + 1)
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: throw failure("expected a value (object, array, string, number, true, false or null), found \(describeHere())")
        }
    }

    private mutating func spaceInside() {
        let before = index
        skipWhitespace()
        if index != before { sawWhitespace = true }
    }

    private mutating func object(depth: Int) throws(JSONSyntaxError) {
        guard depth <= maxDepth else { throw failure("nested deeper than \(maxDepth) levels") }
        index += 1
        spaceInside()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            guard index < bytes.count else { throw failure("unexpected end of input inside an object") }
            guard bytes[index] == UInt8(ascii: "\"") else {
                throw failure(
                    bytes[index] == UInt8(ascii: "}") ? "trailing comma before '}'" : "expected a double-quoted key, found \(describeHere())")
            }
            try string()
            spaceInside()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw failure("expected ':' after the key, found \(describeHere())") }
            index += 1
            spaceInside()
            try value(depth: depth)
            spaceInside()
            guard index < bytes.count else { throw failure("unexpected end of input inside an object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                spaceInside()
                continue
            }
            guard bytes[index] == UInt8(ascii: "}") else { throw failure("expected ',' or '}' after an object member, found \(describeHere())") }
            index += 1
            return
        }
    }

    /// Scans the array starting at `index` and returns each item's range, with whether the item
    /// is already compact (no whitespace between its tokens).
    public mutating func scanArrayItems() throws(JSONSyntaxError) -> [(range: Range<Int>, compact: Bool)] {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { throw failure("expected an array, found \(describeHere())") }
        var items: [(range: Range<Int>, compact: Bool)] = []
        sawWhitespace = false
        try array(depth: 1) { items.append(($0, $1)) }
        return items
    }

    private mutating func array(depth: Int, onItem: ((Range<Int>, Bool) -> Void)? = nil) throws(JSONSyntaxError) {
        guard depth <= maxDepth else { throw failure("nested deeper than \(maxDepth) levels") }
        index += 1
        spaceInside()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return
        }
        while true {
            guard index < bytes.count else { throw failure("unexpected end of input inside an array") }
            if bytes[index] == UInt8(ascii: "]") { throw failure("trailing comma before ']'") }
            if let onItem {
                let start = index
                let outer = sawWhitespace
                sawWhitespace = false
                try value(depth: depth)
                onItem(start..<index, !sawWhitespace)
                sawWhitespace = outer
            } else {
                try value(depth: depth)
            }
            spaceInside()
            guard index < bytes.count else { throw failure("unexpected end of input inside an array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                spaceInside()
                continue
            }
            guard bytes[index] == UInt8(ascii: "]") else { throw failure("expected ',' or ']' after an array item, found \(describeHere())") }
            index += 1
            return
        }
    }

    /// A string: escapes checked, control characters refused, UTF-8 validated.
    private mutating func string() throws(JSONSyntaxError) {
        let start = index
        index += 1
        while true {
            // The common case: printable ASCII.
            while index < bytes.count {
                let byte = bytes[index]
                guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") else { break }
                index += 1
            }
            guard index < bytes.count else {
                index = start
                throw failure("unterminated string")
            }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return
            case UInt8(ascii: "\\"):
                try escape()
            case 0..<0x20:
                throw failure("control character U+00\(hexDigits(byte)) inside a string (escape it, e.g. \\n)")
            default:
                try utf8Sequence()
            }
        }
    }

    private mutating func escape() throws(JSONSyntaxError) {
        guard index + 1 < bytes.count else { throw failure("unterminated escape sequence") }
        switch bytes[index + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
            UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 2
        case UInt8(ascii: "u"):
            guard index + 5 < bytes.count, (2...5).allSatisfy({ hexValue(bytes[index + $0]) != nil }) else {
                throw failure("\\u must be followed by four hex digits")
            }
            index += 6
        default:
            throw failure("invalid escape sequence in a string (valid: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)")
        }
    }

    /// One multi-byte UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
    private mutating func utf8Sequence() throws(JSONSyntaxError) {
        let lead = bytes[index]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            secondRange = 0x80...0x9F
        case 0xF0:
            length = 4
            secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            secondRange = 0x80...0x8F
        default: throw failure("invalid UTF-8")
        }
        guard index + length <= bytes.count, secondRange.contains(bytes[index + 1]) else { throw failure("invalid UTF-8") }
        for offset in 2..<length where bytes[index + offset] & 0xC0 != 0x80 { throw failure("invalid UTF-8") }
        index += length
    }

    private mutating func number() throws(JSONSyntaxError) {
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw failure("expected a digit in a number, found \(describeHere())") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw failure("numbers cannot have leading zeros") }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw failure("expected a digit after the decimal point") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw failure("expected a digit in the exponent") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let length = word.utf8CodeUnitCount
        guard index + length <= bytes.count else { throw failure("expected a value, found \(describeHere())") }
        for offset in 0..<length where bytes[index + offset] != word.utf8Start[offset] {
            throw failure("expected a value (object, array, string, number, true, false or null), found \(describeHere())")
        }
        index += length
    }

    @inline(__always) private func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    public func failure(_ message: String) -> JSONSyntaxError { JSONSyntaxError(offset: index, message: message) }

    /// The byte at `index`, described for a message.
    public func describeHere() -> String {
        guard index < bytes.count else { return "the end of the input" }
        let byte = bytes[index]
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(UnicodeScalar(byte)))'" }
        if byte < 0x80 { return "byte 0x\(hexDigits(byte))" }
        return "a non-ASCII character"
    }
}

@inline(__always) func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}

func hexDigits(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF".utf8)
    return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
}
