#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A small, fast reader and writer for flat JSON objects (string, number, boolean and null
/// values), the shape of the demo's records. Apps with nested data use Codable instead.
public struct FlatJSONObject {
    public enum Value: Equatable {
        case string(String)
        case number(Double)
        case bool(Bool)
        case null
    }

    public private(set) var fields: [(key: String, value: Value)] = []

    public struct ParseError: Error, CustomStringConvertible {
        public var position: Int
        public var message: String
        public var description: String { "invalid JSON at byte \(position): \(message)" }
    }

    public subscript(key: String) -> Value? {
        fields.first { $0.key == key }?.value
    }

    public func string(_ key: String) -> String? {
        if case .string(let text) = self[key] { return text }
        return nil
    }

    public func number(_ key: String) -> Double? {
        if case .number(let value) = self[key] { return value }
        return nil
    }

    /// Parses one flat object; nested objects and arrays are rejected.
    public init(parsing bytes: [UInt8]) throws(ParseError) {
        var fields: [(key: String, value: Value)] = []
        try Self.scan(bytes) { key, value in fields.append((String(decoding: key, as: UTF8.self), value)) }
        self.fields = fields
    }

    /// Calls `visit` with each key (raw UTF-8, valid only during the call) and value, without
    /// building the object: the allocation-free path for decoders on hot paths.
    public static func scan(_ bytes: [UInt8], _ visit: (UnsafeRawBufferPointer, Value) throws(ParseError) -> Void) throws(ParseError) {
        let failure: ParseError? = bytes.withUnsafeBytes { raw in
            var scanner = Scanner(bytes: raw)
            do throws(ParseError) {
                try scanner.object(visit)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    private struct Scanner {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        func fail(_ message: String) -> ParseError { ParseError(position: index, message: message) }

        mutating func skipSpace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
                index += 1
            }
        }

        /// The raw bytes of a string (between the quotes) and whether it holds escapes. The
        /// closing quote is found with memchr; only strings with a backslash are walked byte by byte.
        mutating func rawString() throws(ParseError) -> (Range<Int>, escaped: Bool) {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a string") }
            index += 1
            let start = index
            guard let base = bytes.baseAddress,
                let quote = memchr(base + index, Int32(UInt8(ascii: "\"")), bytes.count - index)
            else {
                index = bytes.count
                throw fail("unterminated string")
            }
            let end = base.distance(to: UnsafeRawPointer(quote))
            guard memchr(base + index, Int32(UInt8(ascii: "\\")), end - index) != nil else {
                index = end + 1
                return (start..<end, false)
            }
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                if bytes[index] == UInt8(ascii: "\\") { index += 1 }
                index += 1
            }
            guard index < bytes.count else { throw fail("unterminated string") }
            index += 1
            return (start..<(index - 1), true)
        }

        func unescape(_ range: Range<Int>) throws(ParseError) -> String {
            guard let text = JSONString.decode(UnsafeRawBufferPointer(rebasing: bytes[range])) else {
                throw ParseError(position: range.lowerBound, message: "bad escape sequence")
            }
            return text
        }

        mutating func object(_ visit: (UnsafeRawBufferPointer, Value) throws(ParseError) -> Void) throws(ParseError) {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { throw fail("expected '{'") }
            index += 1
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
            } else {
                while true {
                    skipSpace()
                    let (keyRange, keyEscaped) = try rawString()
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    index += 1
                    skipSpace()
                    guard index < bytes.count else { throw fail("unexpected end") }
                    let value: Value
                    switch bytes[index] {
                    case UInt8(ascii: "\""):
                        let (range, escaped) = try rawString()
                        value = .string(
                            escaped ? try unescape(range) : String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self))
                    case UInt8(ascii: "t") where literal("true"):
                        value = .bool(true)
                    case UInt8(ascii: "f") where literal("false"):
                        value = .bool(false)
                    case UInt8(ascii: "n") where literal("null"):
                        value = .null
                    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                        let start = index
                        while index < bytes.count {
                            let byte = bytes[index]
                            guard
                                (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
                                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
                            else { break }
                            index += 1
                        }
                        guard let number = FlatJSONObject.parseNumber(UnsafeRawBufferPointer(rebasing: bytes[start..<index])) else {
                            throw fail("bad number")
                        }
                        value = .number(number)
                    default:
                        throw fail("expected a string, number, true, false or null (nested values are not supported here)")
                    }
                    if keyEscaped {
                        let key = Array(try unescape(keyRange).utf8)
                        let failure = key.withUnsafeBytes { raw -> ParseError? in
                            do throws(ParseError) {
                                try visit(raw, value)
                                return nil
                            } catch {
                                return error
                            }
                        }
                        if let failure { throw failure }
                    } else {
                        try visit(UnsafeRawBufferPointer(rebasing: bytes[keyRange]), value)
                    }
                    skipSpace()
                    guard index < bytes.count else { throw fail("unexpected end") }
                    if bytes[index] == UInt8(ascii: ",") {
                        index += 1
                        continue
                    }
                    guard bytes[index] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
                    index += 1
                    break
                }
            }
            skipSpace()
            guard index == bytes.count else { throw fail("unexpected content after the object") }
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let length = word.utf8CodeUnitCount
            guard index + length <= bytes.count else { return false }
            for offset in 0..<length where bytes[index + offset] != word.utf8Start[offset] { return false }
            index += length
            return true
        }
    }

    /// Plain decimals exactly without a library call, anything else with strtod (correctly
    /// rounded) from a stack buffer, without allocating.
    fileprivate static func parseNumber(_ digits: UnsafeRawBufferPointer) -> Double? {
        if let value = exactDecimal(digits) { return value }
        guard digits.count < 64 else { return Double(String(decoding: digits, as: UTF8.self)) }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer -> Double? in
            for (offset, byte) in digits.enumerated() { buffer[offset] = CChar(bitPattern: byte) }
            buffer[digits.count] = 0
            var end: UnsafeMutablePointer<CChar>?
            let result = strtod(buffer.baseAddress!, &end)
            guard let end, end - buffer.baseAddress! == digits.count else { return nil }
            return result
        }
    }

    /// Powers of ten that a Double holds exactly (a literal, so no lazy initialisation).
    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// `-?digits(.digits)?` whose digits, read as one integer, are at most 2^53, with at most 22
    /// after the point: that integer and the power of ten are both exact Doubles, so one
    /// division is the correctly rounded result (Clinger's fast path). Anything else is nil.
    static func exactDecimal(_ digits: UnsafeRawBufferPointer) -> Double? {
        let negative = digits.count > 0 && digits[0] == UInt8(ascii: "-")
        var index = negative ? 1 : 0
        var mantissa: UInt64 = 0
        var count = 0
        var point = -1
        while index < digits.count {
            let digit = digits[index] &- UInt8(ascii: "0")
            if digit < 10 {
                mantissa = mantissa &* 10 &+ UInt64(digit)
                count += 1
            } else if digits[index] == UInt8(ascii: "."), point < 0, count > 0 {
                point = count
            } else {
                return nil
            }
            index += 1
        }
        let fractionDigits = point < 0 ? 0 : count - point
        guard count > 0, count <= 19, point < 0 || fractionDigits > 0, fractionDigits <= 22, mantissa <= 1 << 53 else { return nil }
        let magnitude = Double(mantissa) / exactPowersOfTen[fractionDigits]
        return negative ? -magnitude : magnitude
    }
}

