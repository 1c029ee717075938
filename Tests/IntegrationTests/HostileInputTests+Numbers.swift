import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// Numbers that once crashed a program or blocked a background service for good (issue 18):
/// StatsD rates and values sent to a running agent, huge values in the raw tables, a rollup
/// range that always fails, a partition left "detach pending", bad configurations, SIGTERM.
extension HostileInputTests {
    /// The daemon and an agent receiving StatsD on UDP and a Unix datagram socket.
    struct StatsDSetup {
        let daemon: Daemon
        let monquery: ManagedProcess
        let monagent: ManagedProcess
        let port: Int
        let unixSocket: String

        static func start() async throws -> StatsDSetup {
            let daemon = try Daemon.make()
            let port = TestEnvironment.freePort()
            let unixSocket = "\(daemon.directory)/statsd.sock"
            let monquery = try daemon.start()
            let monagent = try daemon.startAgent(
                interval: 0.3,
                extra: [
                    "MONAGENT_STATSD_ADDRESS": "127.0.0.1:\(port)", "MONAGENT_STATSD_SOCKET": unixSocket,
                    "MONAGENT_COLLECTORS": "cpu",
                ])
            _ = try await eventually("StatsD receivers listening") { () -> Bool? in
                monagent.log.contains("address=\"unix") && monagent.log.contains("address=\"udp") ? true : nil
            }
            return StatsDSetup(
                daemon: daemon, monquery: monquery, monagent: monagent, port: port, unixSocket: unixSocket)
        }

        func stop() {
            monagent.stop()
            monquery.stop()
        }

        func latest(_ name: String) throws -> Double? { try AppSignalsTests.latestValue(daemon, name) }

        /// Waits until every metric of `expected` has its value in the database.
        func expect(_ expected: [String: Double], _ what: String) async throws {
            _ = try await eventually(what, seconds: 60) { () -> Bool? in
                for (name, value) in expected where try latest(name) != value { return nil }
                return true
            }
        }
    }

    /// One datagram per entry and how many of its lines the agent must count as malformed.
    static let hostileStatsD: [(bytes: [UInt8], malformed: Int)] = {
        var set: [(String, Int)] = [
            // The datagram that killed monagent, and every other rate that cannot scale a count.
            ("adv.x:1|c|@1e-20", 1), ("adv.x:1|c|@0", 1), ("adv.x:1|c|@1e-300", 1), ("adv.x:1|c|@-0.5", 1),
            ("adv.x:1|c|@nan", 1), ("adv.x:1|c|@inf", 1), ("adv.x:1|c|@-inf", 1), ("adv.x:1|c|@1e-400", 1),
            ("adv.t:5|ms|@1e-20", 1), ("adv.s:a|s|@0", 1),
            // Above 1: every event was sent (what the datadog client means by sample_rate=2).
            ("rate.two:1|c|@2", 0),
            // Extreme values of every type: accepted while finite, refused when a sum would overflow.
            ("big.g:1e308|g", 0), ("small.g:-1e308|g", 0), ("nan.g:nan|g", 1), ("inf.g:inf|g", 1),
            ("big.c:1e308|c\nbig.c:1e308|c", 1),
            // Timings beyond a day or negative are implausible (issue 19: 1e308 ms skewed the mean).
            ("big.t:1e308|ms\nbig.t:1e308|ms", 2), ("neg.t:-5|ms", 1), ("day.t:86400001|ms", 1),
            ("big.h:1e308|h\nbig.h:1e308|h", 1), ("big.d:-1e308|d", 0), ("big.s:1e308|s", 0),
            ("tiny.t:4.9e-324|ms|@0.000001", 0), ("over.g:1e999|g", 1),
            ("long.g:" + String(repeating: "1", count: 65) + "|g", 1),
            // 10 000 tags in one line.
            ("tags.x:1|c|#" + Array(repeating: "a", count: 10_000).joined(separator: ","), 1),
            // A NUL in a tag; empty datagrams.
            ("nul.x:1|c|#k:a\u{0}b", 1), ("", 0), ("\n\n\r\n", 0),
        ]
        // The largest UDP datagram (65 507 bytes): one line of 32 000+ values.
        let values = Array(repeating: "1", count: 32_700).joined(separator: ":")
        set.append(("wide.x:" + values + "|ms", 1))
        var datagrams = set.map { (Array($0.0.utf8), $0.1) }
        // Invalid UTF-8 in the name (refused) and in a tag value (kept, replaced).
        datagrams.append(([0xFF, 0xFE] + Array(":1|c".utf8), 1))
        datagrams.append((Array("utf.x:1|c|#k:".utf8) + [0xC3, 0x28, 0xFF], 0))
        return datagrams
    }()

