import MonTestSupport
import Testing

@testable import MonCore

@Suite struct JSONParserTests {
    static func nested(_ depth: Int) -> String {
        String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
    }

    // MARK: Valid documents

    @Test func nestedDocument() throws {
        let text = #" { "a" : [1, 2, {"b": null}], "c": {"d": true, "e": false, "f": []}, "g": {} } "#
        let expected: JSONValue = .object([
            ("a", [1, 2, .object([("b", .null)])]),
            ("c", .object([("d", true), ("e", false), ("f", [])])),
            ("g", .object([])),
        ])
        #expect(try JSONParser.parse(text) == expected)
        #expect(try JSONParser.parse(Array(text.utf8)) == expected)
    }

    @Test func objectKeysKeepDocumentOrderAndDuplicates() throws {
        let value = try JSONParser.parse(#"{"z":1,"a":2,"m":3,"a":4}"#)
        guard case .object(let pairs) = value else {
            Issue.record("not an object: \(value)")
            return
        }
        #expect(pairs.map(\.0) == ["z", "a", "m", "a"])
        #expect(value["m"] == 3)
        #expect(value.encoded() == #"{"z":1,"a":2,"m":3,"a":4}"#)
    }

    @Test(arguments: [
        (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{8}\u{C}\n\r\t"),
        (#""plain""#, "plain"),
        (#""""#, ""),
        (#""\u00e9\u00E9""#, "éé"),
        (#""\u0000""#, "\u{0}"),
        (#""\uD83D\uDE00""#, "😀"),
        (#""a\ud83d\ude00b""#, "a😀b"),
        (#""raw é 😀 中""#, "raw é 😀 中"),
        (#""mixed é then \n escape""#, "mixed é then \n escape"),
        (#""\uD800""#, "\u{FFFD}"),
        (#""\uDC00""#, "\u{FFFD}"),
        (#""\uD800x""#, "\u{FFFD}x"),
        (#""x\uDE00\uD83D""#, "x\u{FFFD}\u{FFFD}"),
    ])
    func strings(_ text: String, _ expected: String) throws {
        #expect(try JSONParser.parse(text) == .string(expected))
    }

    @Test
    func loneHighSurrogateBeforeAnotherEscapeKeepsTheOtherCharacter() throws {
        #expect(try JSONParser.parse(#""\uD800\u0041""#) == .string("\u{FFFD}A"))
        #expect(try JSONParser.parse(#""\uD83D\uD83D\uDE00""#) == .string("\u{FFFD}😀"))
    }

    @Test(arguments: [
        ("0", 0.0),
        ("-0", -0.0),
        ("42", 42),
        ("-17", -17),
        ("1.5", 1.5),
        ("-2.5e-3", -0.0025),
        ("1E+2", 100),
        ("1e2", 100),
        ("6.02E23", 6.02e23),
        ("0.000001", 1e-6),
        ("12345678901234567890", 1.234_567_890_123_456_789e19),
        ("1e-400", 0),
    ])
    func numbers(_ text: String, _ expected: Double) throws {
        #expect(try JSONParser.parse(text) == .number(expected))
        #expect(try JSONParser.parse("[\(text)]") == [.number(expected)])
    }

    @Test func literalsAndWhitespace() throws {
        #expect(try JSONParser.parse("true") == true)
        #expect(try JSONParser.parse(" \t\r\nfalse\n") == false)
        #expect(try JSONParser.parse("null") == .null)
        #expect(try JSONParser.parse("[ ]") == [])
        #expect(try JSONParser.parse("[true,false,null]") == [true, false, .null])
    }

    @Test func nestingUpToTheLimitIsAccepted() throws {
        var value = try JSONParser.parse(Self.nested(JSONParser.maxDepth))
        var depth = 0
        while case .array(let values) = value, let first = values.first {
            value = first
            depth += 1
        }
        #expect(depth == JSONParser.maxDepth - 1)
        let objects =
            String(repeating: #"{"a":"#, count: JSONParser.maxDepth - 1) + "1"
            + String(repeating: "}", count: JSONParser.maxDepth - 1)
        #expect(throws: Never.self) { try JSONParser.parse(objects) }
    }

    // MARK: Invalid documents

    static let invalid: [NamedInput] = [
        NamedInput("empty", ""),
        NamedInput("only whitespace", " \n "),
        NamedInput("trailing comma in object", #"{"a":1,}"#),
        NamedInput("trailing comma in array", "[1,2,]"),
        NamedInput("leading comma", "[,1]"),
        NamedInput("single-quoted string", "'a'"),
        NamedInput("single-quoted key", "{'a':1}"),
        NamedInput("unquoted key", "{a:1}"),
        NamedInput("missing colon", #"{"a" 1}"#),
        NamedInput("missing value", #"{"a":}"#),
        NamedInput("missing comma", "[1 2]"),
        NamedInput("two documents", "1 2"),
        NamedInput("leading zero", "01"),
        NamedInput("negative leading zero", "-01"),
        NamedInput("double zero", "00"),
        NamedInput("plus sign", "+1"),
        NamedInput("bare fraction", ".5"),
        NamedInput("dot without digits", "1."),
        NamedInput("exponent without digits", "1e"),
        NamedInput("exponent sign without digits", "1e+"),
        NamedInput("lone minus", "-"),
        NamedInput("NaN", "NaN"),
        NamedInput("Infinity", "Infinity"),
        NamedInput("hex number", "0x10"),
        NamedInput("truncated true", "tru"),
        NamedInput("capitalized True", "True"),
        NamedInput("truncated null", "[nul"),
        NamedInput("unterminated string", #""abc"#),
        NamedInput("unterminated string after escape", #""abc\n"#),
        NamedInput("unterminated escape", #""abc\"#),
        NamedInput("unterminated object", #"{"a":1"#),
        NamedInput("unterminated array", "[1,"),
        NamedInput("raw newline in string", "\"a\nb\""),
        NamedInput("raw tab in string", "\"a\tb\""),
        NamedInput("control character in string", "\"a\u{1}b\""),
        NamedInput("control character after an escape", "\"\\n\u{1F}\""),
        NamedInput("unknown escape", #""\x41""#),
        NamedInput("bad hex in \\u", #""\u12G4""#),
        NamedInput("truncated \\u", #""\u12""#),
        NamedInput("invalid UTF-8 byte in string", bytes: [0x22, 0x61, 0xFF, 0x22]),
        NamedInput("lone continuation byte in string", bytes: [0x22, 0x80, 0x22]),
        NamedInput("overlong encoding in string", bytes: [0x22, 0xC0, 0xAF, 0x22]),
        NamedInput("truncated sequence in escaped string", bytes: [0x22, 0x5C, 0x6E, 0xE2, 0x82, 0x22]),
        NamedInput("encoded surrogate in string", bytes: [0x22, 0xED, 0xA0, 0x80, 0x22]),
        NamedInput("invalid UTF-8 outside strings", bytes: [0xFF]),
        NamedInput("byte order mark", bytes: [0xEF, 0xBB, 0xBF, 0x31]),
        NamedInput("comment", "[1] // one"),
        NamedInput("nested one deeper than the limit", nested(JSONParser.maxDepth + 1)),
        NamedInput("objects nested deeper than the limit", String(repeating: #"{"a":"#, count: 65) + "1"),
        NamedInput("very deep nesting", String(repeating: "[", count: 100_000)),
    ]

    @Test(arguments: invalid)
    func invalidDocumentsThrow(_ input: NamedInput) {
        let error = #expect(throws: JSONParser.Error.self, "\(input.name)") { try JSONParser.parse(input.bytes) }
        #expect((0...input.bytes.count).contains(error?.offset ?? -1), "\(error?.description ?? "")")
        #expect(error?.description.hasPrefix("invalid JSON at byte ") == true)
    }

    @Test func errorsNameTheReasonAndOffset() {
        let leadingZero = #expect(throws: JSONParser.Error.self) { try JSONParser.parse("01") }
        #expect(leadingZero == JSONParser.Error(offset: 1, reason: "trailing characters"))
        let deep = #expect(throws: JSONParser.Error.self) { try JSONParser.parse(Self.nested(65)) }
        #expect(deep?.reason.contains("deeper than 64") == true)
        #expect(deep?.offset == 64)
        let control = #expect(throws: JSONParser.Error.self) { try JSONParser.parse("\"ab\u{1}\"") }
        #expect(control == JSONParser.Error(offset: 3, reason: "control character in string"))
        let utf8 = #expect(throws: JSONParser.Error.self) { try JSONParser.parse([0x22, 0xFF, 0x22]) }
        #expect(utf8?.reason.contains("UTF-8") == true)
    }

    @Test
    func numbersOutOfRangeAreRefused() {
        for text in ["1e400", "-1e400", "[1e999]"] {
            #expect(throws: JSONParser.Error.self, "\(text)") { try JSONParser.parse(text) }
        }
    }

    // MARK: Robustness

    @Test func randomCorruptionsNeverCrash() {
        let document =
            #"{"event":"search done","level":"info","n":[1,-2.5e3,0,true,false,null],"s":"\u00e9\n\"q\"","#
            + #""o":{"k":{"k2":[{"x":"é😀"}]}},"t":"2026-11-29T08:00:00Z"}"#
        var parsed = 0
        var refused = 0
        for bytes in Corruptions.of(
            Array(document.utf8), count: 10_000, seed: 64,
            alphabet: Array(#"{}[]:,"\ u0123456789eE.+-tfn"#.utf8) + [0x00, 0x1F, 0x80, 0xC3, 0xED, 0xFF])
        {
            do {
                let value = try JSONParser.parse(bytes)
                // Whatever parses re-encodes to valid JSON.
                #expect(throws: Never.self) { try JSONParser.parse(value.encoded()) }
                parsed += 1
            } catch {
                refused += 1
            }
        }
        #expect(parsed > 0)
        #expect(refused > 0)
    }
}
