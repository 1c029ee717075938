import Testing

@testable import MonCore
@testable import MonQueryKit

@Suite struct PrometheusTextTests {
    @Test func samplesFamiliesAndEscaping() {
        var out = PrometheusText()
        out.family("mon_x", type: "gauge", help: "A \\ help\nline.")
        out.family("mon_x", type: "gauge", help: "declared once")
        out.sample("mon_x", [("host", "a"), ("path", "q\"\\\n"), ("1bad-name", "v")], 0.5)
        out.sample("mon_x", [], .infinity)
        out.sample("mon_x", [], -.infinity)
        out.sample("mon_x", [], .nan)
        out.sample("mon_x", [], 42)
        #expect(
            out.text == """
                # HELP mon_x A \\\\ help\\nline.
                # TYPE mon_x gauge
                mon_x{host="a",path="q\\"\\\\\\n",_1bad_name="v"} 0.5
                mon_x +Inf
                mon_x -Inf
                mon_x NaN
                mon_x 42

                """)
    }

    @Test("histogram buckets are cumulative, end at +Inf with the count, and sum matches")
    func histogram() {
        var histogram = Histogram()
        for value in [0.0005, 0.003, 0.003, 0.2, 0.7, 100] { histogram.record(value) }
        histogram.record(0)
        var out = PrometheusText()
        out.histogram("h", [("host", "a")], histogram, boundaries: [0.001, 0.01, 1])
        let lines = out.text.split(separator: "\n").map(String.init)
        #expect(
            lines == [
                "h_bucket{host=\"a\",le=\"0.001\"} 2", "h_bucket{host=\"a\",le=\"0.01\"} 4",
                "h_bucket{host=\"a\",le=\"1\"} 6", "h_bucket{host=\"a\",le=\"+Inf\"} 7",
                "h_sum{host=\"a\"} \(PrometheusText.format(histogram.sum))", "h_count{host=\"a\"} 7",
            ])
    }
}

@Suite struct LastValueCacheTests {
    static func batch(_ host: String, _ samples: [Sample], _ histograms: [HistogramSample] = []) -> CommittedBatch {
        CommittedBatch(host: host, samples: samples, histograms: histograms, logs: [])
    }

    @Test func keepsTheNewestValueAndMergesHistograms() {
        let cache = LastValueCache(staleAfterMs: 10_000)
        cache.record(Self.batch("a", [Sample("m", value: 2, timestampMs: 2000)]))
        cache.record(Self.batch("a", [Sample("m", value: 1, timestampMs: 1000)]))  // late: older
        cache.record(Self.batch("b", [Sample("m", value: 5, timestampMs: 1500)]))
        var window = Histogram()
        window.record(0.1)
        let sample = HistogramSample("h", ["endpoint": "/"], timestampMs: 2000, histogram: window)
        cache.record(Self.batch("a", [], [sample]))
        cache.record(Self.batch("a", [], [sample]))
        let snapshot = cache.snapshot(nowMs: 3000)
        #expect(snapshot.values.map(\.key.host) == ["a", "b"])
        #expect(snapshot.values.map(\.value.value) == [2, 5])
        #expect(snapshot.histograms.first?.value.histogram.count == 2)
    }

    @Test func forgetsSeriesSilentLongerThanTheStaleBound() {
        let cache = LastValueCache(staleAfterMs: 1000)
        cache.record(
            Self.batch("a", [Sample("old", value: 1, timestampMs: 0), Sample("new", value: 1, timestampMs: 5000)]))
        #expect(cache.snapshot(nowMs: 5500).values.map(\.key.name) == ["new"])
        #expect(cache.count == 1)
        // A forgotten series that comes back is a new entry, in order.
        cache.record(Self.batch("a", [Sample("old", value: 2, timestampMs: 6000)]))
        #expect(cache.snapshot(nowMs: 6000).values.map(\.key.name) == ["new", "old"])
    }

