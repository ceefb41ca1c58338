/// An RFC 6901 JSON pointer (`/device/id`, `/items/0`, `/a~1b` for the key "a/b"), parsed once and
/// evaluated over JSON bytes or a ``JSONValue``.
public struct JSONPointer: Sendable, Equatable, CustomStringConvertible {
    /// The reference tokens, unescaped (`~1` → `/`, `~0` → `~`).
    public let tokens: [String]
    private let tokenBytes: [[UInt8]]
    public let description: String

    /// Nil when `text` is not a pointer (it must be empty or start with `/`).
    public init?(_ text: String) {
        guard text.isEmpty || text.hasPrefix("/") else { return nil }
        tokens = text.isEmpty ? [] : text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(Self.unescape)
        tokenBytes = tokens.map { Array($0.utf8) }
        description = text
    }

    /// `~1` → `/` and `~0` → `~`, left to right (so `~01` is `~1`).
    private static func unescape(_ token: Substring) -> String {
        var out = ""
        var pendingTilde = false
        for character in token {
            if pendingTilde {
                out += character == "1" ? "/" : character == "0" ? "~" : "~\(character)"
                pendingTilde = false
            } else if character == "~" {
                pendingTilde = true
            } else {
                out.append(character)
            }
        }
        return pendingTilde ? out + "~" : out
    }

    /// The range of the value the pointer names inside the valid JSON value in `range`.
    public func find(in bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Range<Int>? {
        var index = range.lowerBound
        JSONBytes.skipWhitespace(bytes, &index, end: range.upperBound)
        for token in tokenBytes {
            guard index < range.upperBound else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                guard let found = member(token, in: bytes, from: index, end: range.upperBound) else { return nil }
                index = found
            case UInt8(ascii: "["):
                guard let position = Self.arrayIndex(token),
                    let found = JSONBytes.arrayItems(bytes, in: index..<range.upperBound).dropFirst(position).first
                else { return nil }
                index = found.lowerBound
            default:
                return nil
            }
        }
        guard index < range.upperBound else { return nil }
        return index..<min(range.upperBound, JSONBytes.endOfValue(bytes, from: index))
    }

    /// The start of the value of member `key` in the object starting at `start`.
    private func member(_ key: [UInt8], in bytes: UnsafeRawBufferPointer, from start: Int, end: Int) -> Int? {
        var index = start + 1
        while index < end {
            JSONBytes.skipWhitespace(bytes, &index, end: end)
            guard index < end, bytes[index] == UInt8(ascii: "\"") else { return nil }
            let keyEnd = JSONBytes.endOfString(bytes, from: index)
            guard keyEnd <= end, keyEnd - index >= 2 else { return nil }
            let raw = UnsafeRawBufferPointer(rebasing: bytes[(index + 1)..<(keyEnd - 1)])
            let matches: Bool
            if raw.contains(UInt8(ascii: "\\")) {
                matches = JSONString.decode(raw).map { Array($0.utf8) == key } ?? false
            } else {
                matches = raw.elementsEqual(key)
            }
            index = keyEnd
            JSONBytes.skipWhitespace(bytes, &index, end: end)
            guard index < end, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            JSONBytes.skipWhitespace(bytes, &index, end: end)
            guard index < end else { return nil }
            if matches { return index }
            index = JSONBytes.endOfValue(bytes, from: index)
            JSONBytes.skipWhitespace(bytes, &index, end: end)
            guard index < end, bytes[index] == UInt8(ascii: ",") else { return nil }
            index += 1
        }
        return nil
    }

    /// An array index token: digits without a leading zero.
    private static func arrayIndex(_ token: [UInt8]) -> Int? {
        guard !token.isEmpty, token.count <= 18, token.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            token.count == 1 || token[0] != UInt8(ascii: "0")
        else { return nil }
        return token.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }

    /// The value the pointer names in a tree; nil when the path does not exist.
    public func find(in value: JSONValue) -> JSONValue? {
        var current = value
        for (token, bytes) in zip(tokens, tokenBytes) {
            switch current {
            case .object(let members):
                guard let next = members.first(where: { $0.0 == token })?.1 else { return nil }
                current = next
            case .array(let items):
                guard let index = Self.arrayIndex(bytes), items.indices.contains(index) else { return nil }
                current = items[index]
            default:
                return nil
            }
        }
        return current
    }

    /// The named value as key text in the valid JSON `bytes`: a string's contents, a number or
    /// boolean as written; nil when missing or not a scalar.
    public func keyText(in bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String? {
        find(in: bytes, range).flatMap { JSONBytes.scalarText(bytes, $0) }
    }

    public func keyText(in bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { keyText(in: $0, 0..<$0.count) }
    }
}
