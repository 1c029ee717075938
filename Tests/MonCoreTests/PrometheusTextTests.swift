import Testing

@testable import MonCore

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
        let (values, histograms) = cache.snapshot(nowMs: 3000)
        #expect(values.map(\.0.host) == ["a", "b"])
        #expect(values.map(\.1.value) == [2, 5])
        #expect(histograms.first?.1.histogram.count == 2)
    }

    @Test func forgetsSeriesSilentLongerThanTheStaleBound() {
        let cache = LastValueCache(staleAfterMs: 1000)
        cache.record(
            Self.batch("a", [Sample("old", value: 1, timestampMs: 0), Sample("new", value: 1, timestampMs: 5000)]))
        #expect(cache.snapshot(nowMs: 5500).values.map(\.0.name) == ["new"])
        #expect(cache.count == 1)
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
}
