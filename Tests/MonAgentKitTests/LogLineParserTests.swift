import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

@Suite struct LogLineParserTests {
    static let readMs: Int64 = 1_700_000_000_000
    /// 2026-11-29T08:00:00Z.
    static let eightOClock: Int64 = 1_795_939_200_000

    static func parse(_ text: String, config: LogsConfig = LogsConfig()) throws -> ParsedLogLine {
        try parse(Array(text.utf8), config: config)
    }

    static func parse(_ bytes: [UInt8], config: LogsConfig = LogsConfig()) throws -> ParsedLogLine {
        try LogLineParser(config: config).parse(bytes, source: "/var/log/app.log@1:2", offset: 4096, readMs: readMs)
    }

    static func fields(_ parsed: ParsedLogLine) throws -> [(String, JSONValue)] {
        guard case .object(let pairs) = try JSONParser.parse(parsed.record.fields) else {
            Issue.record("fields are not an object: \(parsed.record.fields)")
            return []
        }
        return pairs
    }

    static let structlogLine =
        #"{"event":"search done","level":"info","timestamp":"2026-11-29T08:00:00.123456Z","logger":"api","#
        + #""request_id":"r-1","path":"/v1/search/7","method":"GET","status_code":200,"duration_ms":12.5,"#
        + #""user":"bob"}"#

    // MARK: Structured lines

    @Test func structlogLineBecomesARecordAndARequest() throws {
        let parsed = try Self.parse(Self.structlogLine)
        #expect(parsed.structured)
        #expect(!parsed.invalidUTF8)
        #expect(parsed.redactions == 0)
        let record = parsed.record
        #expect(record.event == "search done")
        #expect(record.level == .info)
        #expect(record.timestampMs == Self.eightOClock + 123)
        #expect(record.logger == "api")
        #expect(record.traceID == "r-1")
        #expect(record.service == "mnemolite")
        #expect(record.source == "/var/log/app.log@1:2")
        #expect(record.offset == 4096)
        let fields = try Self.fields(parsed)
        #expect(fields.map(\.0) == ["path", "method", "status_code", "duration_ms", "user"])
        #expect(fields.first { $0.0 == "user" }?.1 == "bob")
        #expect(fields.first { $0.0 == "path" }?.1 == "/v1/search/7")
        #expect(!record.fields.contains("search done"))
        #expect(!record.fields.contains("\"level\""))
        let request = try #require(parsed.request)
        #expect(request.endpoint == "/v1/search/7")
        #expect(request.method == "GET")
        #expect(request.status == "200")
        #expect(abs(request.seconds - 0.0125) < 1e-12)
    }

