import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// Rollups (`metrics_1m`/`1h`/`6h`, `histograms_1m`/`1h`/`6h`), tier choice, pruning, and retention
/// on top of them, over synthetic data written straight into PostgreSQL.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct RollupTests {
    static let day: Int64 = 86_400_000

    /// Ten days of integer-valued samples (every 30 s) for `seriesPerHost` gauges and a
    /// counter that resets, on two hosts, plus one request-duration histogram window a
    /// minute; it ends 20 minutes before `nowMs`. Deterministic: the same call on two
    /// databases writes the same rows (and series ids).
    static func writeSyntheticData(_ databaseURL: String, nowMs: Int64, seriesPerHost: Int = 2) async throws {
        let writer = IngestWriter(databaseURL: databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        let today = DayPartition(timestampMs: nowMs)
        try await writer.ensurePartitions((-11...1).map { today.adding(days: Int64($0)) })
        // Long statements: run them off Swift's cooperative pool (two threads on a 2-core
        // machine), or every other test of the run stalls while they execute.
        try await offPool {
            let connection = try TestEnvironment.setupConnection(databaseURL)
            var series: [(String, String, String, String, String)] = []
            for host in ["h1", "h2"] {
                for index in 0..<seriesPerHost {
                    let labels = index == 0 ? Labels(["cpu": "all"]) : Labels(["cpu": "\(index)"])
                    series.append((host, "mon_host_cpu_usage_ratio", labels.canonicalKey, Self.json(labels), "gauge"))
                }
                series.append((host, "mon_redis_keyspace_hits_total", "", "{}", "counter"))
                series.append(
                    (
                        host, MetricNames.requestDuration,
                        Labels(["endpoint": "/v1/search", "method": "GET", "status": "200"]).canonicalKey,
                        #"{"endpoint": "/v1/search", "method": "GET", "status": "200"}"#, "histogram"
                    ))
            }
            for (host, name, key, labels, kind) in series {
                try connection.query(
                    "INSERT INTO metric_series (host, name, labels_key, labels, kind) VALUES ($1, $2, $3, $4::jsonb, $5)",
                    [host, name, key, labels, kind])
            }
            let start = String((nowMs - 10 * day) / 60_000 * 60)
            let samples = (10 * day - 20 * 60_000) / 30_000
            try connection.query(
                """
                INSERT INTO metrics (ts, series_id, value)
                SELECT to_timestamp($1::double precision) + make_interval(secs => g * 30), s.id,
                       CASE WHEN s.kind = 'counter' THEN (g % 5000) * 3 ELSE (g * 7 + s.id * 13) % 101 END
                FROM generate_series(0, $2::int) AS g, metric_series s
                WHERE s.kind <> 'histogram'
                """, [start, String(samples)])
            try connection.query(
                """
                INSERT INTO histograms (ts, series_id, count, sum, min, max, zero_count, idx, cnt)
                SELECT to_timestamp($1::double precision) + make_interval(secs => g * 60), s.id, 3 + g % 4, 2 * g % 9,
                       0.01, 0.5, g % 2, ARRAY[100 + g % 3, 140 + g % 5], ARRAY[1, 2 + g % 4 - g % 2]::bigint[]
                FROM generate_series(1, $2::int) AS g, metric_series s
                WHERE s.kind = 'histogram'
                """, [start, String(samples / 2)])

        }
    }

    static func json(_ labels: Labels) -> String {
        JSONValue.object(labels.pairs.map { ($0.name, .string($0.value)) }).encoded()
    }

    /// Rows of the rollup tables that differ from an aggregate of the raw rows (both ways).
    static func mismatches(_ daemon: Daemon) async throws -> [String: Int64] {
        try await offPool { try mismatchesBlocking(daemon) }
    }

    static func mismatchesBlocking(_ daemon: Daemon) throws -> [String: Int64] {
        var result: [String: Int64] = [:]
        for tier in ["1m", "1h", "6h"] {
            let bin = { (ts: String) in
                switch tier {
                case "1m": "date_trunc('minute', \(ts), 'UTC')"
                case "1h": "date_trunc('hour', \(ts), 'UTC')"
                default: "date_bin('6 hours', \(ts), timestamptz '1970-01-01 00:00:00+00')"
                }
            }
            let interval = ["1m": "1 minute", "1h": "1 hour"][tier] ?? "6 hours"
            let table = "metrics_\(tier)"
            let expected = """
                SELECT series_id, \(bin("ts")) AS ts, min(value), max(value), sum(value),
                       count(*), (array_agg(value ORDER BY ts DESC))[1]
                FROM metrics GROUP BY 1, 2
                """
            let actual = "SELECT series_id, ts, min, max, sum, count, last FROM \(table)"
            result[table] = try daemon.scalar(
                "SELECT count(*) FROM ((\(expected)) EXCEPT (\(actual)) UNION ALL ((\(actual)) EXCEPT (\(expected)))) x"
            )
            let histograms = "histograms_\(tier)"
            let expectedHistograms = """
                WITH w AS (
                    SELECT \(bin("ts - interval '1 microsecond'")) + interval '\(interval)' AS e, *
                    FROM histograms
                ), t AS (
                    SELECT series_id, e, sum(count)::bigint AS c, sum(sum) AS s, sum(zero_count)::bigint AS z
                    FROM w GROUP BY 1, 2
                ), b AS (
                    SELECT w.series_id, w.e, u.i, sum(u.c)::bigint AS c
                    FROM w, unnest(w.idx, w.cnt) AS u(i, c) GROUP BY 1, 2, 3
                ), a AS (
                    SELECT series_id, e, array_agg(i ORDER BY i) AS idx, array_agg(c ORDER BY i) AS cnt
                    FROM b GROUP BY 1, 2
                )
                SELECT t.series_id, t.e, t.c, t.s, t.z, a.idx, a.cnt FROM t JOIN a USING (series_id, e)
                """
            let actualHistograms = "SELECT series_id, ts, count, sum, zero_count, idx, cnt FROM \(histograms)"
            result[histograms] = try daemon.scalar(
                """
                SELECT count(*) FROM ((\(expectedHistograms)) EXCEPT (\(actualHistograms))
                    UNION ALL ((\(actualHistograms)) EXCEPT (\(expectedHistograms)))) x
                """)
        }
        return result
    }

    /// The relations a query's plan reads.
    static func relations(_ plan: String) -> Set<String> {
        let regex = /"Relation Name": "([a-z0-9_]+)"/
        return Set(plan.matches(of: regex).map { String($0.output.1) })
    }

    @Test(
        "10 days rolled up exactly (1m, 1h, 6h, histograms), late batch folded in, raw past retention dropped, 30-day chart from rollups, pruning"
    )
    func rollupsRetentionAndTiers() async throws {
        let daemon = try Daemon.make()
        let now = WallClock.nowMs()
        try await Self.writeSyntheticData(daemon.databaseURL, nowMs: now)
        let rollup = RollupWriter(databaseURL: daemon.databaseURL)
        let passes = try await rollup.catchUp(nowMs: now)
        #expect(passes.count >= 240, "ten days in one-hour chunks")
        let watermark = try #require(try await rollup.watermarkMs())
        #expect(watermark == (now - 15_000) / 60_000 * 60_000)
        #expect(
            try await Self.mismatches(daemon) == [
                "metrics_1m": 0, "metrics_1h": 0, "histograms_1m": 0, "histograms_1h": 0, "metrics_6h": 0,
                "histograms_6h": 0,
            ])
        #expect(try daemon.scalar("SELECT count(*) FROM metrics_1h") > 2 * 3 * 239)

        // A late batch (an agent replaying three-hour-old cycles) is queued and folded in.
        let writer = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
        let lateMs = now - 3 * 3_600_000
        let late = Batch(
            seq: 1, createdMs: now,
            samples: [
                Sample("mon_host_cpu_usage_ratio", ["cpu": "all"], value: 1000, timestampMs: lateMs),
                Sample("mon_host_cpu_usage_ratio", ["cpu": "all"], value: 999, timestampMs: lateMs + 90_000),
            ])
        let agent = AgentIdentity(agentID: "late", host: "h1", bootID: "b")
        #expect(try await writer.store(late, from: agent, nowMs: now) == .stored(samples: 2, rejected: 0))
        #expect(try daemon.scalar("SELECT count(*) FROM rollup_pending") == 1)
        let pass = try await rollup.runPass(nowMs: now)
        #expect(pass.lateRanges == 1)
        #expect(try daemon.scalar("SELECT count(*) FROM rollup_pending") == 0)
        let gaugeMax = """
            SELECT max(r.max)::bigint FROM %@ r JOIN metric_series s ON s.id = r.series_id
            WHERE s.name = 'mon_host_cpu_usage_ratio'
            """
        #expect(try daemon.scalar(gaugeMax.replacingOccurrences(of: "%@", with: "metrics_1h")) == 1000)
        #expect(try daemon.scalar(gaugeMax.replacingOccurrences(of: "%@", with: "metrics_1m")) == 1000)
        #expect(try daemon.scalar(gaugeMax.replacingOccurrences(of: "%@", with: "metrics_6h")) == 1000)
        #expect(
            try await Self.mismatches(daemon) == [
                "metrics_1m": 0, "metrics_1h": 0, "histograms_1m": 0, "histograms_1h": 0, "metrics_6h": 0,
                "histograms_6h": 0,
            ])

        // An install upgraded from a release without the six-hour tier: migration 10 fills it
        // from the hour rows (partitions included), with the same rows as the rollup passes.
        try await offPool {
            try daemon.execute("DROP TABLE metrics_6h, histograms_6h")
            try daemon.execute("DELETE FROM schema_migrations WHERE version = 10")
        }
        try await writer.migrate()
        #expect(try await Self.mismatches(daemon).values.allSatisfy { $0 == 0 })
        #expect(try daemon.scalar("SELECT count(*) FROM metrics_6h") > 2 * 3 * 39)

        // Expected 30-day figures, from raw rows before retention drops the oldest days.
        let rawAverage = try #require(
            Double(
                try daemon.column(
                    """
                    SELECT avg(m.value) FROM metrics m JOIN metric_series s ON s.id = m.series_id
                    WHERE s.host = 'h1' AND s.name = 'mon_host_cpu_usage_ratio' AND s.labels_key = $1
                    """, [Labels(["cpu": "all"]).canonicalKey]
                ).first?.flatMap { $0 } ?? ""))
        let rawPlan = TierPlan(range: try TimeRange(period: "30d", step: nil, nowMs: now), watermarkMs: nil)
        let rawQuery = QueryStore.increaseQuery(name: "mon_redis_keyspace_hits_total", host: "h1", plan: rawPlan)
        let rawIncrease = try #require(
            try TestEnvironment.setupConnection(daemon.databaseURL)
                .query(rawQuery.sql, rawQuery.parameters).double(0, 2))

        await PartitionMaintenance.applyRetention(
            .defaults, writers: IngestWriterPool(writers: [writer]), nowMs: now, logger: .init(label: "test"))
        let today = DayPartition(timestampMs: now)
        func partitions(_ table: String) throws -> Int64 {
            try daemon.scalar(
                "SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = $1",
                [table])
        }
        #expect(try partitions("metrics") == 9, "days -7 … +1 kept")
        #expect(try partitions("histograms") == 9)
        #expect(try partitions("metrics_1m") == 13, "days -11 … +1 kept (30 days)")
        #expect(try partitions("metrics_1h") == 13)
        #expect(try partitions("metrics_6h") >= 13, "kept as long as the hour tier")
        #expect(
            try daemon.scalar(
                "SELECT count(*) FROM metrics WHERE ts < $1::timestamptz",
                [
                    today.adding(days: -7).startLiteral
                ]) == 0)

        // The API answers a 30-day chart from the rollups, with the raw-exact average.
        let process = try daemon.start()
        defer { process.stop() }
        let (status, json) = try await eventually("30-day chart") { () -> (Int, Any)? in
            try? await daemon.get("/api/monitoring/metrics?type=system&period=30d&host=h1")
        }
        #expect(status == 200)
        let hosts = try #require((json as? [String: Any])?["hosts"] as? [[String: Any]])
        let h1 = try #require(hosts.first)
        let average = try #require((h1["average"] as? [String: Any])?["cpu_usage_percent"] as? Double)
        #expect(abs(average - rawAverage * 100) < 1e-6 * rawAverage * 100, "\(average) vs \(rawAverage * 100)")
        let points = try #require(h1["series"] as? [[String: Any]])
        #expect(points.count >= 20, "12-hour points over 10 days: \(points.count)")
        let first = try #require(points.first?["timestamp"] as? String)
        #expect(first < Timestamp.iso8601(ms: now - 9 * Self.day), "first point \(first)")

        // The counter's increase over 30 days from the hour rows: it covers the dropped days
        // (raw has only 7 left), and misses only what each reset hour grew before its reset
        // (≤ 120 samples × 3 per reset, one reset every 5 000 samples).
        let store = QueryStore(databaseURL: daemon.databaseURL)
        let tiered = try #require(
            try await store.increase(
                name: "mon_redis_keyspace_hits_total", host: "h1",
                range: TimeRange(period: "30d", step: nil, nowMs: now)
            ).first?.value)
        #expect(tiered <= rawIncrease && tiered >= rawIncrease - 7 * 360, "\(tiered) vs raw \(rawIncrease)")

        // Pruning: each query reads the partitions of its tier and time range only.
        let month = try TimeRange(period: "30d", step: nil, nowMs: now)
        let monthPlan = try await store.tierPlan(for: month)
        #expect(monthPlan.tier == .sixHours && !monthPlan.readsRaw)
        let monthQuery = QueryStore.seriesQuery(
            names: ["mon_host_cpu_usage_ratio"], host: nil, range: month, plan: monthPlan)
        let monthRelations = Self.relations(try await store.explain(monthQuery.sql, monthQuery.parameters))
        #expect(monthRelations.contains { $0.hasPrefix("metrics_6h_p") })
        // Hour rows only for the range's first (partial) six hours: one or two days.
        #expect(monthRelations.filter { $0.hasPrefix("metrics_1h_p") }.count <= 2, "\(monthRelations)")
        #expect(
            monthRelations.allSatisfy {
                $0.hasPrefix("metrics_6h_p") || $0.hasPrefix("metrics_1h_p") || $0 == "metric_series"
            }, "\(monthRelations)")
        let hour = try TimeRange(period: "1h", step: nil, nowMs: now)
        let hourPlan = try await store.tierPlan(for: hour)
        #expect(hourPlan.tier == .minute && hourPlan.readsRaw)
        let hourQuery = QueryStore.seriesQuery(
            names: ["mon_host_cpu_usage_ratio"], host: nil, range: hour, plan: hourPlan)
        let hourRelations = Self.relations(try await store.explain(hourQuery.sql, hourQuery.parameters))
        let recentDays = Set([today, DayPartition(timestampMs: now - 3_600_000)])
        let allowed = Set(recentDays.flatMap { [$0.partitionName(of: "metrics"), $0.partitionName(of: "metrics_1m")] })
        #expect(
            hourRelations.subtracting(["metric_series"]).isSubset(of: allowed) && hourRelations.count >= 2,
            "\(hourRelations)")
        let week = try TimeRange(period: "7d", step: nil, nowMs: now)
        let weekPlan = try await store.tierPlan(for: week)
        let weekSQL = """
            SELECT count(*) FROM (\(weekPlan.histogramSource(seriesFilter: "SELECT id FROM metric_series WHERE name = $1"))) h
            """
        let weekRelations = Self.relations(try await store.explain(weekSQL, [MetricNames.requestDuration]))
        #expect(
            weekRelations.allSatisfy {
                $0.hasPrefix("histograms_6h_p") || $0.hasPrefix("histograms_1h_p") || $0 == "metric_series"
            }, "\(weekRelations)")
        // Seven days touch 8 day partitions; the current six hours' row is stamped with their
        // end, which is in tomorrow's partition from 18:00 UTC.
        let unitEnd = (now / 21_600_000 + 1) * 21_600_000
        let partitions = DayPartition(timestampMs: unitEnd) == today ? 8 : 9
        #expect(weekRelations.filter { $0.hasPrefix("histograms_6h_p") }.count <= partitions, "\(weekRelations)")
        #expect(weekRelations.filter { $0.hasPrefix("histograms_1h_p") }.count <= 2, "\(weekRelations)")
    }

    @Test(
        "monquery killed with -9 in the middle of the rollup, twice, then restarted: rollups identical to an uninterrupted run"
    )
    func killedRollupMatchesUninterrupted() async throws {
        let interrupted = try Daemon.make()
        let reference = try Daemon.make()
        let now = WallClock.nowMs()
        try await Self.writeSyntheticData(interrupted.databaseURL, nowMs: now, seriesPerHost: 6)
        try await Self.writeSyntheticData(reference.databaseURL, nowMs: now, seriesPerHost: 6)
        let dataEnd = (now - 20 * 60_000) / 60_000 * 60_000

        var kills = 0
        while kills < 2 {
            let process = try interrupted.start()
            // Wait until a rollup transaction is open and the watermark is neither unset nor caught up.
            let caught: Bool = try await eventually("a rollup transaction in progress", seconds: 120) {
                let open = try interrupted.scalar(
                    """
                    SELECT count(*) FROM pg_stat_activity
                    WHERE application_name = 'monquery-rollup' AND xact_start IS NOT NULL
                    """)
                let watermark = try interrupted.column(
                    "SELECT (extract(epoch FROM watermark) * 1000)::bigint FROM rollup_state WHERE tier = '1m'"
                ).first.flatMap { $0 }.flatMap { Int64($0) }
                guard let watermark, open > 0 else { return nil }
                return watermark < dataEnd
            }
            process.stop(SIGKILL)
            #expect(caught, "the rollup was still behind when killed")
            kills += 1
        }
        let final = try interrupted.start()
        defer { final.stop() }
        _ = try await eventually("rollups caught up", seconds: 300) { () -> Bool? in
            let watermark = try interrupted.column(
                "SELECT (extract(epoch FROM watermark) * 1000)::bigint FROM rollup_state WHERE tier = '1m'"
            ).first.flatMap { $0 }.flatMap { Int64($0) }
            return (watermark ?? 0) > dataEnd ? true : nil
        }
        try await RollupWriter(databaseURL: reference.databaseURL).catchUp(nowMs: WallClock.nowMs())
        for table in Schema.rollupTables {
            let digest = "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM \(table) t"
            let a = try await offPool { try interrupted.column(digest).first.flatMap { $0 } }
            let b = try await offPool { try reference.column(digest).first.flatMap { $0 } }
            // The synthetic data has no statement events: statements_1h stays empty in both.
            #expect((a != nil || table == "statements_1h") && a == b, "\(table) differs after kill -9")
        }
        #expect(try await Self.mismatches(interrupted).values.allSatisfy { $0 == 0 })
    }
}
