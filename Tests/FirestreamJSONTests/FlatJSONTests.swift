import FirestreamJSON
import Foundation
import Testing

@Suite struct FlatJSONTests {
    func number(_ text: String) throws -> Double? {
        try FlatJSONObject(parsing: Array("{\"n\":\(text)}".utf8)).number("n")
    }

    @Test func decimalsReadBackExactlyAsTheCorrectlyRoundedParserReadsThem() throws {
        var random = XorShift(state: 42)
        for _ in 0..<20_000 {
            let integer = random.next() % 1_000_000
            let fractionDigits = Int(random.next() % 20) + 1
            var fraction = ""
            for _ in 0..<fractionDigits { fraction.append(Character(UnicodeScalar(UInt8(48 + random.next() % 10)))) }
            let sign = random.next() % 2 == 0 ? "" : "-"
            let text = "\(sign)\(integer).\(fraction)"
            let parsed = try number(text)
            #expect(parsed?.bitPattern == strtod(text, nil).bitPattern, "\(text)")
        }
    }

    @Test func numbersOutsideTheExactPathStillParse() throws {
        for text in ["9007199254740993", "123456789012345678901234", "1e5", "-2.5E-3", "0.1234567890123456789012345", "-0", "0", "17"] {
            #expect(try number(text)?.bitPattern == strtod(text, nil).bitPattern, "\(text)")
        }
        #expect(try number("-0")?.sign == .minus)
    }

    @Test func malformedNumbersAreRefused() {
        for text in ["1.2.3", "--1", "1e", "-", "1-2"] {
            #expect(throws: FlatJSONObject.ParseError.self, "\(text)") { try number(text) }
        }
    }

    @Test func writtenDoublesReadBackIdenticalAndMatchTheirDescription() throws {
        var random = XorShift(state: 7)
        for _ in 0..<20_000 {
            let value = Double(bitPattern: random.next())
            guard value.isFinite else { continue }
            var json = FlatJSONWriter()
            json.field("v", value)
            let bytes = json.finished()
            let text = String(decoding: bytes, as: UTF8.self)
            let read = try FlatJSONObject(parsing: bytes).number("v")
            #expect(read == value, "\(text)")
            if value != value.rounded(.towardZero) || abs(value) >= 1e15 {
                #expect(text == "{\"v\":\(value.description)}")
            }
        }
    }

    @Test func stringsWithAndWithoutEscapesAreReadWhole() throws {
        let object = try FlatJSONObject(parsing: Array(#"{"plain":"abc","quoted":"say \"hi\"\\","k\"ey":"x","empty":""}"#.utf8))
        #expect(object.string("plain") == "abc")
        #expect(object.string("quoted") == "say \"hi\"\\")
        #expect(object.string("k\"ey") == "x")
        #expect(object.string("empty") == "")
    }

    @Test func unterminatedStringsAreRefusedWithTheirPlace() {
        for text in [#"{"a":"abc"#, #"{"a":"ab\"#, #"{"a":"ab\""#, #"{"abc"#] {
            #expect(throws: FlatJSONObject.ParseError.self, "\(text)") { try FlatJSONObject(parsing: Array(text.utf8)) }
        }
    }
}

/// Marsaglia's xorshift64: enough spread for test inputs, repeatable by seed.
struct XorShift {
    var state: UInt64

    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}