    @Test func alternativeKeysAndConfiguredService() throws {
        var config = LogsConfig()
        config.service = "worker"
        let parsed = try Self.parse(
            #"{"msg":"hello","levelname":"WARNING","time":1795939200,"name":"celery","trace_id":"t-9","n":1}"#,
            config: config)
        #expect(parsed.record.event == "hello")
        #expect(parsed.record.level == .warning)
        #expect(parsed.record.timestampMs == Self.eightOClock)
        #expect(parsed.record.logger == "celery")
        #expect(parsed.record.traceID == "t-9")
        #expect(parsed.record.service == "worker")
        #expect(try Self.fields(parsed).map(\.0) == ["n"])
        let withService = try Self.parse(#"{"event":"x","service":"billing"}"#, config: config)
        #expect(withService.record.service == "billing")
        #expect(withService.request == nil)
    }

    @Test func nonStringEventIsKeptAsJSONAndMissingEventIsEmpty() throws {
        #expect(try Self.parse(#"{"event":{"a":1}}"#).record.event == #"{"a":1}"#)
        let noEvent = try Self.parse(#"{"user":"bob"}"#)
        #expect(noEvent.structured)
        #expect(noEvent.record.event == "")
        #expect(noEvent.record.level == .info)
        #expect(noEvent.record.timestampMs == Self.readMs)
        #expect(noEvent.record.logger == nil)
        #expect(noEvent.record.traceID == nil)
    }

    // MARK: Redaction

    @Test func secretsAreMaskedEverywhereAndCounted() throws {
        let line =
            #"{"event":"login password=hunter2","password":"hunter2","db":{"password":"hunter2","host":"db1"},"#
            + #""Authorization":"Bearer hunter2","note":"sent token=hunter2 ok","list":["Bearer hunter2"],"#
            + #""X-Api-Key":"hunter2","user":"bob"}"#
        let parsed = try Self.parse(line)
        #expect(parsed.structured)
        let record = parsed.record
        for text in [record.event, record.fields, record.logger ?? "", record.traceID ?? "", record.service] {
            #expect(!text.contains("hunter2"), "\(text)")
        }
        #expect(record.event == "login \(Redactor.mask)")
        let fields = try Self.fields(parsed)
        #expect(fields.first { $0.0 == "password" }?.1 == .string(Redactor.mask))
        #expect(fields.first { $0.0 == "Authorization" }?.1 == .string(Redactor.mask))
        #expect(fields.first { $0.0 == "X-Api-Key" }?.1 == .string(Redactor.mask))
        #expect(fields.first { $0.0 == "db" }?.1 == .object([("password", .string(Redactor.mask)), ("host", "db1")]))
        #expect(fields.first { $0.0 == "user" }?.1 == "bob")
        // event, password, db.password, Authorization, note, list[0], X-Api-Key.
        #expect(parsed.redactions == 7)
    }

    @Test
    func patternsAreAppliedToEveryStringValue() throws {
        let parsed = try Self.parse(
            #"{"event":"e","logger":"db password=hunter2","request_id":"token=hunter2","service":"s pwd=hunter2"}"#)
        let record = parsed.record
        for text in [record.logger ?? "", record.traceID ?? "", record.service] {
            #expect(!text.contains("hunter2"), "\(text)")
        }
    }

    @Test func nullSecretsAreNotCounted() throws {
        let parsed = try Self.parse(#"{"event":"x","token":null,"password":""}"#)
        #expect(parsed.redactions == 1)
        #expect(try Self.fields(parsed).first { $0.0 == "token" }?.1 == .null)
    }

    @Test(arguments: [
        ("login password=hunter2 from 10.0.0.1", "login [REDACTED] from 10.0.0.1"),
        ("GET /x Authorization: Bearer hunter2.abc", "GET /x Authorization: [REDACTED]"),
        ("connect postgres://app:hunter2@db:5432/x", "connect postgres[REDACTED]db:5432/x"),
        ("url ?api_key=hunter2&page=2", "url ?[REDACTED]&page=2"),
    ])
    func plainLinesAreMaskedByPattern(_ line: String, _ expected: String) throws {
        let parsed = try Self.parse(line)
        #expect(!parsed.structured)
        #expect(parsed.record.event == expected)
        #expect(parsed.redactions == 1)
    }

    @Test func redactorMatchesKeyNamesCaseAndDashInsensitively() throws {
        let redactor = try Redactor(keys: ["api_key", "Secret"], patterns: [])
        #expect(redactor.isSecretKey("X-API-KEY"))
        #expect(redactor.isSecretKey("client_secret"))
        #expect(!redactor.isSecretKey("apikey"))
        #expect(!redactor.isSecretKey("user"))
        var count = 0
        #expect(redactor.redact("nothing to hide", count: &count) == "nothing to hide")
        #expect(count == 0)
        #expect(throws: (any Error).self) { try Redactor(keys: [], patterns: ["("]) }
    }

    // MARK: Plain lines

    @Test func uvicornAccessLineIsKeptWhole() throws {
        let line = #"INFO:     127.0.0.1:5000 - "GET / HTTP/1.1" 200"#
        let parsed = try Self.parse(line)
        #expect(!parsed.structured)
        #expect(parsed.record.level == .info)
        #expect(parsed.record.event == line)
        #expect(parsed.record.timestampMs == Self.readMs)
        #expect(parsed.record.fields == "{}")
        #expect(parsed.record.service == "mnemolite")
        #expect(parsed.request == nil)
    }

    @Test(arguments: [
        ("ERROR something", LogLevel.error),
        ("[WARNING] disk almost full", .warning),
        ("2026-11-29 08:00:00,123 CRITICAL boom", .critical),
        ("DEBUG: cache miss", .debug),
        ("WARN low memory", .warning),
        ("just some text", .info),
        ("Error lower-case words are not levels", .info),
        ("[", .info),
        ("{not json", .info),
        (#"["an","array"]"#, .info),
    ])
    func plainLineLevels(_ line: String, _ level: LogLevel) throws {
        let parsed = try Self.parse(line)
        #expect(!parsed.structured)
        #expect(parsed.record.level == level)
        #expect(parsed.record.event == line)
    }

    @Test func invalidUTF8IsFlaggedAndKeptLossily() throws {
        let parsed = try Self.parse(Array(#"{"event":"caf"#.utf8) + [0xE9] + Array(#""}"#.utf8))
        #expect(parsed.invalidUTF8)
        #expect(!parsed.structured)
        #expect(parsed.record.event.contains("\u{FFFD}"))
        let plain = try Self.parse([0x41, 0xFF, 0xFE, 0x42])
        #expect(plain.invalidUTF8)
        #expect(plain.record.event == "A\u{FFFD}\u{FFFD}B")
        #expect(try !Self.parse("ok").invalidUTF8)
    }

    @Test func nulBytesAreRemoved() throws {
        let structured = try Self.parse(Array(#"{"event":"a"#.utf8) + [0] + Array(#"b","k":"v"}"#.utf8))
        #expect(structured.structured)
        #expect(structured.record.event == "ab")
        let plain = try Self.parse([0x61, 0, 0x62, 0, 0])
        #expect(plain.record.event == "ab")
        #expect(!plain.record.event.utf8.contains(0))
    }

    // MARK: Timestamps and levels

    @Test(arguments: [
        (#"1795939200"#, eightOClock),
        (#"1795939200.5"#, eightOClock + 500),
        (#"1795939200123"#, eightOClock + 123),
        (#""1795939200""#, eightOClock),
        (#""2026-11-29T08:00:00.123456Z""#, eightOClock + 123),
        (#""2026-11-29T10:00:00+02:00""#, eightOClock),
        (#""2026-11-29T10:00:00+0200""#, eightOClock),
        (#""2026-11-29T03:30:00-04:30""#, eightOClock),
        (#""2026-11-29T08:00:00""#, eightOClock),
        (#""2026-11-29 08:00:00.250""#, eightOClock + 250),
        (#""2026-11-29T08:00:00,5z""#, eightOClock + 500),
        (#""2026-11-29T08:00Z""#, eightOClock),
    ])
    func timestamps(_ json: String, _ expected: Int64) throws {
        #expect(try Self.parse(#"{"event":"e","timestamp":\#(json)}"#).record.timestampMs == expected, "\(json)")
    }

    @Test(arguments: [
        #""yesterday""#, #""2026-13-01T00:00:00Z""#, #""2026-11-29T25:00:00Z""#, #""2026-11-29""#,
        #""2026-11-29T08:00:00Zjunk""#, #""2026-11-29T08:00:00.Z""#, #""2026-11-29T08:00:00 UTC""#, "-5", "0",
        "1e20", "true", "[1]", #""""#, #""nan""#,
    ])
    func badTimestampsFallBackToTheReadTime(_ json: String) throws {
        #expect(try Self.parse(#"{"event":"e","timestamp":\#(json)}"#).record.timestampMs == Self.readMs, "\(json)")
    }

    @Test func iso8601ParsesDatesAroundTheEpochAndLeapDays() {
        #expect(ISO8601.parseMs("1970-01-01T00:00:00Z") == 0)
        #expect(ISO8601.parseMs("1969-12-31T23:59:00Z") == -60_000)
        #expect(ISO8601.parseMs("2000-02-29T23:59:59Z") == 951_868_799_000)
        #expect(ISO8601.parseMs("2026-11-29t08:00:00.1Z") == Self.eightOClock + 100)
        #expect(ISO8601.parseMs("2026-11-29T08:00:00.123456789Z") == Self.eightOClock + 123)
        #expect(ISO8601.parseMs("") == nil)
        #expect(ISO8601.parseMs("2026-11-29T08:00:00+") == nil)
        #expect(ISO8601.parseMs("26-11-29T08:00:00Z") == nil)
    }

    @Test(arguments: [
        ("WARN", LogLevel.warning), ("warning", .warning), ("CRITICAL", .critical), ("fatal", .critical),
        ("err", .error), ("Error", .error), ("debug", .debug), ("trace", .debug), ("notice", .info),
        ("bogus", .info), ("", .info),
    ])
    func structuredLevels(_ text: String, _ level: LogLevel) throws {
        #expect(try Self.parse(#"{"event":"e","level":"\#(text)"}"#).record.level == level)
    }

    @Test func nonStringLevelIsInfo() throws {
        #expect(try Self.parse(#"{"event":"e","level":40}"#).record.level == .info)
    }

    // MARK: Requests

    @Test func requestObservationsNeedPathStatusAndDuration() throws {
        #expect(try Self.parse(#"{"event":"e","path":"/x","status_code":200}"#).request == nil)
        #expect(try Self.parse(#"{"event":"e","path":"/x","duration_ms":3}"#).request == nil)
        #expect(try Self.parse(#"{"event":"e","path":"x","status":200,"duration_ms":3}"#).request == nil)
        #expect(try Self.parse(#"{"event":"e","path":"/x","status":200,"duration_ms":-3}"#).request == nil)
        #expect(try Self.parse(#"{"event":"e","path":"/x","status":200,"duration_ms":"abc"}"#).request == nil)
        let noMethod = try Self.parse(#"{"event":"e","route":"https://h/x","status":"404","elapsed_ms":"7"}"#)
        #expect(
            noMethod.request == RequestObservation(endpoint: "https://h/x", method: "", status: "404", seconds: 0.007))
    }

    @Test func durationUnitsFollowTheKeyThenTheConfiguration() throws {
        let plain = try Self.parse(#"{"event":"e","path":"/x","status":200,"duration":250}"#)
        #expect(plain.request?.seconds == 0.25)
        var config = LogsConfig()
        config.request.durationUnitSeconds = true
        let seconds = try Self.parse(#"{"event":"e","path":"/x","status":200,"duration":2}"#, config: config)
        #expect(seconds.request?.seconds == 2)
        let milliseconds = try Self.parse(#"{"event":"e","path":"/x","status":200,"duration_ms":2}"#, config: config)
        #expect(milliseconds.request?.seconds == 0.002)
        config.request.durationKeys = ["took_seconds", "took_s"]
        let suffixed = try Self.parse(#"{"event":"e","path":"/x","status":200,"took_s":1.5}"#, config: config)
        #expect(suffixed.request?.seconds == 1.5)
    }

    // MARK: Robustness

    @Test func randomCorruptionsOfAJSONLineNeverCrash() throws {
        let parser = try LogLineParser(config: LogsConfig())
        var structured = 0
        var plain = 0
        for bytes in Corruptions.of(
            Array(Self.structlogLine.utf8), count: 5_000, seed: 2026,
            alphabet: Array(#"{}[]:,"\ u0Z+-.eT"#.utf8) + [0x00, 0x0A, 0x1F, 0x80, 0xC3, 0xFF])
        {
            let parsed = parser.parse(bytes, source: "s", offset: 1, readMs: Self.readMs)
            if parsed.structured {
                structured += 1
                #expect(throws: Never.self) { try JSONParser.parse(parsed.record.fields) }
            } else {
                plain += 1
            }
            #expect(!parsed.record.event.utf8.contains(0))
            #expect(parsed.record.offset == 1)
        }
        #expect(structured > 0)
        #expect(plain > 0)
    }
}
