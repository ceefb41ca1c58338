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

    public init() {}
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
