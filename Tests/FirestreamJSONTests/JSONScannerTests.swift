import FirestreamJSON
import Foundation
import Testing

@Suite struct JSONScannerTests {
    func problem(_ text: String) -> String? {
        Array(text.utf8).withUnsafeBytes { raw in
            do throws(JSONSyntaxError) {
                try JSONBytes.validate(raw)
                return nil
            } catch {
                return error.message
            }
        }
    }

    @Test func acceptsWhatRFC8259Allows() {
        for text in [
            "{}", "[]", "0", "-0.5e+10", "1E-2", "\"\"", "true", "false", "null", " {\"a\" : [1, 2.5, \"x\", {\"b\": null}]} ",
            "\"\\u00e9\\ud83d\\ude00 \\n\\t\\\\\\\"\\/\"", "\"héllo 😀\"", "[[[]]]",
        ] {
            #expect(problem(text) == nil, "\(text)")
        }
    }

    @Test func refusesWhatItDoesNotAllowAndSaysWhy() {
        let cases: [(String, String)] = [
            ("", "unexpected end of input: expected a value"),
            ("{\"a\":1,}", "trailing comma before '}'"),
            ("[1,]", "trailing comma before ']'"),
            ("{a:1}", "expected a double-quoted key, found 'a'"),
            ("01", "numbers cannot have leading zeros"),
            ("1.", "expected a digit after the decimal point"),
            ("1e", "expected a digit in the exponent"),
            ("+1", "expected a value (object, array, string, number, true, false or null), found '+'"),
            ("tru", "expected a value, found 't'"),
            ("\"a\nb\"", "control character U+000A inside a string (escape it, e.g. \\n)"),
            ("\"\\x\"", "invalid escape sequence in a string (valid: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)"),
            ("\"\\u12\"", "\\u must be followed by four hex digits"),
            ("\"abc", "unterminated string"),
            ("[1 2]", "expected ',' or ']' after an array item, found '2'"),
            ("{\"a\" 1}", "expected ':' after the key, found '1'"),
            ("1 2", "unexpected '2' after the value"),
        ]
        for (text, message) in cases {
            #expect(problem(text) == message, "\(text)")
        }
    }

    @Test func refusesInvalidUTF8() {
        for bytes: [UInt8] in [
            [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22],
        ] {
            #expect(!JSONBytes.isValid(bytes), "\(bytes)")
        }
        #expect(JSONBytes.isValid(Array("\"€\"".utf8)))
    }

    @Test func nestingIsBoundedAndDeepInputIsRefusedWithoutRecursion() {
        let deepest = String(repeating: "[", count: JSONLimits.maxDepth) + String(repeating: "]", count: JSONLimits.maxDepth)
        #expect(problem(deepest) == nil)
        let tooDeep = String(repeating: "[", count: JSONLimits.maxDepth + 1) + String(repeating: "]", count: JSONLimits.maxDepth + 1)
        #expect(problem(tooDeep) == "nested deeper than \(JSONLimits.maxDepth) levels")
        // What crashed `up` before: 120 KB of '[' (and of '{"a":').
        #expect(problem(String(repeating: "[", count: 120_000)) == "nested deeper than \(JSONLimits.maxDepth) levels")
        #expect(problem(String(repeating: "{\"a\":", count: 30_000)) == "nested deeper than \(JSONLimits.maxDepth) levels")
    }

    @Test func compactsAndSplitsArraysWithoutATree() {
        let text = Array(" [ {\"a\" : \"x y\\\" z\", \"b\" : [ 1 , 2 ] } , 3 ,\"s\" ] ".utf8)
        text.withUnsafeBytes { raw in
            let items = JSONBytes.arrayItems(raw, in: 0..<raw.count)
            #expect(items.count == 3)
            #expect(String(decoding: JSONBytes.compacted(raw, items[0]), as: UTF8.self) == "{\"a\":\"x y\\\" z\",\"b\":[1,2]}")
            #expect(JSONBytes.scalarText(raw, items[1]) == "3")
            #expect(JSONBytes.scalarText(raw, items[2]) == "s")
        }
    }

    @Test func scannerReportsArrayItemsAndWhetherTheyAreCompact() throws {
        let text = Array("[{\"a\":1}, { \"b\": 2 },3]".utf8)
        let items = try text.withUnsafeBytes { raw in
            var scanner = JSONScanner(raw)
            return try Result(catching: { () throws(JSONSyntaxError) in try scanner.scanArrayItems() }).get()
        }
        #expect(items.map(\.compact) == [true, false, true])
        #expect(items.map { String(decoding: text[$0.range], as: UTF8.self) } == ["{\"a\":1}", "{ \"b\": 2 }", "3"])
    }

    @Test func pointersFollowRFC6901() throws {
        let document = Array(
            #"{"device": {"id": "d-1", "n": 7, "ok": true, "none": null}, "list": ["x", "y"], "a/b": 1, "m~n": 2, "esc\u0061ped": "e", "": 0}"#.utf8)
        func key(_ pointer: String) -> String? { JSONPointer(pointer)?.keyText(in: document) }
        #expect(key("/device/id") == "d-1")
        #expect(key("/device/n") == "7")
        #expect(key("/device/ok") == "true")
        #expect(key("/device/none") == nil)
        #expect(key("/device") == nil)
        #expect(key("/list/1") == "y")
        #expect(key("/list/01") == nil)
        #expect(key("/list/2") == nil)
        #expect(key("/a~1b") == "1")
        #expect(key("/m~0n") == "2")
        #expect(key("/escaped") == "e")
        #expect(key("/") == "0")
        #expect(key("/missing/deeper") == nil)
        #expect(JSONPointer("device") == nil)
        let tree = JSONValue.object([("a/b", .array([.bool(true)]))])
        #expect(JSONPointer("/a~1b/0")?.find(in: tree) == .bool(true))
    }

    @Test func stringsDecodeEscapesAndSurrogatePairs() {
        func decode(_ raw: String) -> String? { Array(raw.utf8).withUnsafeBytes { JSONString.decode($0) } }
        #expect(decode(#"caf\u00e9 \ud83d\ude00 \n"#) == "café 😀 \n")
        #expect(decode(#"lone \ud800 surrogate"#) == "lone \u{FFFD} surrogate")
        #expect(decode(#"bad \q"#) == nil)
    }

    /// Seeded random documents: the scanner agrees with Foundation's parser on what is JSON, except
    /// where Foundation is lenient (a trailing comma, which RFC 8259 does not allow) or strict (a
    /// number beyond a Double's range, which the grammar allows and the scanner keeps as written).
    @Test func agreesWithFoundationOnRandomDocuments() throws {
        var state: UInt64 = 0x5EED
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        let pieces = ["{", "}", "[", "]", ",", ":", "\"a\"", "\"\\u00e9\"", "1", "-2.5", "e3", "true", "null", " ", "0", "\"x", "01", "\\"]
        var agreed = 0
        for _ in 0..<20_000 {
            let text = (0..<next(8) + 1).map { _ in pieces[next(pieces.count)] }.joined()
            let ours = JSONBytes.isValid(Array(text.utf8))
            let trailingComma = text.range(of: #",\s*[\]}]"#, options: .regularExpression) != nil
            if text.range(of: #"[eE][+-]?[0-9]{3,}"#, options: .regularExpression) != nil {
                agreed += 1
                continue
            }
            let theirs = !trailingComma && (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil
            #expect(ours == theirs, "\(text): ours \(ours), Foundation \(theirs)")
            if ours == theirs { agreed += 1 }
        }
        #expect(agreed == 20_000)
    }
}