    @Test("StatsD hostile set against a running agent: alive, still shipping, every bad line counted as malformed")
    func statsdHostileSet() async throws {
        let setup = try await StatsDSetup.start()
        defer { setup.stop() }
        let sender = UDPSender(port: setup.port)
        defer { sender.close() }
        for (index, datagram) in Self.hostileStatsD.enumerated() {
            #expect(datagram.bytes.count <= 65_507, "datagram \(index) fits UDP")
            sender.send(datagram.bytes)
            try await Task.sleep(for: .milliseconds(5))
        }
        // Over the Unix socket, a datagram larger than the receive buffer: cut, counted, its
        // complete lines kept.
        let unixLines = String(repeating: "unix.ok:1|c\n", count: 6_000)
        #expect(sendUnixDatagram(unixLines, to: setup.unixSocket))
        sender.send("after.ok:1|c")
        let malformed = Double(Self.hostileStatsD.reduce(0) { $0 + $1.malformed })
        try await setup.expect(
            [
                "mon_agent_statsd_malformed_total": malformed, "mon_agent_statsd_truncated_total": 1,
                "app_after_ok_total": 1, "app_rate_two_total": 1, "app_big_g": 1e308, "app_small_g": -1e308,
                "app_big_c_total": 1e308,
            ], "the hostile set counted and the good lines stored")
        #expect(setup.monagent.isRunning, "monagent survived: \(setup.monagent.log.suffix(2000))")
        #expect(!setup.monagent.log.contains("Fatal error"))
        // The Unix socket is read by its own task: its lines may land one flush after the UDP ones.
        let unixOK = try await eventually("the cut Unix datagram's lines", seconds: 60) {
            try setup.latest("app_unix_ok_total")
        }
        #expect(unixOK > 5_000 && unixOK < 6_000, "complete lines of the cut datagram: \(unixOK)")
        #expect(try setup.latest("app_adv_x_total") == nil, "no rate-scaled counter from a refused rate")
        #expect(
            try setup.daemon.scalar(
                """
                SELECT count(*) FROM metrics m JOIN metric_series s ON s.id = m.series_id
                WHERE m.value IN ('NaN', 'Infinity', '-Infinity')
                """) == 0, "only finite values shipped")
        // The replacement character stands for the invalid bytes of the tag value.
        #expect(
            try setup.daemon.scalar(
                "SELECT count(*) FROM metric_series WHERE name = 'app_utf_x_total' AND labels->>'k' LIKE '%\u{FFFD}%'")
                == 1)
        // Still shipping: a line sent now arrives.
        sender.send("later.ok:2|c")
        try await setup.expect(["app_later_ok_total": 2], "a line sent after the hostile set")
    }

    /// The real Python clients (pystatsd, datadog's DogStatsd) with extreme arguments: what they
    /// send is either stored or counted as malformed, and the agent lives on.
    @Test("the statsd and datadog Python clients with extreme arguments against a running agent")
    func pythonClientsWithExtremeArguments() async throws {
        let venv = TestEnvironment.environment["MON_TEST_VENV"] ?? "/var/tmp/mon-test-venv"
        try await offPool { try PrivateCluster.shell("mon_python_tool '\(venv)' statsd datadog") }
        let setup = try await StatsDSetup.start()
        defer { setup.stop() }
        // Sampled rates (1e-20, 0, negative) are dropped by the clients themselves; nan, inf
        // and 2 are sent by datadog as given; pystatsd formats a 1e308 timing as 321 digits.
        let script = """
            import sys
            import statsd
            from datadog.dogstatsd import DogStatsd
            port = int(sys.argv[1])
            c = statsd.StatsClient("127.0.0.1", port, prefix="py")
            d = DogStatsd(host="127.0.0.1", port=port, disable_telemetry=True, disable_buffering=True)
            nan, inf = float("nan"), float("inf")
            c.incr("rate_tiny", rate=1e-20); c.incr("rate_zero", rate=0); c.incr("rate_neg", rate=-1)
            c.incr("rate_nan", rate=nan); c.incr("big", 1e308); c.gauge("neg", -1e308)
            c.gauge("gnan", nan); c.gauge("ginf", inf); c.timing("tbig", 1e308); c.timing("tnan", nan)
            c.set("s", 1e308); c.gauge("delta", 1e308, delta=True)
            d.increment("dd.rate_nan", sample_rate=nan); d.increment("dd.rate_inf", sample_rate=inf)
            d.increment("dd.rate_two", sample_rate=2); d.increment("dd.rate_tiny", sample_rate=1e-20)
            d.gauge("dd.gnan", nan); d.gauge("dd.ginf", inf); d.gauge("dd.big", 1e308)
            d.histogram("dd.h", -1e308); d.distribution("dd.d", 1e308); d.timing("dd.tnan", nan)
            d.increment("dd.tags", tags=["t%d:v" % i for i in range(40)])
            c.incr("done")
            """
        let path = "\(setup.daemon.directory)/clients.py"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let (status, output) = try await runProgram("\(venv)/bin/python", [path, String(setup.port)])
        #expect(status == 0, "\(output)")
        // Malformed: pystatsd gauge nan, gauge inf, the 321-digit timing, timing nan (4);
        // datadog @nan, @inf, gauge nan, gauge inf, timing nan, 40 tags (6).
        try await setup.expect(
            [
                "mon_agent_statsd_malformed_total": 10, "app_py_done_total": 1, "app_py_rate_nan_total": 1,
                "app_py_big_total": 1e308, "app_py_neg": -1e308, "app_py_delta": 1e308, "app_dd_rate_two_total": 1,
                "app_dd_big": 1e308,
            ], "what the clients sent, stored or counted")
        #expect(try setup.latest("app_py_rate_tiny_total") == nil)
        #expect(setup.monagent.isRunning)
    }
}

