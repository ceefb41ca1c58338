/// Bearer tokens: 256 random bits from the system's CSPRNG, written `fst_<64 hex digits>`; the
/// config holds only their SHA-256.
public enum AccessToken {
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return "fst_" + HMACSHA256.hexString(bytes)
    }

    /// The lower-case hex SHA-256 of `token`, as `gateway.tokens[].sha256` holds it.
    public static func digestHex(_ token: String) -> String {
        HMACSHA256.hexString(SHA256.hash(Array(token.utf8)))
    }
}

/// Bytes from lower-case hex (validated by the config).
public func hexBytes(_ hex: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var high: UInt8?
    for character in hex.utf8 {
        let value: UInt8
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): value = character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): value = character - UInt8(ascii: "A") + 10
        default: continue
        }
        if let first = high {
            bytes.append(first << 4 | value)
            high = nil
        } else {
            high = value
        }
    }
    return bytes
}

