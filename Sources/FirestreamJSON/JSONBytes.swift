/// Operations on JSON held as bytes, for data that streams through (records, bodies, responses):
/// validate, compact, split an array into items, and read a value's text — without building a
/// tree. Everything except ``validate(_:maxDepth:)`` expects input that validation accepted.
public enum JSONBytes {
    /// Checks that `bytes` hold exactly one JSON value, with optional whitespace around it.
    public static func validate(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = JSONLimits.maxDepth) throws(JSONSyntaxError) {
        var scanner = JSONScanner(bytes, maxDepth: maxDepth)
        scanner.skipWhitespace()
        try scanner.scanValue()
        scanner.skipWhitespace()
        guard scanner.atEnd else { throw scanner.failure("unexpected \(scanner.describeHere()) after the value") }
    }

    /// Whether `bytes` hold exactly one JSON value.
    public static func isValid(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = JSONLimits.maxDepth) -> Bool {
        do throws(JSONSyntaxError) {
            try validate(bytes, maxDepth: maxDepth)
            return true
        } catch {
            return false
        }
    }

    public static func isValid(_ bytes: [UInt8], maxDepth: Int = JSONLimits.maxDepth) -> Bool {
        bytes.withUnsafeBytes { isValid($0, maxDepth: maxDepth) }
    }

    /// The valid JSON in `range` without the whitespace between its tokens.
    public static func compacted(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        var index = range.lowerBound
        var inString = false
        while index < range.upperBound {
            let byte = bytes[index]
            if inString {
                out.append(byte)
                if byte == UInt8(ascii: "\\") {
                    out.append(bytes[index + 1])
                    index += 2
                    continue
                }
                if byte == UInt8(ascii: "\"") { inString = false }
            } else {
                switch byte {
                case 0x20, 0x0A, 0x0D, 0x09: break
                case UInt8(ascii: "\""):
                    inString = true
                    out.append(byte)
                default: out.append(byte)
                }
            }
            index += 1
        }
        return out
    }

    /// Where the valid value starting at `start` ends.
    public static func endOfValue(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        var depth = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index = endOfString(bytes, from: index)
                if depth == 0 { return index }
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { return index + 1 }
                if depth < 0 { return index }
            case UInt8(ascii: ","), 0x20, 0x0A, 0x0D, 0x09, UInt8(ascii: ":"):
                if depth == 0 { return index }
            default: break
            }
            index += 1
        }
        return index
    }

    /// The index after the closing quote of the string starting at `start`.
    static func endOfString(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start + 1
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\\"): index += 2
            case UInt8(ascii: "\""): return index + 1
            default: index += 1
            }
        }
        return index
    }

    static func skipWhitespace(_ bytes: UnsafeRawBufferPointer, _ index: inout Int, end: Int) {
        while index < end, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
    }

    /// The ranges of the items of the valid array in `range` (empty when it is not an array).
    public static func arrayItems(_ bytes: UnsafeRawBufferPointer, in range: Range<Int>) -> [Range<Int>] {
        var index = range.lowerBound
        skipWhitespace(bytes, &index, end: range.upperBound)
        guard index < range.upperBound, bytes[index] == UInt8(ascii: "[") else { return [] }
        index += 1
        var items: [Range<Int>] = []
        while index < range.upperBound {
            skipWhitespace(bytes, &index, end: range.upperBound)
            guard index < range.upperBound, bytes[index] != UInt8(ascii: "]") else { break }
            let end = endOfValue(bytes, from: index)
            items.append(index..<end)
            index = end
            skipWhitespace(bytes, &index, end: range.upperBound)
            if index < range.upperBound, bytes[index] == UInt8(ascii: ",") { index += 1 }
        }
        return items
    }

    /// A scalar as key text: a string's decoded contents, or a number or boolean as written;
    /// nil for null, objects and arrays.
    public static func scalarText(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String? {
        guard let start = range.first, start < bytes.count else { return nil }
        let first = bytes[start]
        switch first {
        case UInt8(ascii: "\""):
            guard range.count >= 2, range.upperBound <= bytes.count, bytes[range.upperBound - 1] == UInt8(ascii: "\"") else { return nil }
            return JSONString.decode(UnsafeRawBufferPointer(rebasing: bytes[(range.lowerBound + 1)..<(range.upperBound - 1)]))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "t"), UInt8(ascii: "f"):
            guard range.upperBound <= bytes.count else { return nil }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        default:
            return nil
        }
    }
}

/// Decoding the contents of JSON strings (between the quotes), escapes included.
public enum JSONString {
    /// The text of a string's raw contents; `\uXXXX` pairs become one scalar, and an escape that
    /// names no scalar (a lone surrogate) becomes U+FFFD. Nil when an escape is malformed.
    public static func decode(_ raw: UnsafeRawBufferPointer) -> String? {
        guard raw.contains(UInt8(ascii: "\\")) else { return String(decoding: raw, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var index = 0
        while index < raw.count {
            let byte = raw[index]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                index += 1
                continue
            }
            guard index + 1 < raw.count else { return nil }
            let code = raw[index + 1]
            index += 2
            if let byte = singleCharacterEscape(code) {
                out.append(byte)
                continue
            }
            switch code {
            case UInt8(ascii: "u"):
                guard let high = hex4(raw, at: index) else { return nil }
                index += 4
                var low: UInt32?
                if index + 5 < raw.count, raw[index] == UInt8(ascii: "\\"), raw[index + 1] == UInt8(ascii: "u") { low = hex4(raw, at: index + 2) }
                if appendScalar(high, low: low, to: &out) { index += 6 }
            default:
                return nil
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The byte a one-character escape (`\\n`, `\\"`, …) stands for; nil for `u` and invalid ones.
    public static func singleCharacterEscape(_ code: UInt8) -> UInt8? {
        switch code {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): code
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        default: nil
        }
    }

    /// Appends the UTF-8 of the scalar a `\\uXXXX` escape names: with `low`, the value of the
    /// `\\uXXXX` right after it, a surrogate pair becomes one scalar (returns true: `low` was
    /// used). A code unit that names no scalar (a lone surrogate) becomes U+FFFD.
    @discardableResult
    public static func appendScalar(_ high: UInt32, low: UInt32?, to out: inout [UInt8]) -> Bool {
        var scalar = high
        var usedLow = false
        if (0xD800..<0xDC00).contains(high), let low, (0xDC00..<0xE000).contains(low) {
            scalar = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            usedLow = true
        }
        out.append(contentsOf: String(Character(UnicodeScalar(scalar) ?? "\u{FFFD}")).utf8)
        return usedLow
    }

    private static func hex4(_ raw: UnsafeRawBufferPointer, at index: Int) -> UInt32? {
        guard index + 4 <= raw.count else { return nil }
        var value: UInt32 = 0
        for offset in 0..<4 {
            guard let digit = hexValue(raw[index + offset]) else { return nil }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}
