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
        var index = 0
        func fail(_ message: String) -> ParseError { ParseError(position: index, message: message) }
        func skipSpace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
                index += 1
            }
        }
        func parseString() throws(ParseError) -> String {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a string") }
            index += 1
            let start = index
            var escaped = false
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                if bytes[index] == UInt8(ascii: "\\") {
                    escaped = true
                    index += 1
                }
                index += 1
            }
            guard index < bytes.count else { throw fail("unterminated string") }
            let raw = bytes[start..<index]
            index += 1
            guard escaped else { return String(decoding: raw, as: UTF8.self) }
            var out: [UInt8] = []
            var i = raw.startIndex
            while i < raw.endIndex {
                if raw[i] == UInt8(ascii: "\\"), i + 1 < raw.endIndex {
                    let next = raw[i + 1]
                    switch next {
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "u"):
                        guard i + 5 < raw.endIndex, let code = UInt32(String(decoding: raw[(i + 2)...(i + 5)], as: UTF8.self), radix: 16) else {
                            throw fail("bad \\u escape")
                        }
                        out.append(contentsOf: Array(String(UnicodeScalar(code).map(Character.init) ?? "\u{FFFD}").utf8))
                        i += 6
                        continue
                    default: out.append(next)
                    }
                    i += 2
                } else {
                    out.append(raw[i])
                    i += 1
                }
            }
            return String(decoding: out, as: UTF8.self)
        }
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { throw fail("expected '{'") }
        index += 1
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                skipSpace()
                let key = try parseString()
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                index += 1
                skipSpace()
                guard index < bytes.count else { throw fail("unexpected end") }
                let value: Value
                switch bytes[index] {
                case UInt8(ascii: "\""): value = .string(try parseString())
                case UInt8(ascii: "t") where bytes[index...].starts(with: Array("true".utf8)):
                    index += 4
                    value = .bool(true)
                case UInt8(ascii: "f") where bytes[index...].starts(with: Array("false".utf8)):
                    index += 5
                    value = .bool(false)
                case UInt8(ascii: "n") where bytes[index...].starts(with: Array("null".utf8)):
                    index += 4
                    value = .null
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    let start = index
                    while index < bytes.count, let byte = Optional(bytes[index]),
                        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
                            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
                    {
                        index += 1
                    }
                    guard let number = Self.parseNumber(bytes[start..<index]) else { throw fail("bad number") }
                    value = .number(number)
                default:
                    throw fail("expected a string, number, true, false or null (nested values are not supported here)")
                }
                fields.append((key, value))
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

    /// Integers exactly (fast path), anything else through the standard library.
    private static func parseNumber(_ digits: ArraySlice<UInt8>) -> Double? {
        var value: Int64 = 0
        var negative = false
        var index = digits.startIndex
        if index < digits.endIndex, digits[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var simple = index < digits.endIndex && digits.count - (negative ? 1 : 0) <= 18
        while simple && index < digits.endIndex {
            let byte = digits[index]
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else {
                simple = false
                break
            }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            index += 1
        }
        if simple { return Double(negative ? -value : value) }
        return Double(String(decoding: digits, as: UTF8.self))
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
        bytes.append(contentsOf: Array(quoted(value).utf8))
    }

    public mutating func field(_ name: StaticString, _ value: Int64) {
        key(name)
        bytes.append(contentsOf: Array(String(value).utf8))
    }

    /// Shortest representation that reads back as the same Double.
    public mutating func field(_ name: StaticString, _ value: Double) {
        key(name)
        bytes.append(contentsOf: Array((value.isFinite ? "\(value)" : "null").utf8))
    }

    public func finished() -> [UInt8] { bytes + [UInt8(ascii: "}")] }
}
