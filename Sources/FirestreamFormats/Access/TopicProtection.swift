/// Which topics no client may write or delete, and why: Firestream's internal topics (`__…`),
/// and those its apps own (outputs, dead letters), named by the stack that runs them. The HTTP
/// gateway and the Kafka broker refuse the same topics with the same words.
public struct TopicProtection: Sendable, Equatable {
    /// Topics owned by Firestream, with the reason ("the output of app \"wiener\"").
    public var owned: [String: String]

    public init(owned: [String: String] = [:]) {
        self.owned = owned
    }

    /// Why a client may not write `topic`; nil when it may.
    public func writeRefusal(_ topic: String) -> String? {
        if let reason = owned[topic] { return "topic \"\(topic)\" is \(reason): only Firestream writes it" }
        if Self.isInternal(topic) { return "topic \"\(topic)\" is internal: only Firestream writes it" }
        return nil
    }

    /// Firestream's own topics (journals, offsets) start with two underscores, as Kafka's do.
    public static func isInternal(_ topic: String) -> Bool { topic.hasPrefix("__") }
}