extension HostileInputTests {
    /// Inserts `series` (name, kind) for `host` and returns their ids by name.
    static func makeSeries(_ connection: PostgresConnection, host: String, _ series: [(String, String)]) throws
        -> [String: String]
    {
        var ids: [String: String] = [:]
        for (name, kind) in series {
            let result = try connection.query(
                """
                INSERT INTO metric_series (host, name, labels_key, labels, kind) VALUES ($1, $2, $3, $4::jsonb, $5)
                RETURNING id
                """,
                [
                    host, name, kind == "histogram" ? "endpoint=/x,method=GET,status=200" : "",
                    kind == "histogram" ? #"{"endpoint": "/x", "method": "GET", "status": "200"}"# : "{}", kind,
                ])
            ids[name] = result.string(0, 0)
        }
        return ids
    }

    /// A daemon's database, migrated, with partitions from yesterday to tomorrow (no daemon
    /// running yet); and the time it was made.
    static func migratedDaemon() async throws -> (Daemon, Int64) {
        let daemon = try Daemon.make()
        let writer = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        let nowMs = WallClock.nowMs()
        let today = DayPartition(timestampMs: nowMs)
        try await writer.ensurePartitions((-1...1).map { today.adding(days: Int64($0)) })
        return (daemon, nowMs)
    }

    /// `to_timestamp(ms / 1000)` text for a bound parameter.
    static func seconds(_ ms: Int64) -> String { String(Double(ms) / 1000) }

