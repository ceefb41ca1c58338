public import KafkaWire

/// The framed protocol between the runtime and `python -m firestream.worker` (version 1; the
/// Python side is `firestream/_engine.py`, docs/python.md describes both). A frame is a u32
/// length (the type byte included), a u8 type and a payload; integers are big-endian.
enum PythonProtocol {
    static let version = 1
    /// A frame larger than this is refused (a worker that writes garbage, not a big step).
    static let maxFrame = 1 << 30

    enum Kind: UInt8 {
        case keys = 0x4B  // K
        case keysDone = 0x6B  // k
        case process = 0x50  // P
        case processDone = 0x70  // p
        case timeouts = 0x54  // T
        case timeoutsDone = 0x74  // t
        case hello = 0x48  // H
        case failed = 0x45  // E
    }

    /// What the worker says of one record's key.
    enum KeyAnswer: Equatable, Sendable {
        case key(String)
        case none
        case undecodable(String)
    }

    /// One record's (or timeout's) results.
    enum Result: Equatable, Sendable {
        case failed(String)
        case done(state: StateChange, timeout: Int64?, outputs: [(key: String?, value: [UInt8])])

        static func == (a: Result, b: Result) -> Bool {
            switch (a, b) {
            case (.failed(let x), .failed(let y)): x == y
            case (.done(let s1, let t1, let o1), .done(let s2, let t2, let o2)):
                s1 == s2 && t1 == t2 && o1.map(\.key) == o2.map(\.key) && o1.map(\.value) == o2.map(\.value)
            default: false
            }
        }
    }

    enum StateChange: Equatable, Sendable {
        case unchanged
        case set(String)
        case cleared
    }

    /// The problem with a frame the worker sent.
    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    /// A whole frame: length, type, payload.
    static func frame(_ kind: Kind, _ payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(payload.count + 5)
        append(UInt32(payload.count + 1), to: &bytes)
        bytes.append(kind.rawValue)
        bytes.append(contentsOf: payload)
        return bytes
    }

    /// A frame's header (5 bytes): its type and the length of its payload, refused beyond
    /// ``maxFrame``.
    static func header(_ bytes: [UInt8]) throws -> (kind: UInt8, payloadLength: Int) {
        var reader = Reader(bytes)
        let length = Int(try reader.u32())
        guard (1...maxFrame).contains(length) else { throw Malformed(description: "a frame of \(length) bytes") }
        return (try reader.byte(), length - 1)
    }

    /// What the worker's hello says of itself.
    struct Hello: Decodable {
        var `protocol`: Int
    }

    // Runtime → worker.

    static func records(_ records: [[ConsumerRecord]]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4 + records.reduce(0) { $0 + $1.count * 64 })
        append(UInt32(records.reduce(0) { $0 + $1.count }), to: &bytes)
        for (topic, batch) in records.enumerated() {
            for record in batch {
                bytes.append(UInt8(truncatingIfNeeded: topic))
                append(UInt64(bitPattern: record.timestamp), to: &bytes)
                appendOptional(record.key, to: &bytes)
                appendOptional(record.value, to: &bytes)
            }
        }
        return bytes
    }

    static func states(now: Int64, _ states: [(key: String, json: String?)]) -> [UInt8] {
        var bytes: [UInt8] = []
        append(UInt64(bitPattern: now), to: &bytes)
        append(UInt32(states.count), to: &bytes)
        for (key, json) in states {
            append(UInt32(key.utf8.count), to: &bytes)
            bytes.append(contentsOf: key.utf8)
            appendOptional(json.map { Array($0.utf8) }, to: &bytes)
        }
        return bytes
    }

    private static func append(_ value: UInt32, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    private static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    private static func appendOptional(_ data: [UInt8]?, to bytes: inout [UInt8]) {
        guard let data else {
            append(UInt32.max, to: &bytes)  // -1 as i32
            return
        }
        append(UInt32(data.count), to: &bytes)
        bytes.append(contentsOf: data)
    }

    // Worker → runtime.

    static func keys(_ payload: [UInt8], expected: Int) throws -> [KeyAnswer] {
        var reader = Reader(payload)
        let count = try reader.count(expected: expected)
        var answers: [KeyAnswer] = []
        answers.reserveCapacity(count)
        for _ in 0..<count {
            switch try reader.byte() {
            case 0: answers.append(.key(try reader.text()))
            case 1: answers.append(.none)
            case 2: answers.append(.undecodable(try reader.text()))
            case let tag: throw Malformed(description: "unknown key tag \(tag)")
            }
        }
        try reader.finish()
        return answers
    }

    static func results(_ payload: [UInt8], expected: Int) throws -> [Result] {
        var reader = Reader(payload)
        let count = try reader.count(expected: expected)
        var results: [Result] = []
        results.reserveCapacity(count)
        for _ in 0..<count {
            switch try reader.byte() {
            case 1: results.append(.failed(try reader.text()))
            case 0:
                let state: StateChange
                switch try reader.byte() {
                case 0: state = .unchanged
                case 1: state = .set(try reader.text())
                case 2: state = .cleared
                case let flag: throw Malformed(description: "unknown state flag \(flag)")
                }
                let timeout = Int64(bitPattern: try reader.u64())
                let outputCount = Int(try reader.u32())
                var outputs: [(key: String?, value: [UInt8])] = []
                outputs.reserveCapacity(min(outputCount, 1024))
                for _ in 0..<outputCount {
                    let key = try reader.optionalBytes().map { String(decoding: $0, as: UTF8.self) }
                    outputs.append((key, try reader.bytes()))
                }
                results.append(.done(state: state, timeout: timeout < 0 ? nil : timeout, outputs: outputs))
            case let tag: throw Malformed(description: "unknown result tag \(tag)")
            }
        }
        try reader.finish()
        return results
    }

    /// Reads a payload front to back; every length is checked against what is left.
    struct Reader {
        let data: [UInt8]
        var position = 0

        init(_ data: [UInt8]) { self.data = data }

        mutating func byte() throws -> UInt8 {
            guard position < data.count else { throw Malformed(description: "the frame ends early") }
            defer { position += 1 }
            return data[position]
        }

        mutating func u32() throws -> UInt32 {
            guard data.count - position >= 4 else { throw Malformed(description: "the frame ends early") }
            defer { position += 4 }
            return data[position..<position + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }

        mutating func u64() throws -> UInt64 {
            guard data.count - position >= 8 else { throw Malformed(description: "the frame ends early") }
            defer { position += 8 }
            return data[position..<position + 8].reduce(0) { $0 << 8 | UInt64($1) }
        }

        mutating func bytes() throws -> [UInt8] {
            let length = Int(try u32())
            guard data.count - position >= length else { throw Malformed(description: "a length of \(length) runs past the frame") }
            defer { position += length }
            return Array(data[position..<position + length])
        }

        mutating func optionalBytes() throws -> [UInt8]? {
            let length = Int32(bitPattern: try u32())
            guard length >= 0 else { return nil }
            position -= 4
            return try bytes()
        }

        mutating func text() throws -> String { String(decoding: try bytes(), as: UTF8.self) }

        mutating func count(expected: Int) throws -> Int {
            let count = Int(try u32())
            guard count == expected else { throw Malformed(description: "\(count) answers for \(expected) questions") }
            return count
        }

        func finish() throws {
            guard position == data.count else { throw Malformed(description: "\(data.count - position) bytes left over") }
        }
    }
}
