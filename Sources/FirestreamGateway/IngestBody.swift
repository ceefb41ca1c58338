import Foundation
import FirestreamConfig
import FirestreamJSON
import KafkaWire

/// Turns an ingest request body into records, or explains exactly why it cannot: a sans-io
/// parser for `POST /topics/{topic}` (one JSON value, a JSON array of values, or NDJSON).
public enum IngestBody {
    /// One record to append: its value as compact JSON and its key, if any.
    public struct Record: Equatable, Sendable {
        public var key: String?
        public var value: String

        /// The record to append, stamped with `timestamp`.
        public func producerRecord(timestamp: Int64) -> ProducerRecord {
            ProducerRecord(key: key.map { Array($0.utf8) }, value: Array(value.utf8), timestamp: timestamp)
        }
    }

    /// Why a body was refused, with the HTTP status to answer.
    public struct Refusal: Error, Equatable, Sendable {
        public var status: Int
        public var message: String
    }

    /// How the body is framed, from its Content-Type.
    public enum Framing: Equatable, Sendable {
        /// `application/json`: one value, or an array whose items are the records.
        case json
        /// `application/x-ndjson` (or `application/jsonl`): one value per line.
        case ndjson

        public init(contentType: String?) throws(Refusal) {
            let media = (contentType ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            switch media {
            case "application/json", "text/json": self = .json
            case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines": self = .ndjson
            case "":
                throw Refusal(status: 415, message: "missing Content-Type; send application/json or application/x-ndjson")
            default:
                throw Refusal(status: 415, message: "unsupported Content-Type \"\(media)\"; send application/json or application/x-ndjson")
            }
        }
    }

    /// Parses `body`; every record gets `key`, or the value at `keyPointer` (an RFC 6901 JSON
    /// pointer such as `/device_id`) when given. Nothing is returned unless everything parsed.
    public static func parse(_ body: String, framing: Framing, key: String? = nil, keyPointer: String? = nil) throws(Refusal) -> [Record] {
        var values: [(JSONValue, String)] = []  // value, where it was (for messages)
        switch framing {
        case .json:
            let value = try parseOne(body, place: "body")
            if case .array(let items) = value {
                guard !items.isEmpty else { throw Refusal(status: 400, message: "the body is an empty array: nothing to append") }
                values = items.enumerated().map { ($1, "item \($0)") }
            } else {
                values = [(value, "body")]
            }
        case .ndjson:
            for (index, line) in body.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let text = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
                if text.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                values.append((try parseOne(text, place: "line \(index + 1)"), "line \(index + 1)"))
            }
            guard !values.isEmpty else { throw Refusal(status: 400, message: "the body has no records (NDJSON: one JSON value per line)") }
        }
        return try values.map { value, place throws(Refusal) in
            var recordKey = key
            if let keyPointer {
                guard let found = resolve(keyPointer, in: value) else {
                    throw Refusal(status: 400, message: "\(place): no value at the key pointer \(keyPointer)")
                }
                recordKey = found
            }
            return Record(key: recordKey, value: JSONText.compact(value))
        }
    }

    private static func parseOne(_ text: String, place: String) throws(Refusal) -> JSONValue {
        let result = JSONParser.parse(text)
        if let problem = result.diagnostics.first {
            let at = problem.location.map { " at \($0)" } ?? ""
            throw Refusal(status: 400, message: "malformed JSON in \(place)\(at): \(problem.message)")
        }
        guard let root = result.root else { throw Refusal(status: 400, message: "malformed JSON in \(place)") }
        return JSONValue(root)
    }

    /// The value at an RFC 6901 pointer, as key text: strings as they are, numbers and booleans
    /// as written. Nil when the path does not exist or leads to an object, array or null.
    public static func resolve(_ pointer: String, in value: JSONValue) -> String? {
        switch node(at: pointer, in: value) {
        case .string(let text): return text
        case .number(let text): return text
        case .bool(let flag): return flag ? "true" : "false"
        default: return nil
        }
    }

    /// The value at an RFC 6901 pointer; nil when the path does not exist.
    public static func node(at pointer: String, in value: JSONValue) -> JSONValue? {
        guard pointer.hasPrefix("/") else { return nil }
        var current = value
        for token in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let name = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            switch current {
            case .object(let members):
                guard let next = members.first(where: { $0.0 == name })?.1 else { return nil }
                current = next
            case .array(let items):
                guard let index = Int(name), items.indices.contains(index) else { return nil }
                current = items[index]
            default:
                return nil
            }
        }
        return current
    }
}