/// Builds a flat JSON object by appending fields, without intermediate strings.
public struct FlatJSONWriter {
    public private(set) var bytes: [UInt8] = [UInt8(ascii: "{")]

    public init(capacity: Int = 128) {
        bytes.reserveCapacity(capacity)
    }

    private mutating func key(_ name: StaticString) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        appendQuoted(value)
    }

    public mutating func field(_ name: StaticString, _ value: Int64) {
        key(name)
        appendInteger(value)
    }

    /// Shortest representation that reads back as the same Double.
    public mutating func field(_ name: StaticString, _ value: Double) {
        key(name)
        if !value.isFinite {
            bytes.append(contentsOf: "null".utf8)
        } else if value == value.rounded(.towardZero), abs(value) < 1e15 {
            appendInteger(Int64(value))
            bytes.append(contentsOf: ".0".utf8)
        } else {
            // The standard library's shortest round-trip text, written straight into the bytes.
            var sink = ASCIISink(bytes: [])
            swap(&sink.bytes, &bytes)
            value.write(to: &sink)
            swap(&sink.bytes, &bytes)
        }
    }

    /// Appends a JSON string; text needing no escapes is copied byte for byte.
    private mutating func appendQuoted(_ value: String) {
        var value = value
        let plain = value.withUTF8 { raw in raw.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") } }
        if plain {
            bytes.append(UInt8(ascii: "\""))
            value.withUTF8 { bytes.append(contentsOf: $0) }
            bytes.append(UInt8(ascii: "\""))
        } else {
            bytes.append(contentsOf: JSONText.quote(value).utf8)
        }
    }

    private mutating func appendInteger(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64) = (0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[15 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            bytes.append(contentsOf: buffer[(16 - count)...])
        }
    }

    public consuming func finished() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }
}

/// Receives a number's text without building a String: `Double.write(to:)` hands its
/// digits to `_writeASCII`, the standard library's hook for ASCII output (a plain `write`
/// still works if that hook ever goes away).
private struct ASCIISink: TextOutputStream {
    var bytes: [UInt8]

    mutating func write(_ string: String) { bytes.append(contentsOf: string.utf8) }

    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: buffer) }
}
