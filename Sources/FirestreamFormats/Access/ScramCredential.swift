import Crypto
import Foundation

/// The SCRAM mechanisms Kafka clients offer (RFC 5802, RFC 7677).
public enum ScramMechanism: String, Sendable, CaseIterable, Comparable {
    case sha256 = "SCRAM-SHA-256"
    case sha512 = "SCRAM-SHA-512"

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// HMAC of `message` under `key` with this mechanism's hash.
    func hmac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        switch self {
        case .sha256: Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
        case .sha512: Array(HMAC<SHA512>.authenticationCode(for: message, using: SymmetricKey(data: key)))
        }
    }

    /// This mechanism's hash of `bytes`.
    func hash(_ bytes: [UInt8]) -> [UInt8] {
        switch self {
        case .sha256: Array(SHA256.hash(data: bytes))
        case .sha512: Array(SHA512.hash(data: bytes))
        }
    }

    /// RFC 5802's Hi(): PBKDF2 with this mechanism's HMAC, one block as long as the hash.
    func salted(_ password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        var block = hmac(password, salt + [0, 0, 0, 1])
        var result = block
        for _ in 1..<max(iterations, 1) {
            block = hmac(password, block)
            for index in result.indices { result[index] ^= block[index] }
        }
        return result
    }
}

/// What a server keeps to check a SCRAM client without knowing its password: the salt, the
/// iteration count, StoredKey = H(HMAC(SaltedPassword, "Client Key")) and
/// ServerKey = HMAC(SaltedPassword, "Server Key").
///
/// Written as Kafka wrote SCRAM credentials in ZooKeeper:
/// `salt=<base64>,stored_key=<base64>,server_key=<base64>,iterations=4096`.
public struct ScramCredential: Sendable, Equatable, CustomStringConvertible {
    public var mechanism: ScramMechanism
    public var salt: [UInt8]
    public var iterations: Int
    public var storedKey: [UInt8]
    public var serverKey: [UInt8]

    /// Kafka's bounds (ScramMechanism.java): clients refuse fewer iterations than 4096.
    public static let iterationRange = 4096...16384

    public init(mechanism: ScramMechanism, salt: [UInt8], iterations: Int, storedKey: [UInt8], serverKey: [UInt8]) {
        self.mechanism = mechanism
        self.salt = salt
        self.iterations = iterations
        self.storedKey = storedKey
        self.serverKey = serverKey
    }

    /// The credential for `password` (a token) with a fresh random salt.
    public static func derive(
        _ mechanism: ScramMechanism, password: String, salt: [UInt8]? = nil, iterations: Int = iterationRange.lowerBound
    ) -> ScramCredential {
        var generator = SystemRandomNumberGenerator()
        let salt = salt ?? (0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let salted = mechanism.salted(Array(password.utf8), salt: salt, iterations: iterations)
        let clientKey = mechanism.hmac(salted, Array("Client Key".utf8))
        return ScramCredential(
            mechanism: mechanism, salt: salt, iterations: iterations, storedKey: mechanism.hash(clientKey),
            serverKey: mechanism.hmac(salted, Array("Server Key".utf8)))
    }

    public var description: String {
        "salt=\(Self.base64(salt)),stored_key=\(Self.base64(storedKey)),server_key=\(Self.base64(serverKey)),iterations=\(iterations)"
    }

    /// Reads the written form; the error says what is wrong.
    public static func parse(_ text: String, mechanism: ScramMechanism) -> Result<ScramCredential, AccessProblem> {
        var fields: [String: String] = [:]
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let equals = part.firstIndex(of: "="), fields[String(part[..<equals])] == nil else {
                return .failure(AccessProblem(message: "\"\(part)\" is not one name=value field", hint: Self.hint))
            }
            fields[String(part[..<equals])] = String(part[part.index(after: equals)...])
        }
        let keyLength = mechanism.hash([]).count
        guard Set(fields.keys) == ["salt", "stored_key", "server_key", "iterations"] else {
            return .failure(AccessProblem(message: "expected the fields salt, stored_key, server_key and iterations", hint: Self.hint))
        }
        guard let salt = bytes(base64: fields["salt"]!), !salt.isEmpty else {
            return .failure(AccessProblem(message: "salt is not base64", hint: Self.hint))
        }
        guard let stored = bytes(base64: fields["stored_key"]!), stored.count == keyLength,
            let server = bytes(base64: fields["server_key"]!), server.count == keyLength
        else {
            return .failure(
                AccessProblem(message: "stored_key and server_key must be \(keyLength) bytes in base64 for \(mechanism.rawValue)", hint: Self.hint))
        }
        guard let iterations = Int(fields["iterations"]!), iterationRange.contains(iterations) else {
            return .failure(
                AccessProblem(
                    message: "iterations must be \(iterationRange.lowerBound)…\(iterationRange.upperBound), as Kafka clients require", hint: nil))
        }
        return .success(ScramCredential(mechanism: mechanism, salt: salt, iterations: iterations, storedKey: stored, serverKey: server))
    }

    private static let hint = "firestream token create prints the entry to paste"

    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
    static func bytes(base64 text: some StringProtocol) -> [UInt8]? { Data(base64Encoded: String(text)).map { Array($0) } }
}
