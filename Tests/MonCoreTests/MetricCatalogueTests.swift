import Foundation
import Testing

@testable import MonCore

@Suite struct MetricCatalogueTests {
    @Test("no declared family writes a name another writes, in either format; no reserved labels")
    func noConflicts() {
        let conflicts = MetricCatalogue.conflicts()
        print("catalogue: \(MetricCatalogue.all.count) families, \(conflicts.count) conflicts")
        #expect(conflicts == [])
    }

    @Test("the conflict check finds x vs x_total, suffixes, le on a gauge, host, a counter without _total")
    func conflictCheckCanFail() {
        let bad: [MetricDescriptor] = [
            .gauge("mon_query_ingest_lag_seconds", "g"), .counter("mon_query_ingest_lag_seconds_total", "c"),
            .histogram("mon_h_seconds", "h"), .gauge("mon_h_seconds_count", "g"),
            .gauge("mon_redis_cache_ttl_keys", labels: ["type", "le"], "g"),
            .gauge("mon_host_x", labels: ["host"], "g"), .counter("mon_redis_replication_offset", "c"),
        ]
        let conflicts = MetricCatalogue.conflicts(in: bad)
        #expect(conflicts.count == 6, "\(conflicts)")
        #expect(conflicts.contains("mon_h_seconds_count is a gauge named with a histogram suffix"))
        #expect(conflicts.contains { $0.contains("mon_query_ingest_lag_seconds_total") })
        #expect(conflicts.contains { $0.contains("mon_h_seconds_count") })
        #expect(conflicts.contains { $0.contains("`le`") })
    }

    /// Every `"mon_…"`/`"process_…"` literal in Sources (metric names are literals) is declared.
    @Test("every metric name literal in Sources is declared in the catalogue")
    func everyEmittedNameDeclared() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources").standardized
        let enumerator = try #require(FileManager.default.enumerator(atPath: sources.path))
        let pattern = try Regex(#""((mon|process)_[a-z0-9_]*[a-z0-9])""#)
        var names: Set<String> = []
        for case let path as String in enumerator where path.hasSuffix(".swift") && !path.hasPrefix("MonCore/Catalogue")
        {
            let text = try String(contentsOf: sources.appendingPathComponent(path), encoding: .utf8)
            for match in text.matches(of: pattern) {
                if let name = match.output[1].substring { names.insert(String(name)) }
            }
        }
        // Not metric names: a prefix test, a /health JSON field, histogram sample names.
        let notMetrics: Set<String> = [
            "mon_postgres", "process_resident_bytes", "mon_query_ingest_store_seconds_sum",
            "mon_query_ingest_store_seconds_count", "mon_query_ingest_batch_lag_seconds_sum",
            "mon_query_ingest_batch_lag_seconds_count",
        ]
        let missing = names.subtracting(notMetrics).filter { MetricCatalogue.descriptor($0) == nil }.sorted()
        print("metric name literals in Sources: \(names.count), undeclared: \(missing)")
        #expect(names.count > 150)
        #expect(missing == [])
    }

    @Test("samples of the Redis collector's cache walk carry ttl_bucket, never le")
    func ttlBucketLabel() throws {
        let declared = try #require(MetricCatalogue.descriptor("mon_redis_cache_ttl_keys"))
        #expect(declared.labels == ["type", "ttl_bucket"])
        #expect(MetricCatalogue.descriptor("mon_redis_replication_offset") == nil)
        #expect(MetricCatalogue.descriptor("mon_redis_replication_offset_bytes")?.type == .gauge)
    }

    @Test("application metrics get a help text naming their StatsD kind and source")
    func applicationHelp() {
        let counter = MetricCatalogue.describe("app_jobs_done_total", type: .counter)
        #expect(counter.help == "StatsD counter `app_jobs_done_total` from the application, received by monagent.")
        let timer = MetricCatalogue.describe("app_db_query_seconds", type: .histogram)
        #expect(timer.help.hasPrefix("StatsD timer"))
        #expect(timer.unit == "seconds")
        #expect(MetricCatalogue.describe("mon_host_load1", type: .gauge).help.contains("load average"))
    }

    @Test("docs/METRICS.md is generated from the catalogue (MON_WRITE_METRICS_DOC=1 rewrites it)")
    func documentationUpToDate() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../docs/METRICS.md").standardized
        let generated = MetricCatalogue.markdown()
        if ProcessInfo.processInfo.environment["MON_WRITE_METRICS_DOC"] == "1" {
            try generated.write(to: path, atomically: true, encoding: .utf8)
        }
        let committed = (try? String(contentsOf: path, encoding: .utf8)) ?? ""
        #expect(
            committed == generated,
            "docs/METRICS.md is stale: MON_WRITE_METRICS_DOC=1 swift test --filter documentationUpToDate")
        for metric in MetricCatalogue.all { #expect(committed.contains("`\(metric.name)`")) }
    }
}