    /// Values PostgreSQL's float8 and bigint arithmetic refuse to sum (1e308 twice, counts of
    /// 2^62) written straight into the raw tables: the rollup passes them (clamped, saturated)
    /// and moves its watermark, and every API endpoint over them answers (an Int() of an
    /// eviction count of 1e300 used to crash monquery).
    @Test("huge raw values: the rollup keeps its watermark moving and the API answers over them")
    func hugeValuesInTheRawTables() async throws {
        let (daemon, nowMs) = try await Self.migratedDaemon()
        let minute = ClosedOpenRange.floor(nowMs - 40 * 60_000, 60_000)
        try await offPool {
            let connection = try PostgresConnection(url: daemon.databaseURL, applicationName: "mon-tests")
            let ids = try Self.makeSeries(
                connection, host: "h1",
                [
                    ("mon_host_load1", "gauge"), ("mon_redis_up", "gauge"), ("mon_redis_evicted_keys_total", "counter"),
                    ("mon_postgres_up", "gauge"), ("mon_postgres_statements_slow_total", "counter"),
                    (MetricNames.requestDuration, "histogram"),
                ])
            let values: [(Int64, String, String)] = [
                (0, "mon_host_load1", "1e308"), (1, "mon_host_load1", "1e308"),
                (2, "mon_host_load1", "1.7976931348623157e308"),
                (3, "mon_host_load1", "1.7976931348623157e308"), (4, "mon_host_load1", "-1e308"),
                (5, "mon_host_load1", "-1.7976931348623157e308"), (6, "mon_host_load1", "1e-310"),
                (7, "mon_host_load1", "Infinity"), (8, "mon_host_load1", "NaN"), (0, "mon_redis_up", "1"),
                (0, "mon_redis_evicted_keys_total", "0"), (1, "mon_redis_evicted_keys_total", "1e300"),
                (2, "mon_redis_evicted_keys_total", "-1e308"), (3, "mon_redis_evicted_keys_total", "1e308"),
                (0, "mon_postgres_up", "1"), (0, "mon_postgres_statements_slow_total", "0"),
                (1, "mon_postgres_statements_slow_total", "1.7976931348623157e308"),
            ]
            for (offset, name, value) in values {
                // Two samples per minute and offset, so each minute's sum overflows.
                for second in [1, 2] {
                    try connection.query(
                        "INSERT INTO metrics VALUES (to_timestamp($1::double precision), $2, $3::float8)",
                        [Self.seconds(minute + offset * 60_000 + Int64(second) * 1000), ids[name], value])
                }
            }
            // Histogram windows of 2^62 observations each, three per minute; an absurd sum.
            for window in 1...3 {
                try connection.query(
                    """
                    INSERT INTO histograms (ts, series_id, count, sum, min, max, zero_count, idx, cnt)
                    VALUES (to_timestamp($1::double precision), $2, 4611686018427387904, 1e308, 0.01, 1,
                            4611686018427387904, ARRAY[100], ARRAY[4611686018427387904]::bigint[])
                    """, [Self.seconds(minute + Int64(window) * 5000), ids[MetricNames.requestDuration]])
            }
            // Statement deltas with numbers jsonb holds and double precision cannot.
            for _ in 0..<2 {
                try connection.query(
                    """
                    INSERT INTO events (ts, host, kind, key, payload) VALUES (to_timestamp($1::double precision), 'h1',
                        'pg_statement', 'q1', '{"queryid": "1", "calls": 1e400, "total_exec_ms": 1.7e308,
                        "mean_exec_ms": 1e-400, "rows": "many", "shared_blks_hit": -1e400}')
                    """, [Self.seconds(minute)])
            }
        }
        // Five minutes per pass: the hour and six-hour rows are created by the first pass and
        // gain the next minutes by merging (their update path adds clamped sums and saturated
        // counts to the stored ones), so the merge meets the huge values too.
        let rollup = RollupWriter(databaseURL: daemon.databaseURL, settleSeconds: 0, chunkMinutes: 5)
        let passes = try await rollup.catchUp(nowMs: nowMs)
        #expect(passes.last?.caughtUp == true)
        #expect(passes.allSatisfy { $0.skipped.isEmpty }, "nothing needed skipping: the sums cannot fail")
        let watermark = try #require(try await rollup.watermarkMs())
        #expect(watermark == ClosedOpenRange.floor(nowMs, 60_000))
        // Minute sums are clamped (finite), NaN and Infinity kept as they are.
        let sums = try daemon.column(
            """
            SELECT r.sum::text FROM metrics_1m r JOIN metric_series s ON s.id = r.series_id
            WHERE s.name = 'mon_host_load1' ORDER BY r.ts
            """)
        #expect(sums.count == 9, "\(sums)")
        #expect(sums.prefix(6).allSatisfy { Double($0 ?? "")?.isFinite == true }, "\(sums)")
        #expect(sums[7] == "Infinity" && sums[8] == "NaN", "\(sums)")
        #expect(try daemon.scalar("SELECT max(count) FROM histograms_1m") == Int64(Histogram.maxCount))
        #expect(try daemon.scalar("SELECT max(count) FROM histograms_1h") == Int64(Histogram.maxCount))
        #expect(try daemon.scalar("SELECT max(count) FROM histograms_6h") == Int64(Histogram.maxCount))
        let merged = try daemon.column(
            """
            SELECT r.sum::text FROM metrics_6h r JOIN metric_series s ON s.id = r.series_id
            WHERE s.name = 'mon_host_load1'
            """)
        // The six hours hold the Infinity and NaN minutes: their sum is NaN, not an error.
        #expect(merged.count == 1 || merged.count == 2, "\(merged)")

        let monquery = try daemon.start()
        defer { monquery.stop() }
        _ = try await eventually("monquery serving") { () -> Bool? in
            (try? await daemon.get("/health"))?.status == 200 ? true : nil
        }
        for path in [
            "/api/monitoring/metrics?type=system&period=1h", "/api/monitoring/metrics?type=api&period=1h",
            "/api/monitoring/metrics?type=api&period=24h", "/api/monitoring/metrics?type=redis&period=1h",
            "/api/monitoring/redis/status", "/api/monitoring/postgres/status",
            "/api/monitoring/postgres/slow_queries?period=1h", "/api/monitoring/metrics/summary",
            "/api/monitoring/export?format=json&period=1h&type=api", "/api/monitoring/system/cpu",
        ] {
            let (status, body) = try await Self.rawGet(daemon, path)
            #expect(status == 200, "\(path): \(status) \(body.prefix(300))")
        }
        #expect(monquery.isRunning, "monquery survived: \(monquery.log.suffix(2000))")
    }

