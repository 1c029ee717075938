import Testing

@testable import MonCore
@testable import MonQueryKit

/// What the daemon accepts in a series and a record (`SeriesLimits`, `IngestLimits`), and
/// which PostgreSQL errors are permanent (the batch is quarantined, not retried).
@Suite struct IngestValidationTests {
    @Test(
        "metric names",
        arguments: [
            ("mon_host_cpu", true), ("a:b_c1", true), ("_x", true), (":x", true), ("1abc", false), ("", false),
            ("a-b", false), ("a b", false), ("a\nb", false), ("é", false), ("a{b}", false),
        ])
    func metricNames(name: String, valid: Bool) {
        #expect(SeriesLimits.isValidMetricName(name) == valid)
    }

    @Test(
        "label names",
        arguments: [
            ("host", true), ("_x", true), ("a1", true), ("__name__", false), ("__x", false), ("a:b", false),
            ("1a", false), ("", false), ("a=\"x\",b", false),
        ])
    func labelNames(name: String, valid: Bool) {
        #expect(SeriesLimits.isValidLabelName(name) == valid)
    }

    static let longValue = String(repeating: "v", count: 1025)

    @Test func seriesProblems() {
        #expect(SeriesLimits.problem(name: "m", labels: ["a": "x"]) == nil)
        #expect(SeriesLimits.problem(name: "m x", labels: [:]) == .metricName)
        #expect(SeriesLimits.problem(name: "m", labels: ["__a": "x"]) == .labelName)
        #expect(SeriesLimits.problem(name: "m", labels: ["a": Self.longValue]) == .labelValue)
        #expect(SeriesLimits.problem(name: "m", labels: ["a": String(repeating: "v", count: 1024)]) == nil)
        #expect(SeriesLimits.problem(name: "m", labels: ["a": "x\u{0}y"]) == .labelValue)
        #expect(SeriesLimits.problem(name: "m", labels: ["a": "line\nbreak \"quoted\""]) == nil, "escaped, not refused")
        let many = Labels(Dictionary(uniqueKeysWithValues: (0..<33).map { ("l\($0)", "v") }))
        #expect(SeriesLimits.problem(name: "m", labels: many) == .labels)
        let three = Labels(
            Dictionary(uniqueKeysWithValues: (0..<3).map { ("l\($0)", String(repeating: "v", count: 1000)) }))
        #expect(SeriesLimits.problem(name: "m", labels: three) == .seriesKey)
        // 1000 quotes are 2000 bytes once escaped in the canonical key.
        let quotes = String(repeating: "\"", count: 1000)
        #expect(
            SeriesLimits.problem(name: "m", labels: ["a": quotes, "b": String(repeating: "v", count: 100)])
                == .seriesKey)
    }

    @Test("the series-key size counted is the canonical key's")
    func keySizeMatchesTheCanonicalKey() {
        for value in ["plain", "with \"quotes\" and \\ and \n", String(repeating: "\\", count: 300)] {
            let labels: Labels = ["a": value, "bb": "x"]
            let size = "m".utf8.count + labels.canonicalKey.utf8.count + 1
            let limitFits = size <= SeriesLimits.maxSeriesKeyBytes
            #expect((SeriesLimits.problem(name: "m", labels: labels) == nil) == limitFits)
        }
    }

    @Test func recordLimits() {
        #expect(IngestLimits.problem(Event(kind: "pg_plan", key: "1", timestampMs: 0, payload: "{}")) == nil)
        #expect(IngestLimits.problem(Event(kind: "k\u{0}", key: "1", timestampMs: 0, payload: "{}")) == .event)
        #expect(
            IngestLimits.problem(
                Event(kind: "k", key: String(repeating: "k", count: 1025), timestampMs: 0, payload: "{}"))
                == .event)
        let log = LogRecord(
            timestampMs: 0, level: .info, service: "s", event: "e", logger: nil, traceID: nil, fields: "{}",
            source: "/f",
            offset: 0)
        #expect(IngestLimits.problem(log) == nil)
        var longSource = log
        longSource.source = String(repeating: "/", count: 2049)
        #expect(IngestLimits.problem(longSource) == .log)
        var longTrace = log
        longTrace.traceID = String(repeating: "t", count: 1025)
        #expect(IngestLimits.problem(longTrace) == .log)
        var huge = log
        huge.event = String(repeating: "word ", count: 110_000)
        #expect(IngestLimits.problem(huge) == .log)
    }

    @Test("histogram counts must stay below the saturation point, Histogram.maxCount")
    func histogramCounts() throws {
        let max = Histogram.maxCount
        let ok = try #require(Histogram(buckets: [10: max - 1], zeroCount: 0, sum: 1, min: 1, max: 1))
        #expect(IngestLimits.problem(HistogramSample("h", [:], timestampMs: 0, histogram: ok)) == nil)
        #expect(Histogram(buckets: [10: 1 << 62], zeroCount: 0, sum: 1, min: 1, max: 1) == nil, "refused whole")
        let full = try #require(Histogram(buckets: [10: max], zeroCount: 0, sum: 1, min: 1, max: 1))
        #expect(IngestLimits.problem(HistogramSample("h", [:], timestampMs: 0, histogram: full)) == .histogram)
        let split = try #require(Histogram(buckets: [1: max / 2, 2: max / 2], zeroCount: 0, sum: 1, min: 1, max: 1))
        #expect(IngestLimits.problem(HistogramSample("h", [:], timestampMs: 0, histogram: split)) == .histogram)
    }

    @Test("an absurd batch creation time is replaced by now, so no arithmetic on it can overflow")
    func plausibleCreationTime() {
        let now: Int64 = 1_800_000_000_000
        #expect(IngestLimits.plausibleCreatedMs(now - 1000, nowMs: now) == now - 1000)
        #expect(IngestLimits.plausibleCreatedMs(0, nowMs: now) == 0)
        for absurd in [Int64.min, -1, Int64.max, now + 2 * 86_400_000] {
            #expect(IngestLimits.plausibleCreatedMs(absurd, nowMs: now) == now)
        }
    }

    @Test(
        "permanent PostgreSQL errors quarantine; everything else retries",
        arguments: [
            ("22P05", true), ("22021", true), ("22003", true), ("23505", true), ("54000", true), ("40001", false),
            ("40P01", false), ("53100", false), ("53200", false), ("57014", false), ("57P01", false), ("08006", false),
            ("XX000", false), ("42P01", false),
        ])
    func permanentErrors(state: String, permanent: Bool) {
        #expect(PostgresError(.statement, sqlState: state, "x").isPermanent == permanent)
        #expect(PostgresError(.copy, sqlState: state, "x").isPermanent == permanent)
        #expect(!PostgresError(.connection, sqlState: state, "x").isPermanent)
    }

    @Test func errorsWithoutAStateRetry() {
        #expect(!PostgresError(.statement, "x").isPermanent)
        #expect(!PostgresError(.copy, sqlState: "2", "x").isPermanent)
    }
}
