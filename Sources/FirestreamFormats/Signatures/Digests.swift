import Crypto

/// SHA-256 and HMAC-SHA256 through swift-crypto, in the shapes Firestream uses.
public enum Digests {
    /// The 32-byte SHA-256 of `bytes`.
    public static func sha256(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        Array(SHA256.hash(data: Array(bytes)))
    }

    /// Lower-case hex of HMAC-SHA256(`message`) under `key`, the form signature headers carry.
    public static func hmacHex(_ message: some Sequence<UInt8>, key: [UInt8]) -> String {
        Hex.string(HMAC<SHA256>.authenticationCode(for: Array(message), using: SymmetricKey(data: key)))
    }

    /// Whether `hex` is HMAC-SHA256(`message`) under `key`, compared in constant time.
    public static func isValidHMAC(hex: some StringProtocol, for message: some Sequence<UInt8>, key: [UInt8]) -> Bool {
        guard let code = Hex.bytes(hex) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: Array(message), using: SymmetricKey(data: key))
    }

    /// Equality of two byte strings in time that does not depend on where they differ.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}
