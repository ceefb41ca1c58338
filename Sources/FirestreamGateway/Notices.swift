import Foundation

// The gateway's JSON that is not records — listings, session answers, subscription and gap
// notices, errors — encoded with Codable. Records keep their hand-rendered form (`RecordJSON`),
// which is the measured hot path.

/// `value` as compact JSON text, keys sorted (the same answer always reads the same).
func jsonText(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    // Every notice is plain structs of strings, numbers and booleans: encoding cannot fail.
    return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
}

/// `GET /topics`.
struct TopicListing: Encodable {
    struct Item: Encodable {
        var name: String
        var partitions: Int
        var records: Int64
    }

    var topics: [Item]
}

/// `GET /topics/{t}`.
struct TopicDescription: Encodable {
    struct Partition: Encodable {
        var partition: Int
        /// The first offset still stored, and the offset the next record gets.
        var start: Int64
        var end: Int64
        /// Milliseconds since 1970 of the newest record; null when the partition is empty.
        var lastTimestamp: Int64?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(partition, forKey: .partition)
            try container.encode(start, forKey: .start)
            try container.encode(end, forKey: .end)
            try container.encode(lastTimestamp, forKey: .lastTimestamp)  // null, not left out
        }

        enum CodingKeys: String, CodingKey { case partition, start, end, lastTimestamp }
    }

    var name: String
    var records: Int64
    var partitions: [Partition]
}

/// `GET /session`, `POST /login`, `POST /logout`.
struct SessionAnswer: Encodable {
    /// Whether the gateway needs a token (only in `GET /session`).
    var required: Bool?
    var authenticated: Bool
    /// Who is signed in; null when nobody is.
    var name: String?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(required, forKey: .required)
        try container.encode(authenticated, forKey: .authenticated)
        if authenticated || required != nil { try container.encode(name, forKey: .name) }
    }

    private enum CodingKeys: String, CodingKey {
        case required, authenticated, name
    }
}

/// The first frame of a subscription: where each partition starts.
struct SubscribedNotice: Encodable {
    struct Start: Encodable {
        var partition: Int
        var from: Int64
    }

    struct Body: Encodable {
        var topic: String
        var partitions: [Start]
    }

    var subscribed: Body
}

/// Records `from..<to` of a partition will not be sent (the client fell behind, or retention
/// removed them).
struct GapNotice: Encodable {
    struct Body: Encodable {
        var topic: String
        var partition: Int
        var from: Int64
        var to: Int64
        var skipped: Int64
    }

    var gap: Body

    init(topic: String, partition: Int, from: Int64, to: Int64) {
        gap = Body(topic: topic, partition: partition, from: from, to: to, skipped: to - from)
    }
}

/// Every refusal: `{"status": 404, "error": "…"}`.
struct ErrorAnswer: Encodable {
    var status: Int
    var error: String
}
