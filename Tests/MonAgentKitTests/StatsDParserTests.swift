import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

@Suite struct StatsDParserTests {
    static func parse(_ bytes: [UInt8]) throws -> StatsDLine? {
        try bytes.withUnsafeBytes { try StatsDParser.parse($0) }
    }

    static func parse(_ text: String) throws -> StatsDLine? {
        try parse(Array(text.utf8))
    }

    static func lines(_ text: String) -> [String] {
        Array(text.utf8).withUnsafeBytes { buffer in
            StatsDParser.lines(buffer).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    static func line(
        _ name: String, _ kind: StatsDLine.Kind, _ values: [Double], setMember: String? = nil, delta: Bool = false,
        rate: Double = 1, tags: [(String, String)] = []
    ) -> StatsDLine {
        StatsDLine(
            name: name, kind: kind, values: values, setMember: setMember, gaugeDelta: delta, sampleRate: rate,
            tags: tags.map { (name: $0.0, value: $0.1) })
    }

    // MARK: Types

    @Test(arguments: [
        ("requests:1|c", line("requests", .counter, [1])),
        ("temperature:21.5|g", line("temperature", .gauge, [21.5])),
        ("api.latency:250|ms", line("api.latency", .timer, [250])),
        ("payload_size:1024|h", line("payload_size", .histogram, [1024])),
        ("db.rows:-2.5e3|d", line("db.rows", .distribution, [-2500])),
        ("users.online:alice|s", line("users.online", .set, [], setMember: "alice")),
        ("weird-name_1.x/y:0|c", line("weird-name_1.x/y", .counter, [0])),
    ])
    func everyTypeParses(_ text: String, _ expected: StatsDLine) throws {
        #expect(try Self.parse(text) == expected)
    }

    @Test func sampleRateIsRead() throws {
        let line = try #require(try Self.parse("hits:1|c|@0.1"))
        #expect(line.sampleRate == 0.1)
        #expect(line.values == [1])
        #expect(try Self.parse("hits:1|c|@1")?.sampleRate == 1)
        #expect(try Self.parse("hits:1|c")?.sampleRate == 1)
    }

    @Test func dogStatsDTagsAreReadInOrder() throws {
        let line = try #require(try Self.parse("http.request:12|ms|#endpoint:/v1/x,method:GET,flag"))
        #expect(line.tags.map(\.name) == ["endpoint", "method", "flag"])
        #expect(line.tags.map(\.value) == ["/v1/x", "GET", ""])
    }

    @Test func aTagValueMayHoldColonsAndEmptyTagsAreSkipped() throws {
        let line = try #require(try Self.parse("x:1|c|#url:http://a:8080/p,,env:"))
        #expect(line.tags.map(\.name) == ["url", "env"])
        #expect(line.tags.map(\.value) == ["http://a:8080/p", ""])
    }

    @Test func multipleValuesInOneLine() throws {
        #expect(try Self.parse("a:1:2:3|ms") == Self.line("a", .timer, [1, 2, 3]))
        #expect(try Self.parse("a:1:2.5|c|@0.5")?.values == [1, 2.5])
    }

    @Test func signedGaugesAreDeltas() throws {
        #expect(try Self.parse("queue:+3|g") == Self.line("queue", .gauge, [3], delta: true))
        #expect(try Self.parse("queue:-3|g") == Self.line("queue", .gauge, [-3], delta: true))
        #expect(try Self.parse("queue:3|g")?.gaugeDelta == false)
        // Only gauges have deltas; a signed counter is an ordinary (negative) value.
        #expect(try Self.parse("jobs:-3|c") == Self.line("jobs", .counter, [-3]))
    }

    @Test(arguments: ["_e{5,4}:title|text", "_e{5,4}:title|text|#a:b", "_sc|db.check|0", "_sc|x|2|#a:b|m:down"])
    func eventsAndServiceChecksAreIgnored(_ text: String) throws {
        #expect(try Self.parse(text) == nil)
    }

    @Test func timestampContainerAndExternalDataSectionsAreAccepted() throws {
        let expected = Self.line("x", .counter, [2], rate: 0.5, tags: [("a", "b")])
        #expect(try Self.parse("x:2|c|T1795927345") == Self.line("x", .counter, [2]))
        #expect(try Self.parse("x:2|c|c:abc") == Self.line("x", .counter, [2]))
        #expect(try Self.parse("x:2|c|@0.5|#a:b|T123|c:abc|e:it-false,cn-x") == expected)
        #expect(try Self.parse("x:2|c|T123|#a:b|@0.5") == expected)
    }

    // MARK: Datagrams

    @Test func linesSplitOnNewlinesTrimCarriageReturnsAndSkipEmptyLines() throws {
        #expect(Self.lines("a:1|c\r\nb:2|g\n\n\r\nc:3|ms\n") == ["a:1|c", "b:2|g", "c:3|ms"])
        #expect(Self.lines("single:1|c") == ["single:1|c"])
        #expect(Self.lines("") == [])
        #expect(Self.lines("\n\n") == [])
        #expect(Self.lines("a:1|c\r") == ["a:1|c"])
        let datagram = Array("a:1|c\r\nb:+2|g|#k:v\n".utf8)
        let parsed = try datagram.withUnsafeBytes { buffer in
            var out: [StatsDLine?] = []
            for line in StatsDParser.lines(buffer) { out.append(try StatsDParser.parse(line)) }
            return out
        }
        #expect(
            parsed == [Self.line("a", .counter, [1]), Self.line("b", .gauge, [2], delta: true, tags: [("k", "v")])])
    }

    // MARK: Malformed

    static let tooManyTags = "x:1|c|#" + (0...StatsDParser.maxTags).map { "t\($0):v" }.joined(separator: ",")

    static let malformed: [NamedInput] = [
        NamedInput("no pipe", "x:1"),
        NamedInput("no colon", "x|c"),
        NamedInput("empty line", ""),
        NamedInput("empty name", ":1|c"),
        NamedInput("unknown type", "x:1|q"),
        NamedInput("empty type", "x:1|"),
        NamedInput("upper-case type", "x:1|C"),
        NamedInput("type with trailing space", "x:1|c "),
        NamedInput("rate 0", "x:1|c|@0"),
        NamedInput("rate nan", "x:1|c|@nan"),
        NamedInput("rate abc", "x:1|c|@abc"),
        NamedInput("rate empty", "x:1|c|@"),
        NamedInput("rate negative", "x:1|c|@-0.5"),
        NamedInput("value abc", "x:abc|c"),
        NamedInput("value nan", "x:nan|g"),
        NamedInput("value NaN", "x:NaN|ms"),
        NamedInput("value inf", "x:inf|g"),
        NamedInput("value overflowing to infinity", "x:1e999|g"),
        NamedInput("value hex", "x:0x10|c"),
        NamedInput("empty value", "x:|c"),
        NamedInput("empty second value", "x:1:|ms"),
        NamedInput("empty set member", "u:|s"),
        NamedInput("control character in name", "a\u{1}b:1|c"),
        NamedInput("tab in name", "a\tb:1|c"),
        NamedInput("space in name", "a b:1|c"),
        NamedInput("DEL in name", "a\u{7F}:1|c"),
        NamedInput("non-ASCII name", "é:1|c"),
        NamedInput("hash in name", "a#b:1|c"),
        NamedInput("name too long", String(repeating: "n", count: StatsDParser.maxNameBytes + 1) + ":1|c"),
        NamedInput("too many tags", tooManyTags),
        NamedInput("tag too long", "x:1|c|#k:" + String(repeating: "v", count: StatsDParser.maxTagBytes)),
        NamedInput("control character in tag", "x:1|c|#k:a\u{1}b"),
        NamedInput("tag with an empty name", "x:1|c|#:v"),
        NamedInput("empty section", "x:1|c||#a:b"),
        NamedInput("unknown section", "x:1|c|xyz"),
        NamedInput(
            "too many values",
            "x:" + Array(repeating: "1", count: StatsDParser.maxValues + 1).joined(separator: ":") + "|ms"),
    ]

    @Test(arguments: malformed)
    func malformedLinesThrow(_ input: NamedInput) {
        let error = #expect(throws: StatsDParseError.self, "\(input.name)") { try Self.parse(input.bytes) }
        #expect(error?.reason.isEmpty == false)
        // The reason is printable: no control characters from the input leak into logs.
        #expect(error?.reason.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F } == true)
    }

    @Test func limitsAreInclusive() throws {
        let name = String(repeating: "n", count: StatsDParser.maxNameBytes)
        #expect(try Self.parse(name + ":1|c")?.name == name)
        let tags = (1...StatsDParser.maxTags).map { "t\($0):v" }.joined(separator: ",")
        #expect(try Self.parse("x:1|c|#" + tags)?.tags.count == StatsDParser.maxTags)
        let values = Array(repeating: "1", count: StatsDParser.maxValues).joined(separator: ":")
        #expect(try Self.parse("x:" + values + "|ms")?.values.count == StatsDParser.maxValues)
    }

    @Test func randomCorruptionsNeverCrashAndWhatParsesIsSane() {
        let seeds = [
            "http.request.duration:120:80|ms|@0.5|#endpoint:/v1/memories/42,method:get,status:200|T1795927345",
            "queue.depth:-3|g|#host:web-1", "users:alice|s|#env:prod", "_e{5,4}:title|text",
        ]
        var parsed = 0
        var refused = 0
        for (index, seed) in seeds.enumerated() {
            for bytes in Corruptions.of(
                Array(seed.utf8), count: 2_000, seed: UInt64(index + 1),
                alphabet: Array("|:@#,.+-e0123456789\r\n\u{0}\u{7F}cgmsT_".utf8) + [0xFF, 0xC3])
            {
                do {
                    guard let line = try Self.parse(bytes) else { continue }
                    parsed += 1
                    #expect(!line.name.isEmpty && line.name.utf8.count <= StatsDParser.maxNameBytes)
                    #expect(line.values.allSatisfy { $0.isFinite })
                    #expect(line.sampleRate >= StatsDParser.minSampleRate && line.sampleRate <= 1)
                    #expect(line.tags.count <= StatsDParser.maxTags)
                    #expect((line.kind == .set) == (line.setMember != nil))
                } catch {
                    #expect(error is StatsDParseError)
                    refused += 1
                }
            }
        }
        #expect(parsed > 0)
        #expect(refused > 0)
    }
}
