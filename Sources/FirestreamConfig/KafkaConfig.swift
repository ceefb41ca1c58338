/// The Kafka listener of `firestream up`: where unmodified Kafka clients connect.
public struct KafkaConfig: Sendable, Equatable {
    /// Off: no Kafka listener (the HTTP gateway still runs).
    public var enabled = true
    /// The address to listen on, `host:port`.
    public var listener = KafkaListener(host: "127.0.0.1", port: 9092)
    /// The host clients are told to connect to (Metadata); the listener's host when nil.
    public var advertisedHost: String?
    /// Metadata requests for unknown topics create them, as Kafka's `auto.create.topics.enable`.
    public var autoCreateTopics = true
    /// Partitions of topics created by clients without a count.
    public var defaultPartitions = 1
    /// The cluster `firestream worker` runs the apps on (`--kafka` overrides it): bootstrap
    /// servers, in order.
    public var bootstrap: [KafkaListener] = []
    /// How workers sign in to that cluster.
    public var security = KafkaSecurity()
    /// Workers commit each step in a Kafka transaction; false: at least once.
    public var exactlyOnce = true

    public init() {}
}

/// How Firestream's Kafka clients sign in to a cluster. The password is never in the config:
/// it is read from the environment variable `passwordEnv` names.
public struct KafkaSecurity: Sendable, Equatable {
    public static let protocols = ["PLAINTEXT", "SASL_PLAINTEXT", "SSL", "SASL_SSL"]
    public static let mechanisms = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

    public var `protocol` = "PLAINTEXT"
    public var mechanism: String?
    public var username: String?
    public var passwordEnv: String?

    public init() {}

    public var usesSASL: Bool { `protocol`.hasPrefix("SASL_") }

    /// librdkafka's settings for this, the password read from `environment`; the reason when
    /// the variable is not set.
    public func settings(environment: [String: String]) -> Result<[String: String], KafkaSecurityError> {
        var settings = ["security.protocol": `protocol`]
        guard usesSASL else { return .success(settings) }
        settings["sasl.mechanism"] = mechanism
        settings["sasl.username"] = username
        guard let variable = passwordEnv, let password = environment[variable], !password.isEmpty else {
            return .failure(KafkaSecurityError(description: "kafka.security.passwordEnv: the environment variable \(passwordEnv ?? "?") is not set"))
        }
        settings["sasl.password"] = password
        return .success(settings)
    }
}

public struct KafkaSecurityError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// A `host:port` to listen on.
public struct KafkaListener: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port` (`[v6]:port` for IPv6 literals); nil when it is not one.
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains(where: { $0 == "/" || $0 == " " || !$0.isASCII }) else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
