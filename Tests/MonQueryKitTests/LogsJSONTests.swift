import Foundation
import MonTestSupport
import Testing

@testable import MonCore
@testable import MonQueryKit

/// The JSON the daemon hands to `jsonb_to_recordset` for a batch's log records, written
/// straight to bytes: the same text the records as a `JSONValue` encode to.
@Suite struct LogsJSONTests {
    static let records = [
        LogRecord(
            timestampMs: 1_795_939_200_123, level: .error, service: "api", event: "request \"finished\"\n\tnext",
            logger: "mnemolite.api", traceID: "r-1", fields: #"{"path":"/v1/x","status_code":500}"#,
            source: "/var/log/app.log@1:2", offset: 4096),
        LogRecord(
            timestampMs: 1, level: .info, service: "s\u{0}vc", event: "caf\u{E9} \u{1F600} back\\slash \u{1}\u{1F}",
            logger: nil, traceID: nil, fields: "not json", source: "", offset: 0),
        LogRecord(
            timestampMs: 2, level: .debug, service: "", event: "", logger: "l\u{0}", traceID: "",
            fields: #"{"a":"\u0000"}"#, source: "x", offset: Int64(1) << 40),
        LogRecord(
            timestampMs: 3, level: .warning, service: "s", event: "e", fields: #"{"nested":{"a":[1,2.5,"\u00e9"]}}"#,
            source: "y", offset: 7),
    ]

    /// How the daemon built it before: a `JSONValue` per record, encoded.
    static func reference(_ logs: [LogRecord]) -> String {
        func clean(_ text: String) -> String {
            text.utf8.contains(0) ? text.replacingOccurrences(of: "\u{0}", with: "") : text
        }
        return JSONValue.array(
            logs.map { log in
                .object([
                    ("ts", .number(Double(log.timestampMs))), ("service", .string(clean(log.service))),
                    ("level", .number(Double(log.level.rawValue))), ("event", .string(clean(log.event))),
                    ("logger", log.logger.map { .string(clean($0)) } ?? .null),
                    ("trace_id", log.traceID.map { .string(clean($0)) } ?? .null),
                    ("fields", .string(IngestWriter.isJSONObject(log.fields) ? log.fields : "{}")),
                    ("source", .string(clean(log.source))), ("offset", .number(Double(log.offset))),
                ])
            }
        ).encoded()
    }

    @Test func logsJSONIsTheRecordsAsJSONValues() throws {
        #expect(IngestWriter.logsJSON(Self.records) == Self.reference(Self.records))
        #expect(IngestWriter.logsJSON([]) == "[]")
        // And it is JSON that reads back to the records' values.
        let parsed = try JSONParser.parse(IngestWriter.logsJSON(Self.records))
        guard case .array(let rows) = parsed else {
            Issue.record("not an array")
            return
        }
        #expect(rows.count == 4)
        #expect(rows[0]["event"] == .string("request \"finished\"\n\tnext"))
        #expect(rows[1]["service"] == .string("svc"))
        #expect(rows[1]["fields"] == .string("{}"))
        #expect(rows[2]["fields"] == .string("{}"))
        #expect(rows[3]["fields"] == .string(Self.records[3].fields))
    }

    /// Deeper than MonCore's parser goes (64): Foundation decides.
    static let nested70 = String(repeating: #"{"a":"#, count: 70) + "1" + String(repeating: "}", count: 70)

    @Test(
        "objects without escapes are decided by MonCore's parser as Foundation decides them",
        arguments: [
            #"{}"#, #"{"a":1}"#, #"{"a":[1,2,{"b":null}],"c":true}"#, #" {"a":1}"#, #"{"a":1} "#, #"{"a":1"#,
            #"{"a":01}"#, #"{"a":1e999}"#, #"{"a":NaN}"#, #"{a:1}"#, #"{"a":1,}"#, #"[1]"#, #""x""#,
            "{\"a\":\"\u{1}\"}",
            #"{"a":"é"}"#, #"{"a":1}{"b":2}"#, #"{"a":-0.5E+3}"#, Self.nested70,
        ])
    func isJSONObjectAgreesWithFoundation(_ text: String) {
        let foundation =
            text.first == "{"
            && ((try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]))
                is [String: Any])
        #expect(IngestWriter.isJSONObject(text) == foundation)
    }

    /// The byte-level check says yes exactly when MonCore's parser gives an object, for texts
    /// without a backslash (it leaves those to the general check): the listed ones and 20 000
    /// random texts over JSON's characters (seeded).
    @Test("JSONObjectCheck agrees with JSONParser on objects without escapes")
    func byteCheckAgreesWithTheParser() {
        func parsed(_ text: String) -> Bool {
            guard !text.contains("\\"), case .object? = try? JSONParser.parse(text) else { return false }
            return true
        }
        var texts = [
            #"{}"#, #"{"a":1}"#, #"{"a":[1,2,{"b":null}],"c":true}"#, #"{"a":1} "#, #"{"a":1"#, #"{"a":01}"#,
            #"{"a":1e999}"#, #"{"a":-1e308}"#, #"{"a":1.}"#, #"{"a":-}"#, #"{"a":tru}"#, #"{"a":[}"#, #"{"a":[1,]}"#,
            "{\"a\":\"\u{1}\"}", #"{"a":"é"}"#, #"{"a":1}{"b":2}"#, #"{"a":-0.5E+3}"#, #"{"a":"\n"}"#,
            Self.nested70, String(repeating: #"{"a":"#, count: 63) + "1" + String(repeating: "}", count: 63),
            "{\"a\":" + String(repeating: "9", count: 320) + "}",
            "{\"a\":" + String(repeating: "9", count: 320) + ".5}",
        ]
        var random = SeededGenerator(state: 22)
        let alphabet = Array(#"{}[]:,"abe01-.+Etrufalsn "#)
        for _ in 0..<20_000 {
            let count = Int.random(in: 1...24, using: &random)
            texts.append("{" + String((0..<count).map { _ in alphabet.randomElement(using: &random)! }))
        }
        var disagreements: [String] = []
        for text in texts where JSONObjectCheck.isObject(text) != parsed(text) { disagreements.append(text) }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
    }
}