    /// GET returning the status and the body as text (any content type).
    static func rawGet(_ daemon: Daemon, _ path: String) async throws -> (Int, String) {
        let response = try await offPool { try curl(["http://127.0.0.1:\(daemon.httpPort)\(path)"]) }
        return (Int(response.headers[":status"] ?? "") ?? 0, String(decoding: response.body, as: UTF8.self))
    }
}

extension HostileInputTests {
    /// A minute whose rollup always fails (a trigger stands in for any value PostgreSQL
    /// refuses): after three failed passes the running daemon rolls up minute by minute,
    /// records the minute in `rollup_skipped`, counts it, shows it on /health/detailed, and
    /// its watermark moves past — retention is no longer held back.
    @Test("a minute that always fails to roll up is skipped after three failures, recorded and reported")
    func rollupSkipsAMinuteThatAlwaysFails() async throws {
        let (daemon, nowMs) = try await Self.migratedDaemon()
        let start = ClosedOpenRange.floor(nowMs - 30 * 60_000, 60_000)
        let poisoned = start + 10 * 60_000
        try await offPool {
            let connection = try PostgresConnection(url: daemon.databaseURL, applicationName: "mon-tests")
            let ids = try Self.makeSeries(connection, host: "h1", [("mon_host_load1", "gauge")])
            try connection.query(
                """
                INSERT INTO metrics (ts, series_id, value)
                SELECT to_timestamp($1::double precision) + make_interval(secs => g * 30), $2, g
                FROM generate_series(0, 40) AS g
                """, [Self.seconds(start), ids["mon_host_load1"]])
            try connection.query(
                "UPDATE rollup_state SET watermark = to_timestamp($1::double precision)", [Self.seconds(start)])
            try connection.execute(
                rawSQL: """
                    CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        IF NEW.ts = to_timestamp(\(Self.seconds(poisoned))) THEN
                            RAISE EXCEPTION 'poisoned minute %', NEW.ts;
                        END IF;
                        RETURN NEW;
                    END $$;
                    CREATE TRIGGER poison BEFORE INSERT ON metrics_1m FOR EACH ROW EXECUTE FUNCTION poison();
                    """)
        }
        let monquery = try daemon.start(extra: [
            "MONQUERY_STORAGE_ROLLUP_INTERVAL_SECONDS": "1", "MONQUERY_STORAGE_ROLLUP_SETTLE_SECONDS": "0",
        ])
        defer { monquery.stop() }
        let skipped = try await eventually("the poisoned minute skipped", seconds: 90) { () -> [String?]? in
            let rows = try daemon.column(
                "SELECT tier || ' ' || (extract(epoch FROM lo) * 1000)::bigint || ' ' || error FROM rollup_skipped")
            return rows.isEmpty ? nil : rows
        }
        #expect(skipped.count == 1, "\(skipped)")
        #expect(skipped.first??.hasPrefix("1m \(poisoned) ") == true, "\(skipped)")
        #expect(skipped.first??.contains("poisoned minute") == true, "\(skipped)")
        // The watermark moved past it; the minutes around it are rolled up, it is not.
        _ = try await eventually("the watermark past the poisoned minute") { () -> Bool? in
            try daemon.scalar(
                "SELECT (extract(epoch FROM watermark) * 1000)::bigint FROM rollup_state WHERE tier = '1m'")
                > poisoned + 60_000 ? true : nil
        }
        let minutes = try daemon.column("SELECT (extract(epoch FROM ts) * 1000)::bigint FROM metrics_1m ORDER BY ts")
            .compactMap { $0.flatMap { Int64($0) } }
        #expect(minutes.contains(poisoned - 60_000) && minutes.contains(poisoned + 60_000), "\(minutes)")
        #expect(!minutes.contains(poisoned))
        #expect(monquery.log.contains("rollup range skipped"), "\(monquery.log.suffix(3000))")
        #expect(monquery.log.contains("data_failures_at_watermark=3"))
        let (_, health) = try await daemon.get("/health/detailed")
        let rollups = try #require(
            ((health as? [String: Any])?["checks"] as? [String: Any])?["rollups"] as? [String: Any])
        #expect(rollups["status"] as? String == "degraded", "\(rollups)")
        #expect(rollups["skipped_ranges"] as? Int == 1, "\(rollups)")
        #expect((rollups["last_skipped"] as? [String: Any])?["tier"] as? String == "1m", "\(rollups)")
        let metrics = try await daemon.getText("/metrics")
        #expect(metrics.body.contains("mon_query_rollup_skipped_ranges_total 1\n"), "\(metrics.body.prefix(3000))")
        #expect(metrics.body.contains("mon_query_rollup_failed_passes_total 3\n"))
    }

    /// A `DETACH PARTITION … CONCURRENTLY` cancelled while another transaction holds the
    /// table leaves the partition "detach pending", and PostgreSQL then refuses every other
    /// concurrent detach of that table. `monquery retention` finalises and drops it, drops a
    /// partition detached but never dropped, and the other expired partitions go too.
    @Test("a partition left detach-pending by a cancelled DETACH CONCURRENTLY is finalised and dropped")
    func detachPendingPartitionIsFinalised() async throws {
        let daemon = try Daemon.make()
        let writer = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        let today = DayPartition(timestampMs: WallClock.nowMs())
        try await writer.ensurePartitions((-12...1).map { today.adding(days: Int64($0)) })
        let pending = today.adding(days: -10).partitionName(of: "metrics")
        let leftover = today.adding(days: -11).partitionName(of: "metrics")
        let other = today.adding(days: -9).partitionName(of: "metrics")
        try daemon.execute("UPDATE rollup_state SET watermark = now()")
        try daemon.execute("ALTER TABLE metrics DETACH PARTITION \(leftover)")

        // A reader holds the table; the detach marks the partition pending, then waits for it.
        let reader = try PostgresConnection(url: daemon.databaseURL, applicationName: "mon-tests-reader")
        try reader.execute(rawSQL: "BEGIN")
        _ = try reader.query("SELECT count(*) FROM metrics")
        let databaseURL = daemon.databaseURL
        let detach = Task {
            try await offPool { () -> String in
                let connection = try PostgresConnection(url: databaseURL, applicationName: "mon-tests-detach")
                do {
                    try connection.execute(rawSQL: "ALTER TABLE metrics DETACH PARTITION \(pending) CONCURRENTLY")
                    return "finished"
                } catch {
                    return "\(error)"
                }
            }
        }
        let pid = try await eventually("the detach waiting for the reader") { () -> String? in
            try daemon.column(
                """
                SELECT pid::text FROM pg_stat_activity
                WHERE application_name = 'mon-tests-detach' AND wait_event_type = 'Lock'
                """
            ).first ?? nil
        }
        _ = try daemon.column("SELECT pg_cancel_backend($1::int)", [pid])
        let outcome = try await detach.value
        #expect(outcome.contains("canceling statement"), "\(outcome)")
        try reader.execute(rawSQL: "ROLLBACK")
        #expect(
            try daemon.column("SELECT inhdetachpending::text FROM pg_inherits WHERE inhrelid = $1::regclass", [pending])
                == ["true"])
        // What the detach-pending state does to the next detach of the same table.
        let blocked = #expect(throws: PostgresError.self) {
            try daemon.execute("ALTER TABLE metrics DETACH PARTITION \(other) CONCURRENTLY")
        }
        #expect(blocked?.message.contains("pending") == true, "\(String(describing: blocked))")

        let dryRun = try await RetentionTests.run(["retention", "--dry-run"], databaseURL: daemon.databaseURL)
        #expect(dryRun.contains("would drop \(pending) ("), "\(dryRun)")
        #expect(dryRun.contains("detach pending)"), "\(dryRun)")
        #expect(dryRun.contains("would drop \(leftover) (") && dryRun.contains("detached)"), "\(dryRun)")
        let report = try await RetentionTests.run(["retention"], databaseURL: daemon.databaseURL)
        let remaining = try daemon.column(
            "SELECT relname::text FROM pg_class WHERE relname LIKE 'metrics\\_p%' AND relkind = 'r' ORDER BY 1")
        for name in [pending, leftover, other] {
            #expect(!remaining.contains(name), "\(name) dropped; \(report)")
        }
        #expect(remaining.count == 9, "days -7 … +1: \(remaining)")
        let after = try await writer.expiredPartitions(policy: .defaults, nowMs: WallClock.nowMs())
        #expect(after.isEmpty, "\(after)")
    }
}