    @Test func namedLookupFiltersByNameHostAndAgeWithoutForgetting() {
        let cache = LastValueCache(staleAfterMs: 1000)
        cache.record(
            Self.batch(
                "b",
                [
                    Sample("cpu", ["cpu": "1"], value: 3, timestampMs: 5000),
                    Sample("cpu", value: 2, timestampMs: 5000),
                    Sample("load", value: 9, timestampMs: 5000), Sample("old", value: 1, timestampMs: 0),
                ]))
        cache.record(Self.batch("a", [Sample("cpu", value: 1, timestampMs: 5000)]))
        func lookup(_ names: Set<String>, host: String? = nil) -> [String] {
            cache.values(named: names, host: host, nowMs: 5500).map {
                "\($0.key.host) \($0.key.name){\($0.key.labels.canonicalKey)}=\($0.value.value)"
            }
        }
        // Exposition order among the matches: name, host, then labels (unlabelled first).
        #expect(lookup(["cpu"]) == ["a cpu{}=1.0", "b cpu{}=2.0", #"b cpu{cpu="1"}=3.0"#])
        #expect(lookup(["cpu", "load"], host: "b") == ["b cpu{}=2.0", #"b cpu{cpu="1"}=3.0"#, "b load{}=9.0"])
        #expect(lookup(["old", "missing"]).isEmpty)
        #expect(lookup([]).isEmpty)
        // Stale entries are skipped, not forgotten: that is `snapshot`'s job.
        #expect(cache.count == 5)
        #expect(cache.snapshot(nowMs: 5500).values.count == 4)
        #expect(cache.count == 4)
        // After a snapshot moved and dropped entries, and with series added since, the name
        // index still finds each one where it is.
        cache.record(Self.batch("0", [Sample("cpu", value: 7, timestampMs: 5400)]))
        cache.record(Self.batch("c", [Sample("load", value: 4, timestampMs: 5400)]))
        #expect(lookup(["cpu"]) == ["0 cpu{}=7.0", "a cpu{}=1.0", "b cpu{}=2.0", #"b cpu{cpu="1"}=3.0"#])
        #expect(lookup(["load"]) == ["b load{}=9.0", "c load{}=4.0"])
        _ = cache.snapshot(nowMs: 5500)
        #expect(lookup(["cpu", "load"], host: "0") == ["0 cpu{}=7.0"])
        #expect(lookup(["load"]) == ["b load{}=9.0", "c load{}=4.0"])
    }

