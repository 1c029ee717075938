import Testing

@testable import MonCore
@testable import MonQueryKit

/// Render-time collision tracking: no family name twice in either format, reserved labels renamed.
@Suite struct PrometheusCollisionTests {
    static func cache() -> LastValueCache {
        let cache = LastValueCache(staleAfterMs: 60_000)
        var window = Histogram()
        window.record(0.1)
        cache.record(
            CommittedBatch(
                host: "web-1",
                samples: [
                    Sample("app_jobs", value: 4, timestampMs: 1000),
                    Sample("app_jobs_total", value: 9, kind: .counter, timestampMs: 1000),
                    Sample("app_lat_seconds_count", value: 2, timestampMs: 1000),
                    Sample("mon_redis_cache_ttl_keys", ["type": "search", "le": "60"], value: 3, timestampMs: 1000),
                    Sample("app_q", ["quantile": "0.5"], value: 1, timestampMs: 1000),
                ],
                histograms: [HistogramSample("app_lat_seconds", [:], timestampMs: 1000, histogram: window)],
                logs: []))
        return cache
    }

    @Test(
        "x vs x_total: the later family is dropped and counted; a gauge x_count is renamed, not dropped",
        arguments: [
            PrometheusText.Format.text004, .openMetrics,
        ])
    func collisions(format: PrometheusText.Format) {
        var out = PrometheusText(format: format)
        out.render(cache: Self.cache().snapshot(nowMs: 2000))
        out.finish()
        let text = out.text
        let families = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map {
            $0.split(separator: " ")[2]
        }
        print("\(format): families \(families), dropped \(out.droppedSeries)")
        #expect(Set(families).count == families.count)
        #expect(out.droppedSeries == 1)
        #expect(text.contains("app_jobs{host=\"web-1\"} 4\n"))
        #expect(!text.contains("app_jobs_total{"))
        // The gauge `app_lat_seconds_count` is exposed as `…_count_value`, so the histogram
        // `app_lat_seconds` keeps its `_count`.
        #expect(text.contains("app_lat_seconds_count_value{host=\"web-1\"} 2\n"))
        #expect(text.contains("app_lat_seconds_bucket{host=\"web-1\",le=\"+Inf\"} 1\n"))
        #expect(text.contains("app_lat_seconds_count{host=\"web-1\"} 1\n"))
        #expect(text.contains("mon_redis_cache_ttl_keys{host=\"web-1\",exported_le=\"60\",type=\"search\"} 3\n"))
        #expect(text.contains("app_q{host=\"web-1\",exported_quantile=\"0.5\"} 1\n"))
        #expect(text.contains("# HELP mon_redis_cache_ttl_keys Keys of the cache type"))
    }

    /// `app.queue_count:5|g` made `promtool check metrics` report "non-histogram and non-summary
    /// metrics should not have "_count" suffix": gauges named `…_count`, `…_sum`, `…_bucket`
    /// are exposed as `…_value`, with their data; a family already named so keeps its name and
    /// the renamed one is dropped and counted.
    @Test(
        "application gauges named with a histogram suffix are exposed as <name>_value",
        arguments: [
            PrometheusText.Format.text004, .openMetrics,
        ])
    func reservedSuffixesRenamed(format: PrometheusText.Format) {
        let cache = LastValueCache(staleAfterMs: 60_000)
        cache.record(
            CommittedBatch(
                host: "web-1",
                samples: [
                    Sample("app_queue_count", value: 5, timestampMs: 1000),
                    Sample("app_bytes_sum", ["q": "a"], value: 7, timestampMs: 1000),
                    Sample("app_wait_bucket", value: 3, timestampMs: 1000),
                    Sample("app_hits_count_total", value: 9, kind: .counter, timestampMs: 1000),
                    Sample("app_x_count", value: 1, timestampMs: 1000),
                    Sample("app_x_count_value", value: 2, timestampMs: 1000),
                ],
                histograms: [], logs: []))
        var out = PrometheusText(format: format)
        out.render(cache: cache.snapshot(nowMs: 2000))
        out.finish()
        let text = out.text
        let types = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map(String.init)
        #expect(types.contains("# TYPE app_queue_count_value gauge"))
        #expect(text.contains("\napp_queue_count_value{host=\"web-1\"} 5\n"))
        #expect(text.contains("\napp_bytes_sum_value{host=\"web-1\",q=\"a\"} 7\n"))
        #expect(text.contains("\napp_wait_bucket_value{host=\"web-1\"} 3\n"))
        #expect(text.contains("# HELP app_queue_count_value StatsD gauge (or set size) `app_queue_count`"))
        // A counter ends in `_total`: not renamed.
        let counter = format == .openMetrics ? "app_hits_count" : "app_hits_count_total"
        #expect(types.contains("# TYPE \(counter) counter"))
        #expect(text.contains("\napp_hits_count_total{host=\"web-1\"} 9\n"))
        // No family or sample is left with a reserved suffix outside histograms and summaries.
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let name = line.prefix { $0 != "{" && $0 != " " }
            #expect(!MetricDescriptor.reservedSuffixes.contains { name.hasSuffix($0) }, "\(line)")
        }
        // `app_x_count` → `app_x_count_value` first (name order); the real `app_x_count_value`
        // then collides with it and is dropped and counted: one family, one sample.
        #expect(Set(types).count == types.count)
        #expect(text.contains("\napp_x_count_value{host=\"web-1\"} 1\n"))
        #expect(!text.contains("\napp_x_count_value{host=\"web-1\"} 2\n"))
        #expect(out.droppedSeries == 1)
    }

    @Test("the catalogue declares no gauge or counter named with a histogram suffix")
    func catalogueHasNoReservedSuffix() {
        #expect(MetricCatalogue.all.filter(\.hasReservedSuffix).isEmpty)
        #expect(MetricCatalogue.describe("mon_agent_odd_count", type: .gauge).name == "mon_agent_odd_count_value")
        #expect(MetricCatalogue.describe("app_lat_seconds_count", type: .histogram).name == "app_lat_seconds_count")
    }

    @Test("the daemon's gauge and a counter named with its _total are one family name in OpenMetrics")
    func daemonStyleFamilies() {
        var out = PrometheusText(format: .openMetrics)
        out.family("mon_query_ingest_lag_seconds", type: "gauge", help: "ignored: declared")
        out.sample("mon_query_ingest_lag_seconds", [], 1)
        out.family("mon_query_ingest_lag_seconds_total", type: "counter", help: "x")
        out.sample("mon_query_ingest_lag_seconds_total", [], 2)
        out.family("mon_query_ingest_batch_lag_seconds", type: .summary)
        out.sample("mon_query_ingest_batch_lag_seconds_sum", [], 2)
        out.sample("mon_query_ingest_batch_lag_seconds_count", [], 1)
        #expect(out.droppedSeries == 1)
        #expect(out.text.contains("# HELP mon_query_ingest_lag_seconds From a batch's creation"))
        #expect(
            out.text.contains(
                "# TYPE mon_query_ingest_batch_lag_seconds summary\n# UNIT mon_query_ingest_batch_lag_seconds seconds\n"
            ))
        #expect(!out.text.contains("\nmon_query_ingest_lag_seconds_total "))
        #expect(!out.text.contains("# TYPE mon_query_ingest_lag_seconds counter"))
    }
}
