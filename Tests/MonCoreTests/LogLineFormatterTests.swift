import Foundation
import Logging
import Testing

@testable import MonCore

@Suite struct LogLineFormatterTests {
    static let time: Int64 = 1_764_952_800_120  // 2025-12-05T16:40:00.120Z

    @Test(
        "journal lines start with the sd-daemon priority of their level",
        arguments: [
            (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
        ])
    func priorities(level: Logger.Level, priority: Int) {
        for format in LogFormat.allCases {
            let line = LogLineFormatter(format: format, journal: true).line(
                level: level, label: "monquery", message: "m", metadata: [:], timeMs: Self.time)
            #expect(line.hasPrefix("<\(priority)>"), "\(line)")
            #expect(!line.contains("2025-"), "the journal stamps lines itself: \(line)")
        }
    }

    @Test func logfmtWithATimestampOffTheJournal() {
        let line = LogLineFormatter(format: .logfmt, journal: false).line(
            level: .error, label: "monagent", message: "cannot open the spool",
            metadata: ["error": "EACCES", "agent_id": "web-1"], timeMs: Self.time)
        #expect(
            line
                == "time=2025-12-05T16:40:00.120Z level=error label=monagent msg=\"cannot open the spool\" agent_id=web-1 error=EACCES\n"
        )
    }

    @Test func logfmtUnderTheJournal() {
        let line = LogLineFormatter(format: .logfmt, journal: true).line(
            level: .error, label: "monquery", message: "store failed", metadata: ["host": "web-1"], timeMs: Self.time)
        #expect(line == "<3>level=error label=monquery msg=\"store failed\" host=web-1\n")
    }

    @Test(
        "logfmt values are quoted when they must be, and escaped",
        arguments: [
            ("plain", "plain"), ("", "\"\""), ("a b", "\"a b\""), ("k=v", "\"k=v\""),
            ("say \"hi\"", "\"say \\\"hi\\\"\""),
            ("C:\\dir", "\"C:\\\\dir\""), ("two\nlines", "\"two\\nlines\""), ("tab\there", "\"tab\\there\""),
            ("bell\u{7}", "\"bell\\u0007\""), ("udp 127.0.0.1:8125", "\"udp 127.0.0.1:8125\""), ("é/ü:1", "é/ü:1"),
        ])
    func logfmtValues(value: String, expected: String) {
        var out = ""
        LogLineFormatter.appendLogfmtValue(value, to: &out)
        #expect(out == expected)
    }

    @Test(
        "logfmt keys are sanitised", arguments: [("agent_id", "agent_id"), ("a b", "a_b"), ("k=\"", "k__"), ("", "_")])
    func logfmtKeys(key: String, expected: String) {
        var out = ""
        LogLineFormatter.appendLogfmtKey(key, to: &out)
        #expect(out == expected)
    }

    @Test func aMessageNeverSpansTwoLines() {
        for format in LogFormat.allCases {
            let line = LogLineFormatter(format: format, journal: false).line(
                level: .warning, label: "l", message: "one\ntwo\r\nthree", metadata: ["k": "x\ny"], timeMs: Self.time)
            #expect(line.filter { $0 == "\n" || $0 == "\r\n" }.count == 1, "\(line)")
            #expect(line.hasSuffix("\n"))
        }
    }

    @Test func jsonIsOneObjectPerLine() throws {
        let line = LogLineFormatter(format: .json, journal: false).line(
            level: .notice, label: "monquery.alerts", message: "rule \"cpu\" fired",
            metadata: ["host": "web-1", "values": ["1", "2"], "nested": ["k": "v"]], timeMs: Self.time)
        #expect(
            line
                == #"{"time":"2025-12-05T16:40:00.120Z","level":"notice","label":"monquery.alerts","message":"rule \"cpu\" fired","metadata":{"host":"web-1","nested":{"k":"v"},"values":["1","2"]}}"#
                + "\n")
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        #expect(object?["level"] as? String == "notice")
    }

    @Test func jsonUnderTheJournalHasNoTime() {
        let line = LogLineFormatter(format: .json, journal: true).line(
            level: .error, label: "monagent", message: "m", metadata: [:], timeMs: Self.time)
        #expect(line == #"<3>{"level":"error","label":"monagent","message":"m"}"# + "\n")
    }

    @Test func everyLineOfAFailureKeepsThePriority() {
        #expect(
            LogLineFormatter.journalLines("Error: cannot connect\n\tIs the server running?", priority: 3)
                == "<3>Error: cannot connect\n<3>\tIs the server running?\n")
    }

    @Test func timestampsAlwaysHaveThreeFractionDigits() {
        #expect(LogLineFormatter.rfc3339(ms: 1_764_952_800_000) == "2025-12-05T16:40:00.000Z")
        #expect(LogLineFormatter.rfc3339(ms: 1_764_952_800_007) == "2025-12-05T16:40:00.007Z")
    }
}
