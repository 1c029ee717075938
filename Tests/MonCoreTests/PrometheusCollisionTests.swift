import Testing

@testable import MonAgentKit
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
        "x vs x_total and x vs x_count: the later family is dropped and counted",
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
        #expect(out.droppedSeries == 2)
        #expect(text.contains("app_jobs{host=\"web-1\"} 4\n"))
        #expect(!text.contains("app_jobs_total{"))
        #expect(!text.contains("app_lat_seconds_bucket"))
        #expect(text.contains("mon_redis_cache_ttl_keys{host=\"web-1\",exported_le=\"60\",type=\"search\"} 3\n"))
        #expect(text.contains("app_q{host=\"web-1\",exported_quantile=\"0.5\"} 1\n"))
        #expect(text.contains("# HELP mon_redis_cache_ttl_keys Keys of the cache type"))
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
