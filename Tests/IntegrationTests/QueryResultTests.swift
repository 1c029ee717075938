import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// The API's aggregate queries give the figures of straightforward reference SQL over the
/// same rows: the rewrites that made them cheap (issue 9) must not change a number.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct QueryResultTests {
    /// `sql`'s rows as text, read off the cooperative pool.
    static func rows(_ databaseURL: String, _ sql: String, _ parameters: [String?]) async throws -> [[String?]] {
        try await offPool {
            let result = try TestEnvironment.setupConnection(databaseURL).query(sql, parameters)
            return (0..<result.rowCount).map { row in (0..<result.columnCount).map { result.string(row, $0) } }
        }
    }

    /// The series query as it was before issue 9: one ordered `array_agg` per bucket.
    static func referenceSeriesSQL(_ plan: TierPlan) -> String {
        let filter = "SELECT id FROM metric_series WHERE name = ANY($1::text[]) AND ($2::text IS NULL OR host = $2)"
        return """
            SELECT s.id, (floor(extract(epoch FROM src.ts) / $3) * $3)::bigint AS bucket,
                   sum(src.sum) / sum(src.count), (array_agg(src.last ORDER BY src.last_ts DESC))[1],
                   (extract(epoch FROM max(src.last_ts)) * 1000)::bigint
            FROM (\(plan.metricsSource(seriesFilter: filter))) AS src (series_id, ts, sum, count, last, last_ts)
            JOIN metric_series s ON s.id = src.series_id
            GROUP BY s.id, 2 ORDER BY 1, 2
            """
    }

    @Test("24-h chart on the minute tier with a raw tail: buckets, average and latest as the reference query")
    func seriesMatchReference() async throws {
        let daemon = try Daemon.make()
        let now = WallClock.nowMs()
        try await RollupTests.writeSyntheticData(daemon.databaseURL, nowMs: now, seriesPerHost: 3)
        try await RollupWriter(databaseURL: daemon.databaseURL).catchUp(nowMs: now)
        // Two raw samples after the watermark: the latest comes from the raw part.
        try daemon.execute(
            """
            INSERT INTO metrics (ts, series_id, value)
            SELECT to_timestamp(\(now - 9000)::double precision / 1000) - make_interval(secs => g), s.id, 40 + g
            FROM metric_series s, generate_series(0, 1) g
            WHERE s.host = 'h1' AND s.name = 'mon_host_cpu_usage_ratio'
            """)
        let store = QueryStore(databaseURL: daemon.databaseURL)
        let range = try TimeRange(period: "24h", step: "30m", nowMs: now)
        #expect(range.stepSeconds == 1800)
        let plan = try await store.tierPlan(for: range)
        #expect(plan.tier == .minute && plan.readsRaw)
        let series = try await store.series(names: ["mon_host_cpu_usage_ratio"], host: nil, range: range)
        #expect(series.count == 6)
        let parameters = [PostgresArray.text(["mon_host_cpu_usage_ratio"]), nil, "1800"]
        let reference = try await Self.rows(daemon.databaseURL, Self.referenceSeriesSQL(plan), parameters)
        var expected: [Int64: (points: [(Int64, Double)], latest: (ms: Int64, value: Double))] = [:]
        for row in reference {
            let id = try #require(row[0].flatMap { Int64($0) })
            let point = (try #require(row[1].flatMap { Int64($0) }) * 1000, try #require(row[2].flatMap { Double($0) }))
            let last = (try #require(row[4].flatMap { Int64($0) }), try #require(row[3].flatMap { Double($0) }))
            var entry = expected[id] ?? ([], (Int64.min, .nan))
            entry.points.append(point)
            if last.0 >= entry.latest.ms { entry.latest = last }
            expected[id] = entry
        }
        #expect(expected.count == series.count)
        for data in series {
            let want = try #require(expected[data.seriesID])
            #expect(data.points.map(\.ms) == want.points.map(\.0))
            #expect(zip(data.points, want.points).allSatisfy { abs($0.value - $1.1) <= 1e-9 * max(1, abs($1.1)) })
            #expect(data.latestMs == want.latest.ms && data.latest == want.latest.value, "\(data.host) \(data.labels)")
        }
        let h1 = try #require(series.first { $0.host == "h1" && $0.labels["cpu"] == "all" })
        #expect(h1.latest == 40 && h1.latestMs == now - 9000, "the raw sample is the latest")
        // A labels filter is read in SQL: the same series, only those with the labels.
        let allCPU = try await store.series(
            names: ["mon_host_cpu_usage_ratio"], host: nil, labels: ["cpu": "all"], range: range)
        #expect(allCPU.map(\.seriesID).sorted() == series.filter { $0.labels["cpu"] == "all" }.map(\.seriesID).sorted())
        #expect(allCPU.count == 2)
        #expect(
            try await store.series(
                names: ["mon_host_cpu_usage_ratio"], host: "h2", labels: ["cpu": "1", "x": "y"], range: range
            ).isEmpty)
        #expect(
            try await store.series(
                names: ["mon_host_cpu_usage_ratio"], host: nil, labels: ["cpu": "\u{0}"], range: range
            )
            .isEmpty)
    }

    @Test("a week of request statistics from the six-hour tier: counts, statuses, buckets and per-step P50/P95/P99")
    func endpointStatsMatchReference() async throws {
        let daemon = try Daemon.make()
        let now = WallClock.nowMs()
        try await RollupTests.writeSyntheticData(daemon.databaseURL, nowMs: now)
        try await RollupWriter(databaseURL: daemon.databaseURL).catchUp(nowMs: now)
        let store = QueryStore(databaseURL: daemon.databaseURL)
        let range = try TimeRange(period: "7d", step: nil, nowMs: now)
        let plan = try await store.tierPlan(for: range)
        #expect(plan.tier == .sixHours)
        let stats = try await store.endpointStats(host: nil, range: range)
        let byHost = try await store.endpointStatsByHost(host: nil, range: range)
        // The reference: every source row with its labels, merged here.
        let source = plan.histogramSource(seriesFilter: "SELECT id FROM metric_series WHERE name = $1")
        let rows = try await Self.rows(
            daemon.databaseURL,
            """
            SELECT s.host, s.labels->>'status', (extract(epoch FROM h.ts) * 1000)::bigint, h.count,
                   array_to_string(h.idx, ','), array_to_string(h.cnt, ',')
            FROM (\(source)) h JOIN metric_series s ON s.id = h.series_id
            """, [MetricNames.requestDuration])
        // 28 six-hour units a week per host, the first few hours from hour rows.
        #expect(rows.count >= 2 * 28 && rows.count < 2 * 40, "\(rows.count)")
        // The same requests as the hour tier.
        let watermark = try await RollupWriter(databaseURL: daemon.databaseURL).watermarkMs()
        let hourPlan = TierPlan(range: range, watermarkMs: watermark, coarsest: .hour)
        let hourRows = try await Self.rows(
            daemon.databaseURL,
            "SELECT sum(h.count) FROM (\(hourPlan.histogramSource(seriesFilter: "SELECT id FROM metric_series WHERE name = $1"))) h",
            [MetricNames.requestDuration])
        #expect(hourPlan.tier == .hour)
        var requests: Int64 = 0
        var buckets: [Int32: Int64] = [:]
        var steps: [Int64: (requests: Int64, buckets: [Int32: Int64])] = [:]
        let stepMs = range.stepSeconds * 1000
        for row in rows {
            let count = try #require(row[3].flatMap { Int64($0) })
            requests += count
            let endMs = try #require(row[2].flatMap { Int64($0) })
            let step = ClosedOpenRange.floor(endMs - 1, stepMs)
            steps[step, default: (0, [:])].requests += count
            let indexes = (row[4] ?? "").split(separator: ",").compactMap { Int32($0) }
            let counts = (row[5] ?? "").split(separator: ",").compactMap { Int64($0) }
            for (index, n) in zip(indexes, counts) {
                buckets[index, default: 0] += n
                steps[step, default: (0, [:])].buckets[index, default: 0] += n
            }
        }
        let endpoint = try #require(stats.first)
        #expect(stats.count == 1 && endpoint.endpoint == "/v1/search" && endpoint.method == "GET")
        #expect(endpoint.byStatus == ["200": requests])
        #expect(hourRows.first?.first.flatMap { $0 }.flatMap { Int64($0) } == requests)
        // Per host, step-less: the raw rows' counts (`MinutePlan`), not the hour tier's.
        let rawByHost = try await Self.rows(
            daemon.databaseURL,
            """
            SELECT s.host, sum(h.count) FROM histograms h JOIN metric_series s ON s.id = h.series_id
            WHERE s.name = $1 AND h.ts > to_timestamp($2::double precision / 1000)
              AND h.ts <= to_timestamp($3::double precision / 1000)
            GROUP BY 1
            """, [MetricNames.requestDuration, String(range.startMs), String(range.endMs)])
        #expect(rawByHost.count == 2)
        #expect(
            byHost.mapValues { $0.map(\.requests) }
                == Dictionary(uniqueKeysWithValues: rawByHost.map { ($0[0] ?? "", [Int64($0[1] ?? "") ?? -1]) }))
        #expect(endpoint.histogram.count == UInt64(buckets.values.reduce(0, +)) + endpoint.histogram.zeroCount)
        #expect(endpoint.points.map(\.startMs) == steps.keys.sorted())
        /// `Histogram.quantile`'s bucket: the first whose running count exceeds q × (total - 1).
        func quantile(_ q: Double, _ counts: [Int32: Int64]) -> Double? {
            let total = counts.values.reduce(0, +)
            var running: Int64 = 0
            for index in counts.keys.sorted() {
                running += counts[index] ?? 0
                if Double(running) > (q * Double(total - 1)).rounded(.down) { return Histogram.value(ofIndex: index) }
            }
            return nil
        }
        for point in endpoint.points {
            let want = try #require(steps[point.startMs])
            #expect(point.requests == want.requests && point.serverErrors == 0)
            #expect(point.p50 == quantile(0.5, want.buckets), "\(point.startMs)")
            #expect(point.p95 == quantile(0.95, want.buckets) && point.p99 == quantile(0.99, want.buckets))
        }
    }

    @Test("slow statements: sums and maxima per statement, text of the latest event that has one, latest plan")
    func slowStatementsAggregate() async throws {
        let daemon = try Daemon.make()
        let now = WallClock.nowMs()
        let writer = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        let today = DayPartition(timestampMs: now)
        try await writer.ensurePartitions([today.adding(days: -1), today])
        // Statement q1 on two hosts, q2 on h1: one event a minute for 10 minutes; the newest
        // q1 event on h1 carries no text (as when the text was not read), the one before a new text;
        // q1 on h1 has the largest total time, then q1 on h2, then q2.
        try daemon.execute(
            """
            INSERT INTO events (ts, host, kind, key, payload)
            SELECT to_timestamp(\(now - 1000)::double precision / 1000) - make_interval(mins => g), h, 'pg_statement', k,
                   jsonb_strip_nulls(jsonb_build_object(
                       'queryid', k, 'database', 'db', 'calls', g + 1, 'total_exec_ms', (g + 1) * (CASE WHEN k = 'q2' THEN 1 WHEN h = 'h1' THEN 10 ELSE 5 END),
                       'mean_exec_ms', 20 - g, 'max_exec_ms_since_reset', 100 + g, 'rows', 2, 'shared_blks_hit', 3,
                       'shared_blks_read', 1,
                       'query', CASE WHEN h = 'h1' AND k = 'q1' AND g = 0 THEN NULL
                                     WHEN g = 1 THEN 'SELECT ' || k || ' new' ELSE 'SELECT ' || k || ' old' END))
            FROM generate_series(0, 9) g, (VALUES ('h1', 'q1'), ('h2', 'q1'), ('h1', 'q2')) AS s(h, k);
            INSERT INTO events (ts, host, kind, key, payload)
            SELECT to_timestamp(\(now - 1000)::double precision / 1000) - make_interval(mins => g), 'h1', 'pg_plan', 'q1',
                   jsonb_build_object('plan', 'plan ' || g)
            FROM generate_series(2, 3) g;
            """)
        let store = QueryStore(databaseURL: daemon.databaseURL)
        let statements = try await store.slowStatements(
            host: nil, range: try TimeRange(period: "1h", step: nil, nowMs: now), limit: 2)
        #expect(statements.map { "\($0.host) \($0.key)" } == ["h1 q1", "h2 q1"], "ranked by total time, limited")
        let first = try #require(statements.first)
        #expect(first.query == "SELECT q1 new")
        #expect(statements.last?.query == "SELECT q1 old", "h2's newest event has a text")
        #expect(first.calls == 55 && first.totalMs == 550 && first.worstIntervalMeanMs == 20)
        #expect(first.maxMsSinceReset == 109 && first.rows == 20 && first.sharedHit == 30 && first.sharedRead == 10)
        #expect(first.queryid == "q1" && first.database == "db")
        #expect(first.plan?.value?["plan"]?.stringValue == "plan 2")
        #expect(statements.last?.plan == nil)
        let h1 = try await store.slowStatements(
            host: "h1", range: try TimeRange(period: "1h", step: nil, nowMs: now), limit: 10)
        #expect(h1.map(\.key) == ["q1", "q2"] && h1.last?.query == "SELECT q2 old" && h1.last?.totalMs == 55)
    }

    /// Reference: the sums of the raw `pg_statement` events with `ts` in `[fromMs, toMs]` per (host, key).
    static func rawStatementTotals(_ databaseURL: String, fromMs: Int64, toMs: Int64) async throws -> [String: Double] {
        let rows = try await rows(
            databaseURL,
            """
            SELECT host || ' ' || key, sum((payload->>'total_exec_ms')::float8)
            FROM events WHERE kind = 'pg_statement'
              AND ts >= to_timestamp($1::double precision / 1000) AND ts <= to_timestamp($2::double precision / 1000)
            GROUP BY 1
            """, [String(fromMs), String(toMs)])
        return Dictionary(uniqueKeysWithValues: rows.map { ($0[0] ?? "", Double($0[1] ?? "") ?? .nan) })
    }

    @Test(
        "slow statements over a day come from the hourly rollup (whole hours) plus raw events, with the raw sums"
    )
    func slowStatementsFromHourlyRollup() async throws {
        let daemon = try Daemon.make()
        let now = WallClock.nowMs()
        let writer = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        let today = DayPartition(timestampMs: now)
        try await writer.ensurePartitions([today.adding(days: -2), today.adding(days: -1), today])
        // Three statements on two hosts, one delta every 5 minutes for 30 hours, up to now.
        try daemon.execute(
            """
            INSERT INTO events (ts, host, kind, key, payload)
            SELECT to_timestamp(\(now)::double precision / 1000) - make_interval(mins => 5 * g), h, 'pg_statement', k,
                   jsonb_build_object('queryid', k, 'database', 'db', 'calls', 1, 'total_exec_ms', g % 7 + length(k),
                                      'mean_exec_ms', g % 7, 'query', 'SELECT ' || k)
            FROM generate_series(0, 359) g, (VALUES ('h1', 'q1'), ('h2', 'q1'), ('h1', 'q22')) AS s(h, k);
            """)
        let rollup = RollupWriter(databaseURL: daemon.databaseURL, settleSeconds: 0)
        try await rollup.catchUp(nowMs: now)
        let hourRows = try await Self.rows(daemon.databaseURL, "SELECT count(*) FROM statements_1h", [])
        #expect((Int((hourRows.first?.first ?? nil) ?? "0") ?? 0) > 60, "the rollup summed the statements per hour")

        let store = QueryStore(databaseURL: daemon.databaseURL)
        let day = try TimeRange(period: "24h", step: nil, nowMs: now)
        let firstWholeHour = ClosedOpenRange.floor(day.startMs + 3_599_999, 3_600_000)
        let expectedDay = try await Self.rawStatementTotals(daemon.databaseURL, fromMs: firstWholeHour, toMs: now)
        let sixHours = try TimeRange(period: "6h", step: nil, nowMs: now)
        let expectedSix = try await Self.rawStatementTotals(daemon.databaseURL, fromMs: sixHours.startMs, toMs: now)
        // The rows of one hour in the middle of both periods go: the answers must not change,
        // so they come from statements_1h there (and equal the raw sums).
        let gone = ClosedOpenRange.floor(now, 3_600_000) - 3 * 3_600_000
        try daemon.execute(
            """
            DELETE FROM events WHERE kind = 'pg_statement'
              AND ts >= to_timestamp(\(gone)::double precision / 1000)
              AND ts < to_timestamp(\(gone + 3_600_000)::double precision / 1000)
            """)
        for (range, expected) in [(day, expectedDay), (sixHours, expectedSix)] {
            let statements = try await store.slowStatements(host: nil, range: range, limit: 10)
            #expect(statements.map { "\($0.host) \($0.key)" }.sorted() == expected.keys.sorted())
            for statement in statements {
                #expect(statement.totalMs == expected["\(statement.host) \(statement.key)"], "\(range.periodSeconds) s")
                #expect(statement.query == "SELECT \(statement.key)")
            }
        }
        // A late delta (a spool replay) in an hour already summed: queued, folded in by the next pass.
        let late = gone - 1_800_000
        try daemon.execute(
            """
            INSERT INTO events (ts, host, kind, key, payload)
            VALUES (to_timestamp(\(late)::double precision / 1000), 'h2', 'pg_statement', 'q1',
                    '{"queryid": "q1", "calls": 1, "total_exec_ms": 1000}');
            INSERT INTO rollup_pending (lo, hi)
            VALUES (to_timestamp(\(late)::double precision / 1000), to_timestamp(\(late)::double precision / 1000));
            """)
        try await rollup.catchUp(nowMs: now)
        let after = try await store.slowStatements(host: "h2", range: day, limit: 10)
        #expect(after.first?.totalMs == (expectedDay["h2 q1"] ?? 0) + 1000)
    }
}