    @Test func keepsExpositionOrderAsSeriesArriveBetweenSnapshots() {
        let cache = LastValueCache(staleAfterMs: 1_000_000)
        var expected: [String] = []
        var generator = SystemRandomNumberGenerator()
        for round in 0..<20 {
            var samples: [Sample] = []
            for _ in 0..<50 {
                let name = "m\(Int.random(in: 0..<30, using: &generator))"
                let label = "v\(Int.random(in: 0..<30, using: &generator))"
                samples.append(Sample(name, ["l": label], value: Double(round), timestampMs: Int64(round)))
                expected.append("\(name)\u{0}h\u{0}l=\"\(label)\"")
            }
            cache.record(Self.batch("h", samples))
            let keys = cache.snapshot(nowMs: Int64(round)).values.map {
                "\($0.key.name)\u{0}\($0.key.host)\u{0}\($0.key.labels.canonicalKey)"
            }
            #expect(keys == Set(expected).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        }
    }

    /// The cache's precomputed lines equal the general `sample`/`histogram` path, for awkward
    /// names and values, in both formats.
    @Test(arguments: [PrometheusText.Format.text004, .openMetrics])
    func precomputedLinesEqualTheGeneralPath(format: PrometheusText.Format) {
        let cache = LastValueCache(staleAfterMs: 1_000_000)
        var window = Histogram()
        for value in [0.0, 0.0004, 0.001, 0.0025, 0.02, 0.3, 1, 7, 60, 100, 1e12] { window.record(value) }
        cache.record(
            Self.batch(
                "web-1",
                [
                    Sample("c_total", ["path": "/a\"b\\c\nd"], value: 3, kind: .counter, timestampMs: 1),
                    Sample("c2", ["host": "inner", "9bad-name": "é"], value: -1.5, kind: .counter, timestampMs: 1),
                    Sample("g", value: 1e20, timestampMs: 1),
                    Sample("g", ["x": ""], value: -0.0, timestampMs: 1),
                    Sample("g", ["x": "1"], value: .nan, timestampMs: 1),
                    Sample("g", ["x": "2"], value: -.infinity, timestampMs: 1),
                    Sample("g", ["x": "3"], value: -123_456_789, timestampMs: 1),
                ],
                [HistogramSample("h_seconds", ["endpoint": "/v1/x"], timestampMs: 1, histogram: window)]))
        let snapshot = cache.snapshot(nowMs: 1)
        var fast = PrometheusText(format: format)
        fast.render(cache: snapshot)
        fast.finish()
        var general = PrometheusText(format: format)
        var declared: Set<String> = []
        for entry in snapshot.values {
            if declared.insert(entry.key.name).inserted {
                general.family(entry.key.name, type: entry.value.kind == .counter ? .counter : .gauge)
            }
            general.sample(entry.key.name, PrometheusText.exposedLabels(entry.key), entry.value.value)
        }
        for entry in snapshot.histograms {
            general.family(entry.key.name, type: .histogram)
            general.histogram(entry.key.name, PrometheusText.exposedLabels(entry.key), entry.value.histogram)
        }
        general.finish()
        #expect(fast.text == general.text)
        #expect(fast.text.contains("g{host=\"web-1\",x=\"3\"} -123456789\n"))
    }
}

@Suite struct PartitionNameTests {
    @Test func parsesOnlyThisTablesDailyNames() {
        let day = DayPartition(timestampMs: 1_795_910_400_000)
        #expect(DayPartition(partitionName: day.partitionName(of: "metrics"), of: "metrics") == day)
        for bad in [
            "metrics_p2026113", "metrics_p20261131", "metrics_p2026ab29", "events_p20261129", "metrics_p+2026112",
        ] {
            #expect(DayPartition(partitionName: bad, of: "metrics") == nil, "\(bad)")
        }
    }

    @Test("a kept render buffer gives the same text, and a smaller scrape carries no old bytes")
    func renderBufferReuse() {
        let buffer = PrometheusText.RenderBuffer()
        let cache = LastValueCache(staleAfterMs: 1_000)
        cache.record(
            LastValueCacheTests.batch(
                "web-1", (0..<50).map { Sample("g", ["i": "\($0)"], value: Double($0), timestampMs: 1) }, []))
        func scrape(nowMs: Int64) -> String {
            var out = PrometheusText(buffer: buffer.take())
            out.render(cache: cache.snapshot(nowMs: nowMs))
            out.finish()
            let bytes = out.takeBytes()
            buffer.giveBack(bytes)
            return String(decoding: bytes, as: UTF8.self)
        }
        var fresh = PrometheusText()
        fresh.render(cache: cache.snapshot(nowMs: 1))
        #expect(scrape(nowMs: 1) == fresh.text)
        #expect(buffer.keptCapacity >= fresh.bytes.count)
        #expect(scrape(nowMs: 1) == fresh.text)
        cache.record(LastValueCacheTests.batch("web-2", [Sample("g", value: 7, timestampMs: 1_500)], []))
        // At 2 100 only web-2's sample is live: the text is one family with one line.
        #expect(
            scrape(nowMs: 2_100)
                == "# HELP g StatsD gauge (or set size) `g` from the application, received by monagent.\n"
                + "# TYPE g gauge\ng{host=\"web-2\"} 7\n")
    }
}