extension HostileInputTests {
    /// `systemctl stop` sends SIGTERM: both programs must shut down cleanly and exit 0, or the
    /// unit is left `failed` (monquery printed `Error: CancellationError()` and exited 1).
    /// Alerts and anomalies on (the alert loop was the culprit), an agent connected and
    /// shipping, a live log stream open.
    @Test("SIGTERM and SIGINT: monquery and monagent shut down cleanly and exit 0")
    func signalsExitZero() async throws {
        let daemon = try Daemon.make()
        let environment = [
            "MONQUERY_DATABASE_URL": daemon.databaseURL, "MONQUERY_INGEST_SOCKET": daemon.socketPath,
            "MONQUERY_HTTP_LISTEN": "127.0.0.1:\(daemon.httpPort)", "MONQUERY_ALERTS_ENABLED": "true",
            "MONQUERY_ALERTS_INTERVAL_SECONDS": "0.2", "MONQUERY_ANOMALIES_ENABLED": "true",
        ]
        for signal in [SIGTERM, SIGINT] {
            let monquery = try SignalledProcess(
                "monquery", ["serve"], environment: environment, logPath: "\(daemon.directory)/monquery-\(signal).log")
            _ = try await eventually("monquery serving") { () -> Bool? in
                (try? await daemon.get("/health"))?.status == 200 ? true : nil
            }
            let statsPort = TestEnvironment.freePort()
            let monagent = try SignalledProcess(
                "monagent", ["run"],
                environment: [
                    "MONAGENT_INGEST_SOCKET": daemon.socketPath, "MONAGENT_INTERVAL": "0.2",
                    "MONAGENT_STATE_DIR": daemon.directory, "MONAGENT_SPOOL_DIRECTORY": "\(daemon.directory)/spool",
                    "MONAGENT_STATSD_ADDRESS": "127.0.0.1:\(statsPort)", "MONAGENT_HOST": "it-host",
                    "MONAGENT_AGENT_ID": "agent-\(signal)",
                ], logPath: "\(daemon.directory)/monagent-\(signal).log")
            _ = try await eventually("batches of this agent stored") { () -> Bool? in
                try daemon.scalar("SELECT count(*) FROM ingest_ledger WHERE agent_id = $1", ["agent-\(signal)"]) > 2
                    ? true : nil
            }
            let stream = try SSEClient(port: daemon.httpPort, path: "/api/monitoring/logs/stream")
            defer { stream.close() }
            _ = try await eventually("the live stream open") { () -> Bool? in stream.status == 200 ? true : nil }
            monagent.signal(signal)
            let agent = try await monagent.exit()
            #expect(agent.exited && agent.status == 0, "monagent after signal \(signal): \(monagent.log.suffix(1500))")
            monquery.signal(signal)
            let query = try await monquery.exit()
            #expect(query.exited && query.status == 0, "monquery after signal \(signal): \(monquery.log.suffix(1500))")
            #expect(!monquery.log.contains("Error:"), "\(monquery.log.suffix(1500))")
        }
    }

