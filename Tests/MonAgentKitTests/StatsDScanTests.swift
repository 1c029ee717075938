import MonTestSupport
import Testing

@testable import MonAgentKit
@testable import MonCore

/// The allocation-free path: `StatsDParser.scan` and `forEachLine` read lines in place, and
/// the aggregator keeps what a series identity resolved to (`StatsDSeriesCache`). Each is
/// checked against what it replaces: `Double(String)`, `lines`, and the aggregator resolving
/// every line afresh.
@Suite struct StatsDScanTests {
    static func scan(_ text: String) throws -> StatsDRawLine? {
        try Array(text.utf8).withUnsafeBytes { bytes -> StatsDRawLine? in
            // The raw line points into `bytes`: only its plain fields are used after this.
            try StatsDParser.scan(bytes)
        }
    }

    static func number(_ text: String) -> Double? {
        Array(text.utf8).withUnsafeBytes { StatsDParser.number($0) }
    }

    /// What `number` replaced: the characters the parser allows, then the standard library.
    static func reference(_ text: String) -> Double? {
        let allowed = Set("0123456789.+-eE")
        guard !text.isEmpty, text.utf8.count <= 64, text.allSatisfy(allowed.contains), let value = Double(text),
            value.isFinite
        else { return nil }
        return value
    }

    // MARK: Numbers

