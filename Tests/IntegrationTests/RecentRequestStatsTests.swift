import Foundation
import MonCore
import MonQueryKit
import Testing

/// The step-less request statistics of the last minutes (the summary, the alert rules on API
/// signals, the anomaly monitor's current window) read minute rollup rows for the whole
/// minutes the rollup has computed (`MinutePlan`), and must give the all-raw answer: same
/// counts by status, buckets, zero count, sum, minimum and maximum.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct RecentRequestStatsTests {
    /// What the comparison looks at, per endpoint (or per host).
    struct Figures: Equatable, CustomStringConvertible {
        var byStatus: [String: Int64]
        var histogram: Histogram
        var points: Int

        init(byStatus: [String: Int64], histogram: Histogram, points: Int = 0) {
            (self.byStatus, self.histogram, self.points) = (byStatus, histogram, points)
        }

        init(_ stats: EndpointStats) {
            self.init(byStatus: stats.byStatus, histogram: stats.histogram, points: stats.points.count)
        }

        var description: String {
            "\(byStatus) n=\(histogram.count) zero=\(histogram.zeroCount) sum=\(histogram.sum) "
                + "min=\(histogram.min) max=\(histogram.max) buckets=\(histogram.buckets.count) points=\(points)"
        }
    }

    static func figures(_ stats: [EndpointStats]) -> [String: Figures] {
        Dictionary(uniqueKeysWithValues: stats.map { ("\($0.method) \($0.endpoint)", Figures($0)) })
    }

    /// Two hosts × two endpoints × statuses 200 and 503, one 5-s window per series every 5 s
    /// (stamped with its end) for the 15 minutes before `nowMs`. Sums are multiples of 1/4, so
    /// adding them in any order gives the same double.
    static func writeWindows(_ daemon: Daemon, nowMs: Int64) async throws {
        try await TestEnvironment.migrate(daemon.databaseURL, nowMs: nowMs)
        try daemon.execute(
            """
            INSERT INTO metric_series (host, name, labels_key, labels, kind)
            SELECT h, '\(MetricNames.requestDuration)', e || ' ' || st,
                   jsonb_build_object('endpoint', e, 'method', 'GET', 'status', st, 'source', 'statsd'), 'histogram'
            FROM unnest(ARRAY['h1', 'h2']) h, unnest(ARRAY['/v1/a', '/v1/b']) e, unnest(ARRAY['200', '503']) st;
            INSERT INTO histograms (ts, series_id, count, sum, min, max, zero_count, idx, cnt)
            SELECT to_timestamp(\(ClosedOpenRange.floor(nowMs, 5000))::double precision / 1000)
                       - make_interval(secs => 5 * g),
                   s.id, 3 + (g + s.id) % 4, ((g * 7 + s.id) % 16) * 0.25, 0.001 * (1 + (g + s.id) % 9),
                   0.5 + ((g * 3 + s.id) % 11) * 0.1, (g + s.id) % 3,
                   ARRAY[100 + g % 7, 140 + s.id % 5, 200 + g % 3], ARRAY[1 + g % 2, 2, g % 3]::bigint[]
            FROM generate_series(0, 179) g, metric_series s;
            """)
    }

    /// A database with `writeWindows` up to `msPastMinute` after the current minute, rolled
    /// up to that minute (the watermark).
    static func rolledUp(msPastMinute: Int64) async throws -> (daemon: Daemon, minute: Int64, now: Int64) {
        let daemon = try Daemon.make()
        let minute = ClosedOpenRange.floor(WallClock.nowMs(), 60_000)
        let now = minute + msPastMinute
        try await writeWindows(daemon, nowMs: now)
        try setWatermark(daemon, minute - 20 * 60_000)
        let rollup = RollupWriter(databaseURL: daemon.databaseURL, settleSeconds: 0)
        try await rollup.catchUp(nowMs: now)
        #expect(try await rollup.watermarkMs() == minute)
        return (daemon, minute, now)
    }

    static func setWatermark(_ daemon: Daemon, _ watermarkMs: Int64?) throws {
        let value = watermarkMs.map { "to_timestamp(\($0)::double precision / 1000)" } ?? "NULL"
        try daemon.execute("UPDATE rollup_state SET watermark = \(value) WHERE tier = '1m'")
    }

    /// The mixed reads against the all-raw reads (the per-step plan of a 5-s step reads raw
    /// rows only), per endpoint and per host, for all hosts and for one.
    static func expectRawAnswer(
        _ store: QueryStore, nowMs: Int64, _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let mixed = try TimeRange(period: "5m", step: "1m", nowMs: nowMs)
        let raw = try TimeRange(period: "5m", step: "5s", nowMs: nowMs)
        #expect(raw.startMs == mixed.startMs && raw.endMs == mixed.endMs)
        #expect(try await store.tierPlan(for: raw).tier == .raw)
        for host in [nil, "h1"] as [String?] {
            let rawStats = try await store.endpointStats(host: host, range: raw)
            #expect(rawStats.count == 2, comment, sourceLocation: sourceLocation)
            let want = Self.figures(rawStats).mapValues { figures in
                var figures = figures
                figures.points = 0
                return figures
            }
            let got = Self.figures(try await store.endpointStats(host: host, range: mixed, perStep: false))
            #expect(got == want, comment, sourceLocation: sourceLocation)
            // Per host: every endpoint of the host merged.
            var hosts: [String: [EndpointStats]] = [:]
            for name in host.map({ [$0] }) ?? ["h1", "h2"] {
                hosts[name] = try await store.endpointStats(host: name, range: raw)
            }
            let wantByHost = hosts.mapValues { stats in
                let totals = EndpointStats.totals(stats)
                var byStatus: [String: Int64] = [:]
                for endpoint in stats { byStatus.merge(endpoint.byStatus, uniquingKeysWith: +) }
                return Figures(byStatus: byStatus, histogram: totals.histogram)
            }
            let byHost = try await store.endpointStatsByHost(host: host, range: mixed)
            #expect(byHost.mapValues { $0.map(\.endpoint) } == wantByHost.mapValues { _ in ["*"] })
            #expect(
                byHost.compactMapValues { $0.first.map(Figures.init) } == wantByHost, comment,
                sourceLocation: sourceLocation)
        }
    }

    @Test("last 5 minutes from a start off the minute equal all-raw: watermark inside, before, missing")
    func mixedEqualsRaw() async throws {
        let (daemon, minute, now) = try await Self.rolledUp(msPastMinute: 37_300)
        let store = QueryStore(databaseURL: daemon.databaseURL)
        let range = try TimeRange(period: "5m", step: "1m", nowMs: now)
        #expect(range.startMs % 60_000 != 0, "a partial first minute")
        let plan = MinutePlan(range: range, watermarkMs: minute)
        #expect(plan.readsMinutes && plan.minutesFromMs > range.startMs && plan.minutesToMs == minute)

        try await Self.expectRawAnswer(store, nowMs: now, "watermark on the last minute before now")
        for (watermark, comment) in [
            (minute - 120_000, "watermark two minutes back"),
            (range.startMs + 10_000, "watermark inside the partial first minute"),
            (range.startMs - 600_000, "watermark before the window"),
        ] as [(Int64, Comment)] {
            try Self.setWatermark(daemon, watermark)
            try await Self.expectRawAnswer(store, nowMs: now, comment)
        }
        try Self.setWatermark(daemon, nil)
        try await Self.expectRawAnswer(store, nowMs: now, "no watermark")
    }

    @Test("the minute rows are read: with a rolled-up minute's raw windows deleted, the counts stay")
    func minuteRowsAreRead() async throws {
        let (daemon, minute, now) = try await Self.rolledUp(msPastMinute: 21_700)
        let store = QueryStore(databaseURL: daemon.databaseURL)
        let range = try TimeRange(period: "5m", step: "1m", nowMs: now)
        let before = Self.figures(try await store.endpointStats(host: nil, range: range, perStep: false))
        let beforeByHost = try await store.endpointStatsByHost(host: nil, range: range).mapValues {
            $0.map(Figures.init)
        }
        let requests = before.values.reduce(0) { $0 + $1.byStatus.values.reduce(0, +) }
        #expect(requests > 0)
        // The raw windows of the minute ending 2 minutes before `minute` (12 per series) go.
        let gone = minute - 120_000
        try daemon.execute(
            """
            DELETE FROM histograms
            WHERE ts > to_timestamp(\(gone - 60_000)::double precision / 1000)
              AND ts <= to_timestamp(\(gone)::double precision / 1000)
            """)
        let raw = try TimeRange(period: "5m", step: "5s", nowMs: now)
        let rawRequests = try await store.endpointStats(host: nil, range: raw).reduce(0) { $0 + $1.requests }
        #expect(rawRequests < requests, "the raw read misses the deleted minute")
        #expect(Self.figures(try await store.endpointStats(host: nil, range: range, perStep: false)) == before)
        #expect(
            try await store.endpointStatsByHost(host: nil, range: range).mapValues { $0.map(Figures.init) }
                == beforeByHost)
        // Without the rollup's minutes, the same read is all raw and misses them too.
        try Self.setWatermark(daemon, nil)
        let unrolled = try await store.endpointStats(host: nil, range: range, perStep: false)
        #expect(unrolled.reduce(0) { $0 + $1.requests } == rawRequests)
    }
}
