import Testing

@testable import FirestreamGateway

@Suite struct IngestBodyTests {
    @Test func oneObjectAnArrayOrNDJSON() throws {
        #expect(try IngestBody.parse(#"{"a": 1, "b": [true, null]}"#, framing: .json) == [.init(key: nil, value: #"{"a":1,"b":[true,null]}"#)])
        #expect(try IngestBody.parse(#"[{"a":1}, 2, "x"]"#, framing: .json, key: "k").map(\.value) == [#"{"a":1}"#, "2", #""x""#])
        #expect(try IngestBody.parse(#"[{"a":1}, 2]"#, framing: .json, key: "k").map(\.key) == ["k", "k"])
        let lines = "{\"n\":1}\r\n\n{\"n\":2}\n"
        #expect(try IngestBody.parse(lines, framing: .ndjson).map(\.value) == [#"{"n":1}"#, #"{"n":2}"#])
    }

    @Test func malformedBodiesNameThePlaceAndNothingIsAccepted() {
        #expect(throws: IngestBody.Refusal(status: 400, message: "malformed JSON in body at 1:7: trailing comma before '}' is not allowed in JSON")) {
            try IngestBody.parse(#"{"a":1,}"#, framing: .json)
        }
        #expect(throws: IngestBody.Refusal(status: 400, message: "malformed JSON in line 3 at 1:10: object keys must be double-quoted strings")) {
            try IngestBody.parse("{\"n\":1}\n{\"n\":2}\n{\"n\": 3, oops}\n", framing: .ndjson)
        }
        #expect(throws: IngestBody.Refusal(status: 400, message: "the body is an empty array: nothing to append")) {
            try IngestBody.parse("[]", framing: .json)
        }
        #expect(throws: IngestBody.Refusal(status: 400, message: "the body has no records (NDJSON: one JSON value per line)")) {
            try IngestBody.parse("\n\n", framing: .ndjson)
        }
    }

    @Test func keysFromAJSONPointer() throws {
        let records = try IngestBody.parse(
            #"[{"device": {"id": "d-1"}}, {"device": {"id": 7}}]"#, framing: .json, keyPointer: "/device/id")
        #expect(records.map(\.key) == ["d-1", "7"])
        #expect(IngestBody.resolve("/a~1b", in: .object([("a/b", .bool(true))])) == "true")
        #expect(IngestBody.resolve("/list/1", in: .object([("list", .array([.string("x"), .string("y")]))])) == "y")
        #expect(throws: IngestBody.Refusal(status: 400, message: "item 1: no value at the key pointer /device/id")) {
            try IngestBody.parse(#"[{"device": {"id": "d-1"}}, {"other": 1}]"#, framing: .json, keyPointer: "/device/id")
        }
    }

    @Test func contentTypes() throws {
        #expect(try IngestBody.Framing(contentType: "application/json; charset=utf-8") == .json)
        #expect(try IngestBody.Framing(contentType: "Application/X-NDJSON") == .ndjson)
        #expect(throws: IngestBody.Refusal(status: 415, message: "unsupported Content-Type \"text/plain\"; send application/json or application/x-ndjson")) {
            try IngestBody.Framing(contentType: "text/plain")
        }
        #expect(throws: IngestBody.Refusal.self) { try IngestBody.Framing(contentType: nil) }
    }
}
