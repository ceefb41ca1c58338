import FirestreamFormats
import FirestreamJSON
import Testing

@testable import FirestreamGateway

@Suite struct IngestBodyTests {
    func values(_ body: String, _ framing: IngestBody.Framing, key: String? = nil) throws -> [String] {
        try IngestBody.parse(body, framing: framing, key: key).map { String(decoding: $0.value, as: UTF8.self) }
    }

    func keys(_ body: String, pointer: String) throws -> [String?] {
        try IngestBody.parse(body, framing: .json, keyPointer: JSONPointer(pointer)).map { $0.key.map { String(decoding: $0, as: UTF8.self) } }
    }

    @Test func oneObjectAnArrayOrNDJSON() throws {
        #expect(try values(#"{"a": 1, "b": [true, null]}"#, .json) == [#"{"a":1,"b":[true,null]}"#])
        #expect(try values(#"[{"a":1}, 2, "x y"]"#, .json) == [#"{"a":1}"#, "2", #""x y""#])
        #expect(try IngestBody.parse(#"[{"a":1}, 2]"#, framing: .json, key: "k").map(\.key) == [Array("k".utf8), Array("k".utf8)])
        #expect(try values("{\"n\":1}\r\n\n  \n{\"n\" : 2}\n", .ndjson) == [#"{"n":1}"#, #"{"n":2}"#])
        #expect(try values("{\"n\":1}", .ndjson) == [#"{"n":1}"#])
        // Strings keep their bytes and escapes exactly as sent.
        #expect(try values(#"{"s": " a\tb \u00e9 \" "}"#, .json) == [#"{"s":" a\tb \u00e9 \" "}"#])
    }

    @Test func malformedBodiesNameThePlaceAndNothingIsAccepted() {
        #expect(throws: IngestBody.Refusal(status: 400, message: "malformed JSON at line 1, column 8: trailing comma before '}'")) {
            try IngestBody.parse(#"{"a":1,}"#, framing: .json)
        }
        #expect(throws: IngestBody.Refusal(status: 400, message: "malformed JSON at line 3, column 10: expected a double-quoted key, found 'o'")) {
            try IngestBody.parse("{\"n\":1}\n{\"n\":2}\n{\"n\": 3, oops}\n", framing: .ndjson)
        }
        #expect(
            throws: IngestBody.Refusal(
                status: 400,
                message: "malformed JSON at line 1, column 9: expected the end of the line after the value, found '{' (NDJSON: one value per line)")
        ) {
            try IngestBody.parse("{\"n\":1} {\"n\":2}", framing: .ndjson)
        }
        #expect(
            throws: IngestBody.Refusal(
                status: 400, message: "malformed JSON at line 1, column 6: the value continues on the next line (NDJSON: one value per line)")
        ) {
            try IngestBody.parse("{\"n\":\n1}", framing: .ndjson)
        }
        #expect(throws: IngestBody.Refusal(status: 400, message: "the body is an empty array: nothing to append")) {
            try IngestBody.parse("[]", framing: .json)
        }
        #expect(throws: IngestBody.Refusal(status: 400, message: "the body is empty: send one JSON value or an array")) {
            try IngestBody.parse("  ", framing: .json)
        }
        #expect(throws: IngestBody.Refusal(status: 400, message: "the body has no records (NDJSON: one JSON value per line)")) {
            try IngestBody.parse("\n\n", framing: .ndjson)
        }
        #expect(throws: IngestBody.Refusal(status: 400, message: "malformed JSON at line 1, column 10: unexpected ']' after the value")) {
            try IngestBody.parse("[1, 2, 3]]", framing: .json)
        }
    }

    /// What used to crash `up` (unbounded recursion in the config parser) is a 400 now.
    @Test func deepNestingIsRefused() throws {
        let body = String(repeating: "[", count: 120_000)
        #expect(throws: IngestBody.Refusal(status: 400, message: "malformed JSON at line 1, column 129: nested deeper than 128 levels")) {
            try IngestBody.parse(body, framing: .json)
        }
        #expect(throws: IngestBody.Refusal.self) { try IngestBody.parse(body, framing: .ndjson) }
        // A body nests at most 128 levels; in an array body the array itself is one of them.
        let deepest = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        #expect(try values(deepest, .ndjson).count == 1)
        #expect(try values(deepest, .json).count == 1)
        #expect(throws: IngestBody.Refusal.self) { try IngestBody.parse("[" + deepest + "]", framing: .json) }
    }

    @Test func invalidUTF8IsRefused() {
        #expect(throws: IngestBody.Refusal(status: 400, message: "malformed JSON at line 1, column 7: invalid UTF-8")) {
            try IngestBody.parse([UInt8]("{\"s\":\"".utf8) + [0xC3, 0x28] + [UInt8]("\"}".utf8), framing: .json)
        }
    }

    @Test func keysFromAJSONPointer() throws {
        #expect(
            try keys(#"[{"device": {"id": "d-1"}}, {"device": {"id": 7}}, {"device": {"id": "caf\u00e9"}}]"#, pointer: "/device/id") == [
                "d-1", "7", "café",
            ])
        #expect(throws: IngestBody.Refusal(status: 400, message: "item 1: no value at the key pointer /device/id")) {
            try IngestBody.parse(#"[{"device": {"id": "d-1"}}, {"other": 1}]"#, framing: .json, keyPointer: JSONPointer("/device/id"))
        }
        #expect(throws: IngestBody.Refusal(status: 400, message: "line 2: no value at the key pointer /id")) {
            try IngestBody.parse("{\"id\":1}\n{\"id\":null}", framing: .ndjson, keyPointer: JSONPointer("/id"))
        }
    }

    @Test func contentTypes() throws {
        #expect(try IngestBody.Framing(contentType: "application/json; charset=utf-8") == .json)
        #expect(try IngestBody.Framing(contentType: "Application/X-NDJSON") == .ndjson)
        #expect(
            throws: IngestBody.Refusal(status: 415, message: "unsupported Content-Type \"text/plain\"; send application/json or application/x-ndjson")
        ) {
            try IngestBody.Framing(contentType: "text/plain")
        }
        #expect(throws: IngestBody.Refusal.self) { try IngestBody.Framing(contentType: nil) }
    }
}
