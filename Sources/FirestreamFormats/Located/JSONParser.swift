import FirestreamJSON

/// A strict JSON parser (RFC 8259) that keeps the position of every value and explains syntax
/// errors the way a person would fix them: trailing commas, comments, unquoted keys, single quotes,
/// and unbalanced brackets are named with the line and column where they happen.
///
/// Mistakes that leave the structure clear (trailing commas, comments, single-quoted or unquoted
/// keys) are reported and parsing goes on, so one run lists all of them; anything else stops.
public struct JSONParser {
    /// The parsed document (nil when a fatal syntax error stopped parsing) and every syntax problem.
    public struct Result: Sendable {
        public var root: LocatedNode?
        public var problems: [SyntaxProblem]
    }

    private struct Fatal: Error {
        var problem: SyntaxProblem
    }

    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var column = 1
    private var problems: [SyntaxProblem] = []
    /// Open `{` / `[` with their positions, innermost last.
    private var open: [(bracket: UInt8, at: SourceLocation)] = []

    /// Deepest nesting a config may have; deeper documents are refused, not recursed into.
    public static let maxDepth = 64

    public static func parse(_ text: String) -> Result {
        var parser = JSONParser(bytes: Array(text.utf8))
        return parser.parseDocument()
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
    }

    private mutating func parseDocument() -> Result {
        do {
            skipTrivia()
            if atEnd {
                throw fatal("the file is empty", hint: "start with `firestream init`, or write `{}` for all defaults")
            }
            let root = try parseValue()
            skipTrivia()
            if !atEnd {
                let byte = bytes[index]
                if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                    throw fatal(
                        "unbalanced '\(Character(UnicodeScalar(byte)))': every bracket is already closed here",
                        hint: "remove it, or add the matching opening bracket earlier")
                }
                throw fatal(
                    "unexpected \(describeHere()) after the end of the document",
                    hint: "a config file holds exactly one JSON object; check for a missing ',' or an extra '}' above")
            }
            return Result(root: root, problems: problems)
        } catch {
            let problem = (error as? Fatal)?.problem ?? SyntaxProblem(at: here, "\(error)")
            return Result(root: nil, problems: problems + [problem])
        }
    }

    // MARK: Values

    private mutating func parseValue() throws -> LocatedNode {
        guard !atEnd else { throw unexpectedEnd(expecting: "a value") }
        let start = here
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return LocatedNode(.string(try parseString()), at: start)
        case UInt8(ascii: "'"): return LocatedNode(.string(try parseSingleQuoted()), at: start)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return LocatedNode(.number(try parseNumber()), at: start)
        case UInt8(ascii: "+"):
            throw fatal("JSON numbers cannot start with '+'", hint: "remove the '+'")
        case let byte where byte.isWordByte:
            let word = readWord()
            switch word {
            case "true": return LocatedNode(.bool(true), at: start)
            case "false": return LocatedNode(.bool(false), at: start)
            case "null": return LocatedNode(.null, at: start)
            case "True", "TRUE", "False", "FALSE", "Null", "NULL", "None", "nil":
                let fixed = ["True": "true", "TRUE": "true", "False": "false", "FALSE": "false"][word] ?? "null"
                throw fatal(at: start, "'\(word)' is not a JSON literal", hint: "write \(fixed) (lower case)")
            case "NaN", "Infinity":
                throw fatal(at: start, "'\(word)' is not allowed in JSON", hint: "use a finite number or a string")
            default:
                throw fatal(
                    at: start, "unexpected '\(word)': strings must be in double quotes",
                    hint: "write \"\(word)\"")
            }
        default:
            throw fatal("expected a value (object, array, string, number, true, false or null), found \(describeHere())")
        }
    }

    private mutating func parseObject() throws -> LocatedNode {
        let start = here
        try checkDepth()
        open.append((UInt8(ascii: "{"), start))
        advance()
        var members: [LocatedNode.Member] = []
        skipTrivia()
        if peek(UInt8(ascii: "}")) {
            advance()
            open.removeLast()
            return LocatedNode(.object([]), at: start)
        }
        while true {
            let keyAt = here
            let key = try parseKey()
            skipTrivia()
            guard peek(UInt8(ascii: ":")) else {
                if atEnd { throw unexpectedEnd(expecting: "':' after the key \"\(key)\"") }
                throw fatal("expected ':' after the key \"\(key)\", found \(describeHere())")
            }
            advance()
            skipTrivia()
            let value = try parseValue()
            members.append(LocatedNode.Member(key: key, keyLocation: keyAt, value: value))
            skipTrivia()
            if try finishedContainer(closing: UInt8(ascii: "}"), after: "the value of \"\(key)\"") { break }
        }
        open.removeLast()
        return LocatedNode(.object(members), at: start)
    }

    private mutating func parseArray() throws -> LocatedNode {
        let start = here
        try checkDepth()
        open.append((UInt8(ascii: "["), start))
        advance()
        var items: [LocatedNode] = []
        skipTrivia()
        if peek(UInt8(ascii: "]")) {
            advance()
            open.removeLast()
            return LocatedNode(.array([]), at: start)
        }
        while true {
            items.append(try parseValue())
            skipTrivia()
            if try finishedContainer(closing: UInt8(ascii: "]"), after: "array item \(items.count - 1)") { break }
        }
        open.removeLast()
        return LocatedNode(.array(items), at: start)
    }

    /// After a member or item: consumes `,` (returning false, more follows) or the closing bracket
    /// (returning true). A trailing comma is reported and tolerated; anything else is fatal.
    private mutating func finishedContainer(closing: UInt8, after what: String) throws -> Bool {
        let closer = Character(UnicodeScalar(closing))
        let opener = open.last!
        if peek(UInt8(ascii: ",")) {
            let commaAt = here
            advance()
            skipTrivia()
            if peek(closing) {
                problems.append(
                    SyntaxProblem(
                        at: commaAt, "trailing comma before '\(closer)' is not allowed in JSON",
                        hint: "remove this ','"))
                advance()
                return true
            }
            return false
        }
        if peek(closing) {
            advance()
            return true
        }
        if atEnd {
            throw fatal(
                "unexpected end of file: the '\(Character(UnicodeScalar(opener.bracket)))' opened at \(opener.at) is never closed",
                hint: "add '\(closer)' to close it")
        }
        let byte = bytes[index]
        if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
            throw fatal(
                "found '\(Character(UnicodeScalar(byte)))' but the innermost open bracket is the '\(Character(UnicodeScalar(opener.bracket)))' at \(opener.at)",
                hint: "close it with '\(closer)' first, or remove this '\(Character(UnicodeScalar(byte)))'")
        }
        let separator = closing == UInt8(ascii: "}") ? "object members" : "array items"
        throw fatal(
            "expected ',' or '\(closer)' after \(what), found \(describeHere())",
            hint: "add a ',' between \(separator)")
    }

    private mutating func parseKey() throws -> String {
        guard !atEnd else { throw unexpectedEnd(expecting: "a quoted key") }
        let start = here
        switch bytes[index] {
        case UInt8(ascii: "\""):
            return try parseString()
        case UInt8(ascii: "'"):
            return try parseSingleQuoted()
        case let byte where byte.isWordByte:
            let word = readWord()
            problems.append(
                SyntaxProblem(at: start, "object keys must be double-quoted strings", hint: "write \"\(word)\""))
            return word
        default:
            throw fatal("expected a double-quoted key or '}', found \(describeHere())")
        }
    }

    // MARK: Strings and numbers

    private mutating func parseString() throws -> String {
        let start = here
        advance()
        var out: [UInt8] = []
        while true {
            guard !atEnd else {
                throw fatal("unexpected end of file inside the string that starts at \(start)", hint: "add the closing '\"'")
            }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                advance()
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try parseEscape(into: &out)
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                throw fatal(
                    "the string that starts at \(start) is not closed before the end of the line",
                    hint: "add the closing '\"'; write a line break inside a string as \\n")
            case 0..<0x20:
                throw fatal("control character U+\(hex(byte, digits: 4)) inside a string", hint: "escape it, e.g. \\t for a tab")
            default:
                out.append(byte)
                advance()
            }
        }
    }

    private mutating func parseEscape(into out: inout [UInt8]) throws {
        let escapeAt = here
        advance()
        guard !atEnd else { throw unexpectedEnd(expecting: "an escape sequence") }
        let byte = bytes[index]
        advance()
        if let decoded = JSONString.singleCharacterEscape(byte) {
            out.append(decoded)
            return
        }
        switch byte {
        case UInt8(ascii: "u"):
            let high = try readHex4(escapeAt: escapeAt)
            if (0xD800..<0xDC00).contains(high), peek(UInt8(ascii: "\\")), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") {
                advance()
                advance()
                // The second escape is a scalar of its own when it is not the low half.
                let low = try readHex4(escapeAt: escapeAt)
                if !JSONString.appendScalar(high, low: low, to: &out) { JSONString.appendScalar(low, low: nil, to: &out) }
            } else {
                JSONString.appendScalar(high, low: nil, to: &out)
            }
        default:
            throw fatal(
                at: escapeAt, "invalid escape '\\\(Character(UnicodeScalar(byte)))' in a string",
                hint: "valid escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX; write a backslash as \\\\")
        }
    }

    private mutating func readHex4(escapeAt: SourceLocation) throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard !atEnd, let digit = bytes[index].hexValue else {
                throw fatal(at: escapeAt, "\\u must be followed by four hex digits")
            }
            value = value << 4 | UInt32(digit)
            advance()
        }
        return value
    }

    /// Reads a single-quoted string, reporting it and going on (the intent is unambiguous).
    private mutating func parseSingleQuoted() throws -> String {
        let start = here
        advance()
        var out: [UInt8] = []
        while !atEnd, bytes[index] != UInt8(ascii: "'"), bytes[index] != UInt8(ascii: "\n") {
            out.append(bytes[index])
            advance()
        }
        guard peek(UInt8(ascii: "'")) else {
            throw fatal(at: start, "the string that starts here is not closed", hint: "use double quotes: \"…\"")
        }
        advance()
        let text = String(decoding: out, as: UTF8.self)
        problems.append(
            SyntaxProblem(at: start, "strings must use double quotes, not single quotes", hint: "write \"\(text)\""))
        return text
    }

    private mutating func parseNumber() throws -> String {
        let start = index
        let startLocation = here
        if peek(UInt8(ascii: "-")) { advance() }
        guard !atEnd, bytes[index].isDigit else {
            throw fatal("expected a digit after '-', found \(describeHere())")
        }
        if bytes[index] == UInt8(ascii: "0"), index + 1 < bytes.count, bytes[index + 1].isDigit {
            throw fatal("numbers cannot have leading zeros", hint: "remove the leading 0, or quote the value if it is a name")
        }
        skipDigits()
        if peek(UInt8(ascii: ".")) {
            advance()
            guard !atEnd, bytes[index].isDigit else {
                throw fatal("expected a digit after the decimal point, found \(describeHere())", hint: "write 1.0 instead of 1.")
            }
            skipDigits()
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            advance()
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { advance() }
            guard !atEnd, bytes[index].isDigit else {
                throw fatal("expected a digit in the exponent, found \(describeHere())")
            }
            skipDigits()
        }
        if !atEnd, bytes[index].isWordByte {
            let numberEnd = index
            let suffix = readWord()
            let written = String(decoding: bytes[start..<numberEnd], as: UTF8.self) + suffix
            throw fatal(
                at: startLocation, "unexpected '\(written)': a number with a unit must be a string", hint: "write \"\(written)\"")
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private func checkDepth() throws {
        guard open.count < Self.maxDepth else {
            throw fatal(
                "nested deeper than \(Self.maxDepth) levels", hint: "a Firestream config is a few levels deep; check for a runaway '[' or '{'")
        }
    }

    // MARK: Scanning

    private var atEnd: Bool { index >= bytes.count }
    private var here: SourceLocation { SourceLocation(line: line, column: column) }

    private func peek(_ byte: UInt8) -> Bool { index < bytes.count && bytes[index] == byte }

    private mutating func advance() {
        let byte = bytes[index]
        index += 1
        if byte == UInt8(ascii: "\n") {
            line += 1
            column = 1
        } else if byte & 0xC0 != 0x80 {
            column += 1
        }
    }

    private mutating func skipDigits() {
        while !atEnd, bytes[index].isDigit { advance() }
    }

    private mutating func readWord() -> String {
        let start = index
        while !atEnd, bytes[index].isWordByte { advance() }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// Skips whitespace; comments are reported (JSON has none) and skipped.
    private mutating func skipTrivia() {
        while !atEnd {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                advance()
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "/"),
                UInt8(ascii: "#"):
                reportComment()
                while !atEnd, bytes[index] != UInt8(ascii: "\n") { advance() }
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                reportComment()
                advance()
                advance()
                while !atEnd, !(bytes[index] == UInt8(ascii: "*") && index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "/")) {
                    advance()
                }
                if !atEnd {
                    advance()
                    advance()
                }
            default:
                return
            }
        }
    }

    private mutating func reportComment() {
        problems.append(
            SyntaxProblem(
                at: here, "comments are not allowed in JSON",
                hint: "remove it, or write the config as firestream.yaml, where # starts a comment"))
    }

    private func describeHere() -> String {
        guard !atEnd else { return "the end of the file" }
        let byte = bytes[index]
        if byte == UInt8(ascii: "\"") { return "a string" }
        if byte.isWordByte {
            return "'\(String(decoding: bytes[index..<min(bytes.count, index + 20)].prefix(while: { $0.isWordByte }), as: UTF8.self))'"
        }
        if byte < 0x80 { return "'\(Character(UnicodeScalar(byte)))'" }
        return "a non-ASCII character"
    }

    private func unexpectedEnd(expecting what: String) -> Fatal {
        if let opener = open.last {
            return fatal(
                "unexpected end of file: expected \(what); the '\(Character(UnicodeScalar(opener.bracket)))' opened at \(opener.at) is never closed")
        }
        return fatal("unexpected end of file: expected \(what)")
    }

    private func fatal(at location: SourceLocation? = nil, _ message: String, hint: String? = nil) -> Fatal {
        Fatal(problem: SyntaxProblem(at: location ?? here, message, hint: hint))
    }

    private func hex(_ byte: UInt8, digits: Int) -> String {
        let text = String(byte, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

extension UInt8 {
    fileprivate var isDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }

    /// Bytes of a bare word: letters, digits, `_`, `-`, `.`, and anything non-ASCII.
    fileprivate var isWordByte: Bool {
        (self >= UInt8(ascii: "a") && self <= UInt8(ascii: "z")) || (self >= UInt8(ascii: "A") && self <= UInt8(ascii: "Z"))
            || isDigit || self == UInt8(ascii: "_") || self == UInt8(ascii: "-") || self == UInt8(ascii: ".") || self >= 0x80
    }

    fileprivate var hexValue: UInt8? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): self - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): self - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): self - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
