import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// The built-in dashboard on a live system: admin login and its cookie, fragments for HTMX,
/// and a real browser (headless Chromium) rendering the overview, with a screenshot.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct DashboardTests {
    static let chromium = "/usr/bin/chromium"

    /// One hour of API request histograms, host and source gauges, so the charts have a shape
    /// (the live agent adds the last minute's real samples on top).
    static func seedHistory(_ daemon: Daemon, host: String) async throws {
        let writer = IngestWriter(databaseURL: daemon.databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        let now = WallClock.nowMs()
        let agent = AgentIdentity(agentID: "seed", host: host, bootID: "seed")
        let endpoints: [(String, String, Double)] = [
            ("/v1/search/hybrid", "GET", 0.045), ("/v1/memories/{id}", "GET", 0.008),
            ("/v1/memories", "POST", 0.020), ("/v1/graph/expand", "GET", 0.120),
        ]
        var generator = SystemRandomNumberGenerator()
        for (seq, minute) in (1...60).reversed().enumerated() {
            let ts = now - Int64(minute) * 60_000
            let wave = 1 + 0.6 * sin(Double(minute) / 9)
            var histograms: [HistogramSample] = []
            for (endpoint, method, median) in endpoints {
                for status in ["200", "500"] {
                    var histogram = Histogram()
                    let count = status == "200" ? 180 : (endpoint.hasPrefix("/v1/search") && minute < 20 ? 6 : 0)
                    for _ in 0..<count {
                        let noise = exp(Double.random(in: -0.9...1.4, using: &generator))
                        _ = histogram.record(median * wave * noise)
                    }
                    guard count > 0 else { continue }
                    histograms.append(
                        HistogramSample(
                            MetricNames.requestDuration, ["endpoint": endpoint, "method": method, "status": status],
                            timestampMs: ts, histogram: histogram))
                }
            }
            let samples = [
                Sample("mon_host_cpu_usage_ratio", ["cpu": "all"], value: 0.25 + 0.1 * wave, timestampMs: ts),
                Sample("mon_host_memory_used_ratio", value: 0.55 + 0.02 * wave, timestampMs: ts),
                Sample("mon_redis_hit_ratio", value: 0.86 + 0.05 * sin(Double(minute) / 5), timestampMs: ts),
                Sample("mon_redis_memory_used_bytes", value: 2.4e8 + 1e7 * wave, timestampMs: ts),
                Sample("mon_redis_ops_per_second", value: 900 * wave, timestampMs: ts),
                Sample("mon_postgres_cache_hit_ratio", value: 0.985 - 0.01 * wave, timestampMs: ts),
                Sample("mon_postgres_connections_used", value: (6 + 3 * wave).rounded(), timestampMs: ts),
                Sample("mon_postgres_max_connections", value: 100, timestampMs: ts),
                // The application's connection pool (StatsD gauges db.pool.size / db.pool.checked_out).
                Sample("app_db_pool_size", value: 20, timestampMs: ts),
                Sample("app_db_pool_checked_out", value: (4 + 3 * wave).rounded(), timestampMs: ts),
                // The application's per-type cache counters (StatsD): 90 % and 40 % hits.
                Sample(
                    "app_cache_hit_total", ["cache": "search_results"], value: Double(61 - minute) * 90, timestampMs: ts
                ),
                Sample(
                    "app_cache_miss_total", ["cache": "search_results"], value: Double(61 - minute) * 10,
                    timestampMs: ts),
                Sample(
                    "app_cache_hit_total", ["cache": "embeddings"], value: Double(61 - minute) * 40, timestampMs: ts),
                Sample(
                    "app_cache_miss_total", ["cache": "embeddings"], value: Double(61 - minute) * 60, timestampMs: ts),
            ]
            let batch = Batch(seq: UInt64(seq + 1), createdMs: ts, samples: samples, histograms: histograms)
            _ = try await writer.store(batch, from: agent, nowMs: now)
        }
    }

    @Test("login (303, viewer 403, cookie HttpOnly SameSite=Strict), fragments, and headless Chromium on a live system")
    func liveDashboard() async throws {
        let daemon = try Daemon.make(authenticated: true)
        let tokens = try #require(daemon.tokens)
        let host = "dash-1"
        try await Self.seedHistory(daemon, host: host)

        // The monitored PostgreSQL gets a table big enough for an index suggestion and slow statements.
        let monitored = try MonitoredPostgres.makeDatabase()
        let workload = try PostgresConnection(url: monitored, applicationName: "workload")
        try workload.execute(
            rawSQL: """
                CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
                CREATE TABLE memories (id serial PRIMARY KEY, content text NOT NULL);
                INSERT INTO memories (content) SELECT md5(i::text) || md5((i * 7)::text) FROM generate_series(1, 60000) i;
                ANALYZE memories;
                CREATE TABLE events (id int NOT NULL, day date NOT NULL) PARTITION BY RANGE (day);
                CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
                CREATE TABLE events_2 PARTITION OF events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
                CREATE TABLE events_3 PARTITION OF events FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
                INSERT INTO events SELECT i, date '2026-01-01' + (i % 90) FROM generate_series(1, 3000) i;
                """)
        let logPath = "\(daemon.directory)/app.log"
        let lines = [
            #"{"event":"search_completed","level":"info","service":"api","latency_ms":45}"#,
            #"{"event":"cache_hit","level":"debug","service":"api","key":"search:42"}"#,
            #"{"event":"slow_query","level":"warning","service":"worker","duration_ms":120}"#,
            #"{"event":"timeout <script>alert(1)</script>","level":"error","service":"api","duration_ms":5002}"#,
        ]
        try (lines.joined(separator: "\n") + "\n").write(toFile: logPath, atomically: true, encoding: .utf8)

        let monquery = try daemon.start(extra: [
            "MONQUERY_ALERTS_ENABLED": "true", "MONQUERY_ALERTS_INTERVAL_SECONDS": "1",
        ])
        defer { monquery.stop() }
        var agentEnvironment = [
            "MONAGENT_LOG_PATHS": logPath, "MONAGENT_LOGS_START_AT": "beginning",
            "MONAGENT_POSTGRES_URL": monitored, "MONAGENT_POSTGRES_STATEMENTS_INTERVAL": "0.5",
            "MONAGENT_POSTGRES_TABLES_INTERVAL": "1", "MONAGENT_POSTGRES_SLOW_THRESHOLD_MS": "10",
            "MONAGENT_POSTGRES_SUGGEST_MIN_TABLE_BYTES": "1048576",
        ]
        if let redis = TestEnvironment.redisURL { agentEnvironment["MONAGENT_REDIS_URL"] = redis }
        let monagent = try daemon.startAgent(interval: 0.5, host: host, agentID: "dash-agent", extra: agentEnvironment)
        defer { monagent.stop() }

        _ = try await eventually("live CPU and PostgreSQL in the summary") { () -> Bool? in
            let (status, json) = try await daemon.get("/api/monitoring/metrics/summary")
            let first = ((json as? [String: Any])?["hosts"] as? [[String: Any]])?.first
            let cpu = (first?["system"] as? [String: Any])?["cpu_percent"]
            let connections = (first?["postgres"] as? [String: Any])?["connections_used"]
            return status == 200 && cpu is Double && connections is Double ? true : nil
        }
        try await Task.sleep(for: .seconds(1))  // the agent's baseline of pg_stat_statements
        for _ in 0..<3 {
            try workload.query("SELECT count(*) FROM memories WHERE content LIKE $1", ["%abc%"])
            try workload.query("SELECT pg_sleep(0.05)")
        }
        _ = try await eventually("slow statements with a plan") { () -> Bool? in
            let (_, json) = try await daemon.get("/api/monitoring/postgres/slow_queries?period=15m")
            let rows = (json as? [String: Any])?["statements"] as? [[String: Any]] ?? []
            return rows.contains { $0["plan"] is [Any] } ? true : nil
        }
        // Cache traffic on the live Redis: mostly hits, some misses (the hit-rate gauge).
        if let url = TestEnvironment.redisURL {
            let redis = try RedisConnection(url: try RedisURL(url))
            _ = try redis.pipeline((0..<50).map { ["SET", "search_results:dash:\($0)", "v"] })
            _ = try redis.pipeline((0..<400).map { ["GET", "search_results:dash:\($0 % 60)"] })
        }
        _ = try await eventually("log records stored") { () -> Bool? in
            try daemon.scalar("SELECT count(*) FROM logs") >= 4 ? true : nil
        }

        let base = "http://127.0.0.1:\(daemon.httpPort)"
        func fetch(_ arguments: [String]) async throws -> (status: Int, headers: [String: String], body: String) {
            let (headers, body) = try await offPool { try curl(["--max-time", "60"] + arguments) }
            return (Int(headers[":status"] ?? "") ?? 0, headers, String(decoding: body, as: UTF8.self))
        }

        // (a) Login. No session: 303 to the login form, which remembers where to return.
        let anonymous = try await fetch(["\(base)/ui/monitoring/advanced?period=15m"])
        #expect(anonymous.status == 303)
        #expect(anonymous.headers["location"] == "/ui/login?next=%2Fui%2Fmonitoring%2Fadvanced%3Fperiod%3D15m")
        let form = try await fetch(["\(base)/ui/login?next=/ui/monitoring/redis"])
        #expect(form.status == 200 && form.headers["content-type"] == "text/html; charset=utf-8")
        #expect(form.body.contains("<form class=\"login\" method=\"post\" action=\"/ui/login\">"))
        #expect(form.headers["content-security-policy"]?.contains("script-src 'self'") == true)
        let offSite = try await fetch(["\(base)/ui/login?next=https://evil.example/"])
        #expect(offSite.status == 400 && offSite.body.contains("\"bad_parameter\""), "\(offSite.body)")
        func login(_ token: String) async throws -> (status: Int, headers: [String: String], body: String) {
            try await fetch([
                "-X", "POST", "--data-urlencode", "token=\(token)", "--data-urlencode", "next=/ui/monitoring/redis",
                "\(base)/ui/login",
            ])
        }
        let wrong = try await login("not-a-token")
        #expect(wrong.status == 401 && wrong.body.contains("not valid") && wrong.headers["set-cookie"] == nil)
        let viewer = try await login(tokens.viewer)
        #expect(viewer.status == 403 && viewer.body.contains("viewer") && viewer.headers["set-cookie"] == nil)
        let viewerBearer = try await fetch([
            "-H", "Authorization: Bearer \(tokens.viewer)", "\(base)/ui/monitoring/api",
        ])
        #expect(viewerBearer.status == 403)
        let admin = try await login(tokens.admin)
        #expect(admin.status == 303 && admin.headers["location"] == "/ui/monitoring/redis")
        let cookieHeader = try #require(admin.headers["set-cookie"])
        let attributes = cookieHeader.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(
            attributes.contains("HttpOnly") && attributes.contains("SameSite=Strict") && attributes.contains("Path=/ui")
        )
        #expect(attributes.contains("Max-Age=43200"))
        #expect(!cookieHeader.contains(tokens.admin) && !cookieHeader.contains(SHA256.hex(Array(tokens.admin.utf8))))
        let cookie = try #require(attributes.first)
        #expect(cookie.hasPrefix("monquery_session=") && cookie.count == "monquery_session=".count + 64)
        let secure = try await fetch([
            "-X", "POST", "-H", "X-Forwarded-Proto: https", "--data-urlencode", "token=\(tokens.admin)",
            "\(base)/ui/login",
        ])
        #expect(secure.headers["set-cookie"]?.hasSuffix("; Secure") == true)

        let page = try await fetch(["-b", cookie, "\(base)/ui/monitoring/advanced?period=1h"])
        #expect(page.status == 200, "\(page.body.prefix(500))")
        for id in ["card-api", "card-redis", "card-postgres", "card-system", "chart-latency", "slow-queries", "logs"] {
            #expect(page.body.contains("id=\"\(id)\""), "\(id) on the page")
        }
        #expect(page.body.contains("&lt;script&gt;alert(1)") && !page.body.contains("<script>alert(1)"))
        let bearerPage = try await fetch(["-H", "Authorization: Bearer \(tokens.admin)", "\(base)/ui/monitoring/logs"])
        #expect(bearerPage.status == 200 && bearerPage.body.contains("id=\"logs\""), "admin bearer for scripts")
        let export = try await fetch(["-b", cookie, "\(base)/ui/monitoring/export?format=csv&type=logs&period=1h"])
        #expect(export.status == 200 && export.body.contains("search_completed"), "the pane's CSV link")

        // (b) Fragments: only their element; bad names and periods: the API's JSON error.
        for (path, fragment) in [
            ("advanced", "card-redis"), ("advanced", "card-api"), ("advanced", "card-postgres"),
            ("advanced", "card-system"), ("advanced", "chart-latency"), ("advanced", "alerts"),
            ("advanced", "health-badge"), ("advanced", "slow-queries"), ("redis", "redis-hit-rate"),
            ("postgres", "postgres-tables"), ("api", "endpoints"), ("logs", "logs"),
        ] {
            let answer = try await fetch(["-b", cookie, "\(base)/ui/monitoring/\(path)?fragment=\(fragment)"])
            #expect(answer.status == 200, "\(fragment): \(answer.body.prefix(300))")
            let body = answer.body.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(
                body.hasPrefix("<") && !body.contains("<html") && !body.contains("<header class=\"top\""), "\(fragment)"
            )
            #expect(body.contains("id=\"\(fragment)\" data-fragment=\"\(fragment)\""), "\(fragment)")
            #expect(body.components(separatedBy: "data-fragment=").count == 2, "\(fragment): one element")
            #expect(body.hasSuffix("</section>") || body.hasSuffix("</a>"), "\(fragment)")
        }
        let card = try await fetch(["-b", cookie, "\(base)/ui/monitoring/advanced?fragment=card-system"])
        #expect(card.body.contains("CPU") && card.body.contains("<svg"), "CPU with its sparkline")
        // `sort` orders the API page's table only: another value, or another page, is refused by name.
        for (query, parameter) in [
            ("advanced?fragment=nope", "fragment"), ("advanced?period=9x", "period"), ("advanced?period=31d", "period"),
            ("api?sort=slow", "sort"), ("api?sort=p95&sort=rate", "sort"), ("redis?sort=rate", "sort"),
        ] {
            let bad = try await fetch(["-b", cookie, "\(base)/ui/monitoring/\(query)"])
            let json = try JSONSerialization.jsonObject(with: Data(bad.body.utf8)) as? [String: Any]
            let message = (json?["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(bad.status == 400 && message.hasPrefix(parameter), "\(query): \(bad.body)")
        }

        // (c) A real browser. Chromium has no flag to preset a cookie, so it logs in like a
        // person: an auto-submitting form on a helper page at 127.0.0.1 on another port (the
        // same site, so the SameSite=Strict cookie goes with the redirect that follows).
        let pages: [(path: String, pieces: [String])] = [
            // Issue 24: the P95 heatmap (hour × endpoint) and the headers that sort the table.
            (
                "/ui/monitoring/api?period=1h",
                [
                    "id=\"chart-heatmap\"", "class=\"heat-cell heat-",
                    "<th scope=\"col\" class=\"num\" aria-sort=\"descending\"><a class=\"sort\" href=\"/ui/monitoring/api?period=1h#endpoints\"",
                ]
            ),
            (
                "/ui/monitoring/api?period=1h&sort=rate",
                [
                    "aria-sort=\"descending\"><a class=\"sort\" href=\"/ui/monitoring/api?period=1h&amp;sort=rate#endpoints\"",
                    "Endpoints, most requests first",
                ]
            ),
            // The hit rate per cache type as bars coloured by state: 90 % (OK), 40 % (critical).
            (
                "/ui/monitoring/redis?period=1h",
                [
                    "hit-rate-bars", "class=\"bar st-ok\"", "class=\"bar st-crit\"", "40 % ■ Critical",
                    // Top keys and clients of maxclients (issue 24), from the live Redis.
                    "id=\"redis-top-keys\"", "Biggest keys (sampled MEMORY USAGE)", "class=\"chart clients-bars\"",
                ]
            ),
            // The slow-statement timeline, the application's pool, a partitioned table as one entry.
            (
                "/ui/monitoring/postgres?period=1h",
                [
                    "id=\"slow-queries\"", "id=\"postgres-tables\"", "id=\"postgres-timeline\"",
                    "class=\"chart statement-timeline\"", "id=\"postgres-pool\"", "Pool default: checked out <b>",
                    "class=\"chart pool-usage\"", "public.events (partitioned, 3 partitions)",
                ]
            ),
            // Each row: level, service and host filter on a click; a JSON button expands it.
            (
                "/ui/monitoring/logs?period=1h",
                [
                    "role=\"log\"", "search_completed", "class=\"log-expand\"",
                    "<a class=\"filter-link\" href=\"/ui/monitoring/logs?period=1h&amp;service=worker\"",
                ]
            ),
        ]
        let chromium = try await ChromiumRun.make(
            daemon: daemon, token: tokens.admin, targets: ["/ui/monitoring/advanced?period=1h"] + pages.map(\.path))
        defer { chromium.stop() }
        let dom = try await chromium.dumpDOM(next: "/ui/monitoring/advanced?period=1h")
        for id in ["card-api", "card-redis", "card-postgres", "card-system"] {
            #expect(dom.contains("id=\"\(id)\" data-fragment=\"\(id)\""), "\(id) in the rendered DOM")
        }
        #expect(dom.contains("<h1 class=\"page-title\">Overview"), "\(dom.prefix(2000))")
        let charts = dom.components(separatedBy: "<svg class=\"chart-svg\"").count - 1
        #expect(charts >= 4, "latency charts of the 4 seeded endpoints: \(charts)")
        #expect(dom.contains("class=\"line line-2\""), "P95 lines drawn")
        #expect(dom.contains("<svg class=\"gauge\""), "Redis hit-rate gauge")
        #expect(dom.contains("role=\"log\" aria-live=\"polite\""))
        #expect(dom.contains("search_completed") && dom.contains("&lt;script&gt;alert(1)"))
        #expect(!dom.contains("<script>alert(1)"))

        let artifacts = "\(TestEnvironment.environment["MON_TEST_WORK_DIR"] ?? daemon.directory)/artifacts"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let wide = try await chromium.screenshot(
            next: "/ui/monitoring/advanced?period=1h", width: 1280, height: 2000, to: "\(artifacts)/dashboard.png")
        let narrow = try await chromium.screenshot(
            next: "/ui/monitoring/advanced?period=1h", width: 420, height: 2400, to: "\(artifacts)/dashboard-narrow.png"
        )
        // Each page of the brief in the browser: its pieces in the DOM, and a screenshot.
        var shots = [wide, narrow]
        for (path, pieces) in pages {
            let pageDOM = try await chromium.dumpDOM(next: path)
            for piece in pieces { #expect(pageDOM.contains(piece), "\(path): \(piece)") }
            let name = path.dropFirst("/ui/monitoring/".count).replacingOccurrences(of: "?period=1h", with: "")
                .replacingOccurrences(of: "&sort=", with: "-")
            // The PostgreSQL page is the longest (timeline, pool, tables, indexes under the slow queries).
            shots.append(
                try await chromium.screenshot(
                    next: path, width: 1280, height: name == "postgres" ? 3600 : 2000,
                    to: "\(artifacts)/dashboard-\(name).png"))
        }
        let kept = ".build/artifacts"
        try FileManager.default.createDirectory(atPath: kept, withIntermediateDirectories: true)
        for file in shots {
            let target = "\(kept)/\(URL(fileURLWithPath: file).lastPathComponent)"
            try? FileManager.default.removeItem(atPath: target)
            try FileManager.default.copyItem(atPath: file, toPath: target)
            print("dashboard screenshot: \(file) (copied to \(target))")
        }

        // Logout ends the session on the server: the old cookie no longer opens a page.
        let logout = try await fetch(["-X", "POST", "-b", cookie, "\(base)/ui/logout"])
        #expect(logout.status == 303 && logout.headers["set-cookie"]?.contains("Max-Age=0") == true)
        let after = try await fetch(["-b", cookie, "\(base)/ui/monitoring/advanced"])
        #expect(after.status == 303)
        #expect(!monquery.log.contains(tokens.admin) && !monquery.log.contains(String(cookie.dropFirst(17))))
    }
}

/// Headless Chromium logged in to the dashboard through its login form.
struct ChromiumRun {
    let daemon: Daemon
    let directory: String
    let helper: ManagedProcess
    let helperPort: Int

    static func make(
        daemon: Daemon, token: String, targets: [String] = ["/ui/monitoring/advanced?period=1h"]
    ) async throws -> ChromiumRun {
        try #require(FileManager.default.isExecutableFile(atPath: DashboardTests.chromium), "apt-get install chromium")
        let directory = try TestEnvironment.makeDirectory("chromium")
        let port = TestEnvironment.freePort()
        let site = "\(directory)/site"
        try FileManager.default.createDirectory(atPath: site, withIntermediateDirectories: true)
        let helper = try ManagedProcess(
            binary: "/usr/bin/python3",
            arguments: ["-m", "http.server", "--bind", "127.0.0.1", "--directory", site, "\(port)"],
            environment: [:], logPath: "\(directory)/helper.log")
        let run = ChromiumRun(daemon: daemon, directory: directory, helper: helper, helperPort: port)
        // One login page per target; the token only ever sits in this private directory.
        for target in targets {
            try run.writeLoginPage(token: token, next: target)
        }
        _ = try await eventually("helper page server", seconds: 20) { () -> Bool? in
            let (headers, _) = try await offPool { try curl(["--max-time", "5", "http://127.0.0.1:\(port)/"]) }
            return headers[":status"] == "200" ? true : nil
        }
        return run
    }

    func pageName(_ next: String) -> String {
        "login-" + String(SHA256.hex(Array(next.utf8)).prefix(12)) + ".html"
    }

    func writeLoginPage(token: String, next: String) throws {
        let action = "http://127.0.0.1:\(daemon.httpPort)/ui/login"
        let html: HTML = """
            <!doctype html><html><body><form method="post" action="\(action)">
            <input name="token" value="\(token)"><input name="next" value="\(next)"></form>
            <script>document.forms[0].submit()</script></body></html>
            """
        try html.text.write(toFile: "\(directory)/site/\(pageName(next))", atomically: true, encoding: .utf8)
    }

    func arguments(_ extra: [String], next: String) -> [String] {
        [
            "120", DashboardTests.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--no-first-run", "--disable-dev-shm-usage",
            "--user-data-dir=\(directory)/profile-\(UInt32.random(in: 0...UInt32.max))",
        ] + extra + ["http://127.0.0.1:\(helperPort)/\(pageName(next))"]
    }

    /// The DOM after the login redirect, as Chromium built it (scripts ran).
    func dumpDOM(next: String) async throws -> String {
        let output = "\(directory)/dom.html"
        let log = "\(directory)/chromium-dom.log"
        let status = try await runProgram(
            "/usr/bin/timeout", ["--kill-after=10"] + arguments(["--dump-dom"], next: next),
            output: output, errors: log)
        let dom = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        let errors = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(status == 0, "chromium --dump-dom: \(status) \(errors.suffix(2000))")
        guard dom.contains("<html") else { throw TestFailure("no DOM from chromium: \(errors.suffix(2000))") }
        print("dashboard DOM: \(output)")
        return dom
    }

    func screenshot(next: String, width: Int, height: Int, to path: String) async throws -> String {
        let log = "\(directory)/chromium-shot.log"
        let status = try await runProgram(
            "/usr/bin/timeout",
            ["--kill-after=10"]
                + arguments(
                    ["--screenshot=\(path)", "--window-size=\(width),\(height)"], next: next),
            output: log)
        #expect(status == 0, "chromium --screenshot: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        #expect(size > 10_000, "screenshot \(path): \(size) bytes")
        return path
    }

    /// SIGKILL: the helper inherits a blocked SIGTERM from the test runner.
    func stop() { helper.stop(SIGKILL) }
}
