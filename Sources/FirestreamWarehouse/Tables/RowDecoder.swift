import FirestreamJSON
public import KafkaWire

/// Turns a record's JSON value into a row of a table, or says why it cannot: not JSON, a value
/// that does not fit its column's type, a key column without a value.
public enum RowDecoder {
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    /// The declared columns' values, in the definition's order.
    public static func row(_ record: ConsumerRecord, for table: TableDefinition) -> Result<[SQLValue], Problem> {
        guard let value = record.value else { return .failure(Problem(description: "the record has no value")) }
        return value.withUnsafeBytes { bytes -> Result<[SQLValue], Problem> in
            guard JSONBytes.isValid(bytes) else { return .failure(Problem(description: "the value is not JSON")) }
            var row: [SQLValue] = []
            row.reserveCapacity(table.columns.count)
            for column in table.columns {
                let found = column.pointer.find(in: bytes, 0..<bytes.count)
                switch convert(bytes, found, to: column.type) {
                case .success(let converted):
                    if converted == .null, table.key.contains(column.name) {
                        return .failure(Problem(description: "the key column \(column.name) has no value at \(pointerText(column.pointer))"))
                    }
                    row.append(converted)
                case .failure(let problem):
                    return .failure(
                        Problem(description: "column \(column.name) (\(column.type.rawValue)) at \(pointerText(column.pointer)): \(problem)"))
                }
            }
            return .success(row)
        }
    }

    private static func pointerText(_ pointer: JSONPointer) -> String { pointer.description.isEmpty ? "the whole value" : pointer.description }

    /// A JSON value as a column's type; absent and JSON null become NULL.
    static func convert(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>?, to type: ColumnType) -> Result<SQLValue, Problem> {
        guard let range, let first = range.first.map({ bytes[$0] }), first != UInt8(ascii: "n") else { return .success(.null) }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[range])
        let isNumber = first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first)
        switch type {
        case .json:
            return text(String(decoding: JSONBytes.compacted(bytes, range), as: UTF8.self))
        case .text:
            if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
                return text(String(decoding: JSONBytes.compacted(bytes, range), as: UTF8.self))
            }
            guard let decoded = JSONBytes.scalarText(bytes, range) else { return .failure(Problem(description: "a malformed string")) }
            return text(decoded)
        case .integer:
            guard isNumber else { return .failure(Problem(description: "\(describe(first)) is not an integer")) }
            let text = String(decoding: raw, as: UTF8.self)
            if let number = Int64(text) { return .success(.integer(number)) }
            guard let number = Double(text), number.rounded() == number, abs(number) < 9.2e18 else {
                return .failure(Problem(description: "\(text) is not an integer that fits 64 bits"))
            }
            return .success(.integer(Int64(number)))
        case .real:
            guard isNumber, let number = Double(String(decoding: raw, as: UTF8.self)), number.isFinite else {
                return .failure(Problem(description: "\(describe(first)) is not a number"))
            }
            return .success(.real(number))
        case .boolean:
            switch first {
            case UInt8(ascii: "t"): return .success(.integer(1))
            case UInt8(ascii: "f"): return .success(.integer(0))
            default: return .failure(Problem(description: "\(describe(first)) is not true or false"))
            }
        }
    }

    typealias ColumnType = TableDefinition.ColumnType

    /// Text, unless it holds NUL, which PostgreSQL's text cannot (refused for every engine alike).
    private static func text(_ text: String) -> Result<SQLValue, Problem> {
        guard !text.utf8.contains(0) else { return .failure(Problem(description: "the text holds a NUL character (\\u0000)")) }
        return .success(.text(text))
    }

    private static func describe(_ first: UInt8) -> String {
        switch first {
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        default: return "a number"
        }
    }
}