    @Test(arguments: [
        "0", "-0", "+0", "1", "-1", "+3", "12.345", ".5", "5.", "-.5", "1e3", "1E3", "1e+3", "1e-3", "-2.5e3", "0.1",
        "0.3", "1e22", "1e23", "1e-22", "1e-23", "9007199254740992", "9007199254740993", "18446744073709551615",
        "123456789012345678901234567890", "0.000000000000000000000000001", "1.7976931348623157e308", "1.8e308",
        "4.9e-324", "2e-324", "1e-400", "1e999", "00001.5000", "1234567890123456789", "12345678901234567890",
        "3.141592653589793238462643", "0e99999", "-0e-5", "1e", "1e+", "e5", ".", "-", "+", "", "1.2.3", "1e5e5",
        "--1", "+-1", "1-", "1+1", "..5", "1..", "0x10", "nan", "inf", String(repeating: "1", count: 64),
        String(repeating: "1", count: 65), "1" + String(repeating: "0", count: 22),
        "1" + String(repeating: "0", count: 23),
    ])
    func numbersReadAsTheStandardLibraryReadsThem(_ text: String) {
        let got = Self.number(text)
        let want = Self.reference(text)
        #expect(
            got?.bitPattern == want?.bitPattern, "'\(text)': \(String(describing: got)) vs \(String(describing: want))")
    }

    @Test func randomNumbersReadAsTheStandardLibraryReadsThem() {
        var generator = SeededGenerator(state: 22)
        let alphabet = Array("0123456789.+-eE")
        let digits = Array("0123456789")
        var checked = 0
        for round in 0..<60_000 {
            var text = ""
            let length = 1 + Int(generator.next() % 24)
            if round % 2 == 0 {
                // Mostly well-formed: sign, digits, a point, an exponent.
                if generator.next() % 4 == 0 { text.append(generator.next() % 2 == 0 ? "-" : "+") }
                for index in 0..<length {
                    if index == length / 2, generator.next() % 2 == 0 { text.append(".") }
                    text.append(digits[Int(generator.next() % 10)])
                }
                if generator.next() % 3 == 0 {
                    text.append("e")
                    if generator.next() % 2 == 0 { text.append("-") }
                    text += String(generator.next() % 400)
                }
            } else {
                for _ in 0..<length { text.append(alphabet[Int(generator.next() % UInt64(alphabet.count))]) }
            }
            let got = Self.number(text)
            let want = Self.reference(text)
            if got?.bitPattern != want?.bitPattern {
                Issue.record("'\(text)': \(String(describing: got)) vs \(String(describing: want))")
                break
            }
            checked += 1
        }
        #expect(checked == 60_000)
    }

    // MARK: Lines and sections

    @Test func forEachLineSplitsAsLinesDoes() {
        let datagrams = [
            "a:1|c\r\nb:2|g\n\n\r\nc:3|ms\n", "single:1|c", "", "\n\n", "a:1|c\r", "\r", "\r\r\n", "x\ny",
            "no-newline-at-the-end:1|c\nlast:2|c",
        ]
        for text in datagrams {
            Array(text.utf8).withUnsafeBytes { bytes in
                var seen: [String] = []
                StatsDParser.forEachLine(bytes) { seen.append(String(decoding: $0, as: UTF8.self)) }
                #expect(seen == StatsDParser.lines(bytes).map { String(decoding: $0, as: UTF8.self) }, "\(text)")
            }
        }
    }

    @Test func scanGivesTheValuesRateAndTagsInPlace() throws {
        let text = "http.request.duration:12.5:7|ms|@0.25|#endpoint:/v1/x,method:GET|T123"
        let values = try Array(text.utf8).withUnsafeBytes { bytes -> (Int, Double, Double, String, String, [Double]) in
            let raw = try #require(try StatsDParser.scan(bytes))
            var all: [Double] = []
            raw.forEachValue { all.append($0) }
            return (
                raw.valueCount, raw.firstValue, raw.sampleRate, String(decoding: raw.name, as: UTF8.self),
                String(decoding: raw.tags, as: UTF8.self), all
            )
        }
        #expect(values.0 == 2)
        #expect(values.1 == 12.5)
        #expect(values.2 == 0.25)
        #expect(values.3 == "http.request.duration")
        #expect(values.4 == "endpoint:/v1/x,method:GET")
        #expect(values.5 == [12.5, 7])
    }

    @Test func theLastTagSectionCountsAndEveryOneIsChecked() throws {
        let line = try #require(try StatsDParserTests.parse("x:1|c|#a:b|#c:d"))
        #expect(line.tags.map(\.name) == ["c"])
        #expect(throws: StatsDParseError.self) { try StatsDParserTests.parse("x:1|c|#:bad|#c:d") }
        #expect(throws: StatsDParseError.self) { try StatsDParserTests.parse("x:1|c|#c:d|") }
        // An empty `#` section is no tags.
        #expect(try StatsDParserTests.parse("x:1|c|#")?.tags.isEmpty == true)
    }

    @Test func aSetKeepsItsMemberAsSentAndHasNoValues() throws {
        let line = try #require(try StatsDParserTests.parse("users:a:b:c|s|#k:v"))
        #expect(line.setMember == "a:b:c")
        #expect(line.values.isEmpty)
        Array("users:a:b|s".utf8).withUnsafeBytes { bytes in
            let raw = try? StatsDParser.scan(bytes)
            #expect(raw?.valueCount == 0)
        }
    }

    // MARK: The aggregator's series cache

    /// Lines that exercise every route: request timers (deduplicated against log events),
    /// counters (cache counters, sampled, negative), gauges with deltas, sets, timers out of
    /// range, more names and tag sets than the caps, malformed and ignored lines.
    static let seeds = [
        "http.request.duration:12.5|ms|#endpoint:/v1/memories/42,method:get,status:200",
        "http.request.duration:-1:30|ms|#endpoint:/v1/search,method:POST,status:500,service:api",
        "http.request.duration:99999999999|ms|#endpoint:/v1/x", "http.request.duration:5|h|#path:/p/1",
        "http.requests:1|c|#endpoint:/v1/x,status:200", "cache.hit:1|c|@0.5|#cache:embeddings",
        "cache.miss:2|c|#cache_type:queries", "cache.search.hit:1|c", "jobs_total:3|c", "neg:-2|c",
        "big:1e308|c", "db.pool.in_use:4|g|#pool:read", "db.pool.in_use:+2|g|#pool:read",
        "db.pool.in_use:-9|g|#pool:write", "g2:1:2:3|g", "users:alice|s|#env:prod", "users:bob|s|#env:prod",
        "lat:250:1e12:-3|ms|#a:b", "size:1024|h|#table:t", "rows:7|d", "host.x:1|c|#host:web-1,overflow:1",
        "_e{5,4}:title|text", "_sc|db|0", "bad line", "x:abc|c",
    ]

    static func stream(count: Int, seed: UInt64) -> [[UInt8]] {
        var generator = SeededGenerator(state: seed)
        var out: [[UInt8]] = []
        let corrupted = seeds.enumerated().flatMap { index, line in
            Corruptions.of(
                Array(line.utf8), count: 40, seed: UInt64(index) &+ seed,
                alphabet: Array("|:@#,.+-e0123456789abc".utf8))
        }
        for _ in 0..<count {
            var datagram: [UInt8] = []
            let lines = 1 + Int(generator.next() % 4)
            for index in 0..<lines {
                if index > 0 { datagram.append(0x0A) }
                let pick = generator.next() % 10
                if pick < 6 {
                    var line = Array(seeds[Int(generator.next() % UInt64(seeds.count))].utf8)
                    // More names and tag values than the caps below hold.
                    line.insert(contentsOf: Array("n\(generator.next() % 7)".utf8), at: 0)
                    if line.contains(UInt8(ascii: "#")) { line += Array(",k:\(generator.next() % 5)".utf8) }
                    datagram += line
                } else {
                    datagram += corrupted[Int(generator.next() % UInt64(corrupted.count))]
                }
            }
            out.append(datagram)
        }
        return out
    }

    struct Flush: Equatable {
        var samples: Set<Sample>
        var histograms: Set<HistogramSample>
    }

    /// Feeds `stream` in groups of eight datagrams (one call per datagram, or one per group
    /// as the receiver does), with log request events and flushes between groups.
    static func run(_ stream: [[UInt8]], cacheEntries: Int, batched: Bool) -> [Flush] {
        var config = StatsDConfig()
        config.maxMetrics = 12
        config.maxTagSets = 3
        let aggregator = AppAggregator(
            config: config, requests: RequestsConfig(mode: .auto, statsdExpirySeconds: 1),
            seriesCacheEntries: cacheEntries)
        var flushes: [Flush] = []
        for (group, start) in stride(from: 0, to: stream.count, by: 8).enumerated() {
            let datagrams = stream[start..<min(start + 8, stream.count)]
            if batched {
                let copies = datagrams.map { bytes -> UnsafeMutableRawBufferPointer in
                    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
                    copy.copyBytes(from: bytes)
                    return copy
                }
                aggregator.ingest(datagrams: copies.map { UnsafeRawBufferPointer($0) })
                for copy in copies { copy.deallocate() }
            } else {
                for datagram in datagrams { datagram.withUnsafeBytes { aggregator.ingest(datagram: $0) } }
            }
            // Log request events in between, for the selector's deduplication.
            if group % 6 == 0 {
                aggregator.recordRequest(
                    endpoint: "/v1/memories/7", method: "GET", status: "200", seconds: 0.01, source: .logs,
                    service: group % 12 == 0 ? "api" : nil, nowMs: 1_000)
            }
            if group % 50 == 49 {
                let flushed = aggregator.flush(timestampMs: Int64(group) * 1000)
                flushes.append(Flush(samples: Set(flushed.samples), histograms: Set(flushed.histograms)))
            }
        }
        let last = aggregator.flush(timestampMs: 999_999)
        flushes.append(Flush(samples: Set(last.samples), histograms: Set(last.histograms)))
        return flushes
    }

    /// The first differences between two runs, short enough to read.
    static func differences(_ got: [Flush], _ want: [Flush]) -> String {
        guard got.count == want.count else { return "\(got.count) flushes vs \(want.count)" }
        for (index, (a, b)) in zip(got, want).enumerated() where a != b {
            let samples = a.samples.symmetricDifference(b.samples).prefix(3).map {
                "\($0.name) \($0.labels) \($0.value)"
            }
            let histograms = a.histograms.symmetricDifference(b.histograms).prefix(3).map { "\($0.name) \($0.labels)" }
            return "flush \(index): \(samples) \(histograms)"
        }
        return ""
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func theSeriesCacheChangesNoResult(_ seed: UInt64) {
        let stream = Self.stream(count: 2_000, seed: seed)
        let uncached = Self.run(stream, cacheEntries: 0, batched: false)
        #expect(uncached.count > 3)
        let cached = Self.run(stream, cacheEntries: AppAggregator.seriesCacheEntries, batched: false)
        #expect(cached == uncached, "\(Self.differences(cached, uncached))")
        // A cache too small for the identities: emptied again and again.
        let small = Self.run(stream, cacheEntries: 5, batched: false)
        #expect(small == uncached, "\(Self.differences(small, uncached))")
        // Eight datagrams per call, as the receiver hands them over.
        let batched = Self.run(stream, cacheEntries: AppAggregator.seriesCacheEntries, batched: true)
        #expect(batched == uncached, "\(Self.differences(batched, uncached))")
    }

    @Test func theSeriesCacheFindsEachIdentityAndStaysBounded() throws {
        var cache = StatsDSeriesCache<Int>(maxEntries: 4)
        let lines = ["a:1|c", "a:1|g", "a:1|c|#k:v", "b:1|c", "a:2|c|@0.5", "ab:1|c", "a:1|c|#k:w"]
        var slots: [Int?] = []
        for text in lines {
            try Array(text.utf8).withUnsafeBytes { bytes in
                let raw = try #require(try StatsDParser.scan(bytes))
                if let slot = cache.find(raw) {
                    slots.append(cache.payloads[slot])
                } else {
                    slots.append(nil)
                    _ = cache.insert(raw, slots.count)
                }
            }
        }
        // The value and the rate are no part of the identity (line 5 finds line 1); type, name
        // and tags are. The 5th identity (line 6) empties the full cache first.
        #expect(slots == [nil, nil, nil, nil, 1, nil, nil])
        #expect(cache.count == 2)
    }
}