    /// A bad configuration exits 78 (EX_CONFIG) from every subcommand that loads one, so
    /// `RestartPreventExitStatus=78` stops the unit instead of restarting it every 5 s;
    /// other failures keep their codes.
    @Test("a bad configuration exits 78 from every subcommand; the units stop on 78")
    func badConfigurationExits78() async throws {
        let directory = try TestEnvironment.makeDirectory("config")
        let bin = try #require(TestEnvironment.binDirectory)
        let unknownKey = "\(directory)/unknown.yaml"
        try "storage:\n  raw_retention_dayz: 7\n".write(toFile: unknownKey, atomically: true, encoding: .utf8)
        let badYAML = "\(directory)/bad.yaml"
        try "interval: [unclosed\n".write(toFile: badYAML, atomically: true, encoding: .utf8)
        let order = ["MONQUERY_STORAGE_RAW_RETENTION_DAYS": "60"]
        let base = ["PATH": "/usr/bin:/bin", "MONQUERY_DATABASE_URL": "postgresql://127.0.0.1:1/none"]
        var cases: [(program: String, arguments: [String], environment: [String: String], expected: Int32)] = []
        for command in ["serve", "migrate", "retention", "check-config"] {
            cases.append(("monquery", [command, "--config", unknownKey], [:], 78))
            cases.append(("monquery", [command, "--config", "\(directory)/missing.yaml"], [:], 78))
            cases.append(("monquery", [command], order, 78))
        }
        cases.append(("monquery", ["serve", "--config", badYAML], [:], 78))
        cases.append(("monquery", ["serve"], ["MONQUERY_HTTP_LISTEN": "0.0.0.0:8089"], 78))
        for command in ["run", "once", "check-config"] {
            cases.append(("monagent", [command, "--config", unknownKey], [:], 78))
            cases.append(("monagent", [command], ["MONAGENT_INTERVAL": "-1"], 78))
            cases.append(("monagent", [command, "--config", badYAML], [:], 78))
        }
        // Not configuration: usage errors keep 64, an unreachable database keeps 1.
        cases.append(("monquery", ["serve", "--no-such-flag"], [:], 64))
        cases.append(("monagent", ["--no-such-flag"], [:], 64))
        cases.append(("monquery", ["migrate"], [:], 1))
        for item in cases {
            let (status, output) = try await runProgram(
                "\(bin)/\(item.program)", item.arguments, environment: base.merging(item.environment) { $1 })
            #expect(status == item.expected, "\(item.program) \(item.arguments) \(item.environment): \(output)")
            if item.expected == 78 {
                #expect(output.contains("Error: configuration key"), "\(item.program) \(item.arguments): \(output)")
            }
        }
        for unit in ["monagent", "monquery"] {
            let text = try String(contentsOfFile: "deploy/systemd/\(unit).service", encoding: .utf8)
            #expect(text.contains("\nRestartPreventExitStatus=78\n"), "\(unit).service")
        }
    }
}
