import Foundation
import Testing

@testable import MonAgentKit
@testable import MonCore
@testable import MonQueryKit

/// Anomaly detection against a live daemon: a synthetic 7-day history written straight
/// into the 1-hour rollups (CPU gauge and request-duration histograms, the same values
/// for every hour around now, so the hour the test runs at does not matter) and a current
/// value in the raw tables. A spike is flagged with the expected value of the history;
/// the same history without the spike flags nothing.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct AnomalyTests {
    static let host = "anomaly-host"
    static let day: Int64 = 86_400_000
    /// CPU usage on the previous seven days at this hour (%): mean 20, σ = √(10/6) ≈ 1.291.
    static let cpuWeek: [Double] = [20, 22, 18, 21, 19, 20, 20]
    /// P95 of /v1/search on the previous seven days (s), before bucketing.
    static let latencyWeek: [Double] = [0.100, 0.110, 0.090, 0.105, 0.095, 0.100, 0.100]

    /// What the histograms report for a latency: its bucket's value, in ms.
    static func bucketed(_ seconds: Double) -> Double {
        Histogram.value(ofIndex: Histogram.index(of: seconds)) * 1000
    }

    /// The history, and `cpuNow` % / `latencyNow` s over the last four minutes.
    static func writeHistory(_ databaseURL: String, nowMs: Int64, cpuNow: Double, latencyNow: Double) async throws {
        let writer = IngestWriter(databaseURL: databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        try await offPool {
            let connection = try TestEnvironment.setupConnection(databaseURL)
            let today = DayPartition(timestampMs: nowMs)
            for offset in Int64(-8)...1 {
                // Only the rollup tables reach back: the daemon's first rollup pass then starts today.
                let tables = offset >= -1 ? Schema.partitionedTables : ["metrics_1h", "histograms_1h"]
                for table in tables { try today.adding(days: offset).createPartition(of: table, connection) }
            }
            func series(_ name: String, _ labels: Labels, _ kind: String) throws -> String {
                let id = try connection.query(
                    """
                    INSERT INTO metric_series (host, name, labels_key, labels, kind)
                    VALUES ($1, $2, $3, $4::jsonb, $5) RETURNING id
                    """,
                    [host, name, labels.canonicalKey, RollupTests.json(labels), kind]
                ).string(0, 0)
                return try #require(id)
            }
            let cpu = try series("mon_host_cpu_usage_ratio", Labels(["cpu": "all"]), "gauge")
            let requests = try series(
                MetricNames.requestDuration, Labels(["endpoint": "/v1/search", "method": "GET", "status": "200"]),
                "histogram")
            let hour = ClosedOpenRange.floor(nowMs, 3_600_000)
            for (index, (percent, latency)) in zip(cpuWeek, latencyWeek).enumerated() {
                let start = String(hour - Int64(index + 1) * day)
                // Hours −3 … +3 around this hour of that day, 720 samples each.
                try connection.query(
                    """
                    INSERT INTO metrics_1h (ts, series_id, min, max, sum, count, last, last_ts)
                    SELECT to_timestamp($1::double precision / 1000) + make_interval(hours => h), $2::bigint,
                           $3::float8, $3::float8, $3::float8 * 720, 720, $3::float8,
                           to_timestamp($1::double precision / 1000) + make_interval(hours => h, mins => 59)
                    FROM generate_series(-3, 3) AS h
                    """, [start, cpu, String(percent / 100)])
                // 100 requests an hour, all in the bucket of that day's latency (rows stamped with the hour's end).
                try connection.query(
                    """
                    INSERT INTO histograms_1h (ts, series_id, count, sum, min, max, zero_count, idx, cnt)
                    SELECT to_timestamp($1::double precision / 1000) + make_interval(hours => h + 1), $2::bigint,
                           100, $4::float8 * 100, 0.001, 100, 0, ARRAY[$3::int], ARRAY[100::bigint]
                    FROM generate_series(-3, 3) AS h
                    """, [start, requests, String(Histogram.index(of: latency)), String(latency)])
            }
            let now = String(nowMs)
            try connection.query(
                """
                INSERT INTO metrics (ts, series_id, value)
                SELECT to_timestamp($1::double precision / 1000) - make_interval(secs => g * 10), $2::bigint, $3::float8
                FROM generate_series(1, 24) AS g
                """, [now, cpu, String(cpuNow / 100)])
            try connection.query(
                """
                INSERT INTO histograms (ts, series_id, count, sum, min, max, zero_count, idx, cnt)
                SELECT to_timestamp($1::double precision / 1000) - make_interval(secs => g * 30), $2::bigint,
                       10, $4::float8 * 10, 0.001, 100, 0, ARRAY[$3::int], ARRAY[10::bigint]
                FROM generate_series(1, 6) AS g
                """, [now, requests, String(Histogram.index(of: latencyNow)), String(latencyNow)])
        }
    }

    /// Every judged series once the daemon has evaluated both signals.
    static func signals(_ daemon: Daemon) async throws -> [String: [String: Any]] {
        try await eventually("both signals judged") { () -> [String: [String: Any]]? in
            let (status, json) = try await daemon.get("/api/monitoring/anomalies?all=true")
            guard status == 200, let signals = (json as? [String: Any])?["signals"] as? [[String: Any]] else {
                return nil
            }
            var byMetric: [String: [String: Any]] = [:]
            for signal in signals where signal["status"] as? String != "no_current_value" {
                byMetric[signal["metric"] as? String ?? ""] = signal
            }
            return byMetric["cpu_percent"] != nil && byMetric["api_latency_p95_ms"] != nil ? byMetric : nil
        }
    }

    static func rounded(_ value: Double, _ digits: Double) -> Double {
        let factor = pow(10, digits)
        return (value * factor).rounded() / factor
    }

    static let expectedLatency = latencyWeek.map(bucketed).reduce(0, +) / 7

    @Test("a CPU spike and a latency spike over a 7-day history: flagged with the history's expected values")
    func spikeIsFlagged() async throws {
        let daemon = try Daemon.make()
        try await Self.writeHistory(daemon.databaseURL, nowMs: WallClock.nowMs(), cpuNow: 90, latencyNow: 0.45)
        let rules = "\(daemon.directory)/rules.d"
        try FileManager.default.createDirectory(atPath: rules, withIntermediateDirectories: true)
        try """
        - name: CPUAnomaly
          signal: anomaly_cpu_percent
          op: ">"
          threshold: 3
          summary: "CPU {{value}} σ above its usual level on {{host}}"
        """.write(toFile: "\(rules)/anomaly.yaml", atomically: true, encoding: .utf8)
        let monquery = try daemon.start(extra: [
            "MONQUERY_ANOMALIES_INTERVAL_SECONDS": "0.5", "MONQUERY_ANOMALIES_ENABLED": "true",
            "MONQUERY_ALERTS_ENABLED": "true",
            "MONQUERY_ALERTS_DEFAULT_RULES": "false", "MONQUERY_ALERTS_RULES_DIR": rules,
            "MONQUERY_ALERTS_INTERVAL_SECONDS": "0.5",
        ])
        defer { monquery.stop() }
        let signals = try await Self.signals(daemon)

        let cpu = try #require(signals["cpu_percent"])
        #expect(cpu["status"] as? String == "anomalous")
        #expect(cpu["host"] as? String == Self.host)
        #expect(cpu["current"] as? Double == 90)
        #expect(cpu["expected"] as? Double == 20)
        #expect(cpu["scale"] as? Double == Self.rounded((10.0 / 6).squareRoot(), 3))
        #expect(cpu["method"] as? String == "mean_stddev")
        #expect(cpu["deviation_percent"] as? Double == 350)
        #expect(cpu["deviation_sigmas"] as? Double == Self.rounded(70 / (10.0 / 6).squareRoot(), 1))
        #expect(cpu["direction"] as? String == "above")
        #expect((cpu["baseline"] as? [String: Any])?["points"] as? Double == 7)
        #expect((cpu["suggestion"] as? String)?.contains("process groups") == true)
        #expect(
            cpu["summary"] as? String
                == "CPU usage on anomaly-host: 90 %, expected 20 % (same hour over the last 7 days, 7 points), +350 % (54.2 σ)"
        )

        let latency = try #require(signals["api_latency_p95_ms"])
        #expect(latency["status"] as? String == "anomalous")
        #expect(latency["host"] is NSNull)
        #expect(latency["labels"] as? [String: String] == ["method": "GET", "endpoint": "/v1/search"])
        #expect(latency["current"] as? Double == Self.rounded(Self.bucketed(0.45), 3))
        #expect(latency["expected"] as? Double == Self.rounded(Self.expectedLatency, 3))
        #expect((latency["suggestion"] as? String)?.contains("slow queries") == true)

        // The list of anomalies, farthest first, and the summary's count.
        let (_, body) = try await daemon.get("/api/monitoring/anomalies")
        let json = try #require(body as? [String: Any])
        let anomalies = try #require(json["anomalies"] as? [[String: Any]])
        #expect(Set(anomalies.compactMap { $0["metric"] as? String }) == ["cpu_percent", "api_latency_p95_ms"])
        let baseline = try #require(json["baseline"] as? [String: Any])
        #expect(baseline["basis"] as? String == "same hour over the last 7 days")
        #expect((baseline["hours"] as? [String])?.count == 7)
        let (_, summary) = try await daemon.get("/api/monitoring/metrics/summary")
        let card = try #require((summary as? [String: Any])?["anomalies"] as? [String: Any])
        #expect(card["count"] as? Double == 2)
        #expect((card["top"] as? [[String: Any]])?.count == 2)
        // Only this host's signals with host=.
        let (_, filtered) = try await daemon.get("/api/monitoring/anomalies?host=\(Self.host)")
        let hostOnly = (filtered as? [String: Any])?["anomalies"] as? [[String: Any]] ?? []
        #expect(hostOnly.compactMap { $0["metric"] as? String } == ["cpu_percent"])

        // The rule that opted in fires; advisory otherwise.
        let alert = try await eventually("CPUAnomaly firing") { () -> [String: Any]? in
            let (_, json) = try await daemon.get("/api/monitoring/alerts?state=firing")
            let active = (json as? [String: Any])?["active"] as? [[String: Any]] ?? []
            return active.first { $0["rule"] as? String == "CPUAnomaly" }
        }
        #expect(alert["host"] as? String == Self.host)
        #expect((alert["value"] as? Double).map { $0 > 50 } == true, "\(alert)")
    }

    @Test("the same history without a spike: judged, nothing flagged")
    func noSpikeNoFlag() async throws {
        let daemon = try Daemon.make()
        try await Self.writeHistory(daemon.databaseURL, nowMs: WallClock.nowMs(), cpuNow: 20, latencyNow: 0.1)
        let monquery = try daemon.start(extra: [
            "MONQUERY_ANOMALIES_INTERVAL_SECONDS": "0.5", "MONQUERY_ANOMALIES_ENABLED": "true",
        ])
        defer { monquery.stop() }
        let signals = try await Self.signals(daemon)
        let cpu = try #require(signals["cpu_percent"])
        #expect(cpu["status"] as? String == "normal")
        #expect(cpu["expected"] as? Double == 20)
        #expect(cpu["current"] as? Double == 20)
        #expect(cpu["deviation_sigmas"] as? Double == 0)
        let latency = try #require(signals["api_latency_p95_ms"])
        #expect(latency["status"] as? String == "normal")
        #expect(latency["expected"] as? Double == Self.rounded(Self.expectedLatency, 3))
        #expect(latency["current"] as? Double == Self.rounded(Self.bucketed(0.1), 3))
        let (_, body) = try await daemon.get("/api/monitoring/anomalies")
        #expect(((body as? [String: Any])?["anomalies"] as? [Any])?.isEmpty == true, "\(body)")
        let (_, summary) = try await daemon.get("/api/monitoring/metrics/summary")
        #expect(((summary as? [String: Any])?["anomalies"] as? [String: Any])?["count"] as? Double == 0)
    }
}
