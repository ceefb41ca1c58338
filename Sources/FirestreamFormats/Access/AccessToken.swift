/// Bearer tokens: 256 random bits from the system's CSPRNG, written `fst_<64 hex digits>`; the
/// config holds only their SHA-256.
public enum AccessToken {
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return "fst_" + Hex.string(bytes)
    }

    /// The lower-case hex SHA-256 of `token`, as `gateway.tokens[].sha256` holds it.
    public static func digestHex(_ token: String) -> String {
        Hex.string(Digests.sha256(token.utf8))
    }
}
