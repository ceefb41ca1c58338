public import FirestreamJSON
import Foundation
public import KafkaWire

/// Turns an ingest request body into records, or explains exactly why it cannot: a sans-io
/// parser for `POST /topics/{topic}` (one JSON value, a JSON array of values, or NDJSON).
///
/// It reads bytes with the bounded ``JSONScanner`` (nesting limit, strict grammar, UTF-8 checked),
/// builds no tree, and stores each value as written minus the whitespace between tokens.
public enum IngestBody {
    /// One record to append: its value (compact JSON) and its key, if any.
    public struct Record: Equatable, Sendable {
        public var key: [UInt8]?
        public var value: [UInt8]

        public init(key: [UInt8]?, value: [UInt8]) {
            self.key = key
            self.value = value
        }

        /// The record to append, stamped with `timestamp`.
        public func producerRecord(timestamp: Int64) -> ProducerRecord {
            ProducerRecord(key: key, value: value, timestamp: timestamp)
        }
    }

    /// Why a body was refused, with the HTTP status to answer.
    public struct Refusal: Error, Equatable, Sendable {
        public var status: Int
        public var message: String

        public init(status: Int, message: String) {
            self.status = status
            self.message = message
        }
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

    /// Parses `body`; every record gets `key`, or the value at `keyPointer` when given. Nothing is
    /// returned unless everything parsed.
    public static func parse(_ body: UnsafeRawBufferPointer, framing: Framing, key: String? = nil, keyPointer: JSONPointer? = nil) throws(Refusal)
        -> [Record]
    {
        let fixedKey = key.map { Array($0.utf8) }
        var records: [Record] = []
        func add(_ range: Range<Int>, compact: Bool, place: () -> String) throws(Refusal) {
            let value = compact ? Array(UnsafeRawBufferPointer(rebasing: body[range])) : JSONBytes.compacted(body, range)
            var recordKey = fixedKey
            if let keyPointer {
                guard let text = value.withUnsafeBytes({ keyPointer.keyText(in: $0, 0..<$0.count) }) else {
                    throw Refusal(status: 400, message: "\(place()): no value at the key pointer \(keyPointer)")
                }
                recordKey = Array(text.utf8)
            }
            records.append(Record(key: recordKey, value: value))
        }
        var scanner = JSONScanner(body)
        do {
            switch framing {
            case .json:
                scanner.skipWhitespace()
                guard !scanner.atEnd else { throw Refusal(status: 400, message: "the body is empty: send one JSON value or an array") }
                if body[scanner.index] == UInt8(ascii: "[") {
                    // An array: its items are the records.
                    for (number, item) in try scanner.scanArrayItems().enumerated() {
                        try add(item.range, compact: item.compact) { "item \(number)" }
                    }
                    guard !records.isEmpty else { throw Refusal(status: 400, message: "the body is an empty array: nothing to append") }
                } else {
                    let start = scanner.index
                    try scanner.scanValue()
                    try add(start..<scanner.index, compact: !scanner.sawWhitespace) { "the body" }
                }
                scanner.skipWhitespace()
                guard scanner.atEnd else { throw scanner.failure("unexpected \(scanner.describeHere()) after the value") }
            case .ndjson:
                var line = 1
                while !scanner.atEnd {
                    // Leading blanks of a line (a blank line is skipped; '\r\n' endings are fine).
                    while !scanner.atEnd, body[scanner.index] == 0x20 || body[scanner.index] == 0x09 || body[scanner.index] == 0x0D {
                        scanner.index += 1
                    }
                    if scanner.atEnd { break }
                    if body[scanner.index] == 0x0A {
                        scanner.index += 1
                        line += 1
                        continue
                    }
                    let start = scanner.index
                    try scanner.scanValue()
                    let end = scanner.index
                    if scanner.sawWhitespace, let newline = body[start..<end].firstIndex(of: 0x0A) {
                        throw JSONSyntaxError(offset: newline, message: "the value continues on the next line (NDJSON: one value per line)")
                    }
                    while !scanner.atEnd, body[scanner.index] == 0x20 || body[scanner.index] == 0x09 || body[scanner.index] == 0x0D {
                        scanner.index += 1
                    }
                    guard scanner.atEnd || body[scanner.index] == 0x0A else {
                        throw scanner.failure(
                            "expected the end of the line after the value, found \(scanner.describeHere()) (NDJSON: one value per line)")
                    }
                    let number = line
                    try add(start..<end, compact: !scanner.sawWhitespace) { "line \(number)" }
                    if !scanner.atEnd {
                        scanner.index += 1
                        line += 1
                    }
                }
                guard !records.isEmpty else { throw Refusal(status: 400, message: "the body has no records (NDJSON: one JSON value per line)") }
            }
        } catch let error as JSONSyntaxError {
            let (line, column) = JSONSyntaxError.lineAndColumn(of: error.offset, in: body)
            throw Refusal(status: 400, message: "malformed JSON at line \(line), column \(column): \(error.message)")
        } catch let refusal as Refusal {
            throw refusal
        } catch {
            throw Refusal(status: 400, message: "\(error)")
        }
        return records
    }

    /// Parses a body held in an array.
    public static func parse(_ body: [UInt8], framing: Framing, key: String? = nil, keyPointer: JSONPointer? = nil) throws(Refusal) -> [Record] {
        let result = body.withUnsafeBytes { raw in
            Result(catching: { () throws(Refusal) in try parse(raw, framing: framing, key: key, keyPointer: keyPointer) })
        }
        return try result.get()
    }

    /// Parses a body held in a string (WebSocket text messages, tests).
    public static func parse(_ body: String, framing: Framing, key: String? = nil, keyPointer: JSONPointer? = nil) throws(Refusal) -> [Record] {
        try parse(Array(body.utf8), framing: framing, key: key, keyPointer: keyPointer)
    }
}
