import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

extension TestEnvironment {
    /// The realapp virtualenv's python, set by scripts/test (`MON_TEST_REALAPP_PYTHON`).
    static var realAppPython: String? { environment["MON_TEST_REALAPP_PYTHON"] }
}

/// A real FastAPI + uvicorn application (Tests/Fixtures/realapp/app.py) logging with structlog
/// to a file and sending DogStatsD with the official `datadog` client (cache counters also with
/// the plain, tag-less `statsd` client), caching in Redis and querying PostgreSQL, driven by
/// driver.py, which records the truth. The real agent and daemon must match it: counts and 5xx
/// exactly, P50/P95 within 2 % of the app's own durations, hit rates within 0.5 points, error
/// log lines exactly, no secret leaked — fed by StatsD only, by the log only, and by both.
@Suite(
    .enabled(
        if: TestEnvironment.isAvailable && TestEnvironment.realAppPython != nil && TestEnvironment.redisURL != nil,
        "needs scripts/test (live PostgreSQL, Redis and the realapp virtualenv)"),
    .serialized)
struct RealClientTests {
    enum Mode: String, CaseIterable, Sendable {
        case statsd
        case logs
        case both
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/realapp").path
    static let secret = "s3cr3t-\(UInt32.random(in: 0...UInt32.max))"
    static let driveSeconds = "12"

    struct Truth: Decodable {
        struct Client: Decodable {
            var requests: [String: Int]
            var statuses: [String: [String: Int]]
        }
        struct Server: Decodable {
            struct Cache: Decodable {
                var hits: Int
                var misses: Int
            }
            var durations_ms: [String: [Double]]
            var statuses: [String: [String: Int]]
            var cache: [String: Cache]
            var error_lines: Int
        }
        var client: Client
        var server: Server
    }

    /// The exact quantile with the rank rule the API uses: sorted[floor(q × (n − 1))].
    static func exact(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.sorted()
        return sorted[Int((q * Double(sorted.count - 1)).rounded(.down))]
    }

    static func redisURL(database: Int) throws -> String {
        let url = try #require(TestEnvironment.redisURL)
        guard let slash = url.lastIndex(of: "/") else { throw TestFailure("bad MON_TEST_REDIS_URL") }
        return url[..<slash] + "/\(database)"
    }

    @Test("the real app's truth matches the API", arguments: Mode.allCases)
    func realApp(mode: Mode) async throws {
        let python = try #require(TestEnvironment.realAppPython)
        let daemon = try Daemon.make()
        let monquery = try daemon.start()
        let statsdPort = TestEnvironment.freePort()
        let appPort = TestEnvironment.freePort()
        let logFile = "\(daemon.directory)/app.log"
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        // Its own Redis database: keys under the three cache types, apart from other suites'.
        let redis = try Self.redisURL(database: 9)
        var agentEnvironment = ["MONAGENT_COLLECTORS": "cpu", "MONAGENT_REDIS_URL": redis]
        if mode != .logs { agentEnvironment["MONAGENT_STATSD_ADDRESS"] = "127.0.0.1:\(statsdPort)" }
        if mode != .statsd {
            agentEnvironment["MONAGENT_LOG_PATHS"] = logFile
            agentEnvironment["MONAGENT_LOGS_START_AT"] = "beginning"
        }
        let monagent = try daemon.startAgent(interval: 0.5, extra: agentEnvironment)
        let app = try ManagedProcess(
            binary: python,
            arguments: [
                "-m", "uvicorn", "app:app", "--app-dir", Self.fixtures, "--host", "127.0.0.1", "--port",
                "\(appPort)", "--no-access-log", "--log-level", "warning",
            ],
            environment: [
                "LOG_FILE": logFile, "STATSD_PORT": mode == .logs ? "0" : "\(statsdPort)",
                // StatsD only: cache counters from the plain statsd client (tag-less cache.hit.<prefix>).
                "CACHE_CLIENT": mode == .statsd ? "statsd" : "datadog", "REDIS_URL": redis,
                "PG_URL": daemon.databaseURL, "APP_SECRET": Self.secret,
            ],
            logPath: "\(daemon.directory)/app.out")
        defer {
            app.stop(SIGKILL)  // a test fixture: no graceful shutdown to wait for
            monagent.stop()
            monquery.stop()
        }
        if mode != .logs {
            _ = try await eventually("StatsD receiver listening") {
                monagent.log.contains("address=\"udp") ? true : nil
            }
        }
        let base = "http://127.0.0.1:\(appPort)"
        _ = try await eventually("the app answering", seconds: 60) { () -> Bool? in
            guard app.isRunning else { throw TestFailure("app exited: \(app.log)") }
            let url = try #require(URL(string: base + "/__truth"))
            return (try? await URLSession.shared.data(from: url)) != nil ? true : nil
        }
        let truthPath = "\(daemon.directory)/truth.json"
        let driven = try await runProgram(python, ["\(Self.fixtures)/driver.py", base, Self.driveSeconds, truthPath])
        #expect(driven.status == 0, "driver: \(driven.output)")
        let truth = try JSONDecoder().decode(Truth.self, from: Data(contentsOf: URL(fileURLWithPath: truthPath)))
        let total = truth.client.requests.values.reduce(0, +)
        #expect(total > 100, "driver sent \(total) requests")
        for (template, statuses) in truth.client.statuses {
            #expect(truth.server.statuses[template] == statuses, "app and driver disagree on \(template)")
        }

        // Requests: wait until the API has seen as many as were sent (or more: that is the bug).
        let endpoints = try await eventually("\(total) requests in the API", seconds: 90) {
            () -> [String: [String: Any]]? in
            let (status, json) = try await daemon.get("/api/monitoring/metrics?type=api&period=1h&limit=1000")
            guard status == 200, let list = (json as? [String: Any])?["endpoints"] as? [[String: Any]] else {
                return nil
            }
            var byEndpoint: [String: [String: Any]] = [:]
            for item in list { if let name = item["endpoint"] as? String { byEndpoint[name] = item } }
            let seen = byEndpoint.values.compactMap { ($0["requests"] as? NSNumber)?.intValue }.reduce(0, +)
            return seen >= total ? byEndpoint : nil
        }
        // Let one more flush land: a double count would show now.
        try await Task.sleep(for: .seconds(2))
        let (_, again) = try await daemon.get("/api/monitoring/metrics?type=api&period=1h&limit=1000")
        var final = endpoints
        for item in ((again as? [String: Any])?["endpoints"] as? [[String: Any]]) ?? [] {
            if let name = item["endpoint"] as? String { final[name] = item }
        }

        var table = ["RealClientTests mode=\(mode.rawValue): what | truth | API"]
        for template in truth.client.requests.keys.sorted() {
            let api = final[template]
            let requests = (api?["requests"] as? NSNumber)?.intValue
            let sent = truth.client.requests[template] ?? 0
            let errors = (truth.client.statuses[template] ?? [:]).filter { $0.key.hasPrefix("5") }.values.reduce(0, +)
            let statusCounts = api?["status_counts"] as? [String: NSNumber] ?? [:]
            let apiErrors = statusCounts.filter { $0.key.hasPrefix("5") }.values.map(\.intValue).reduce(0, +)
            let latency = api?["latency_ms"] as? [String: Any]
            let durations = truth.server.durations_ms[template] ?? []
            let (p50, p95) = (Self.exact(durations, 0.5), Self.exact(durations, 0.95))
            let apiP50 = (latency?["p50"] as? NSNumber)?.doubleValue ?? .nan
            let apiP95 = (latency?["p95"] as? NSNumber)?.doubleValue ?? .nan
            let source = api?["source"] as? String
            table.append(
                "requests \(template) | \(sent) | \(requests.map(String.init) ?? "none") (source \(source ?? "null"))")
            table.append("5xx \(template) | \(errors) | \(apiErrors)")
            table.append(
                String(format: "P50/P95 ms %@ | %.3f / %.3f | %.3f / %.3f", template, p50, p95, apiP50, apiP95))
            #expect(requests == sent, "requests of \(template)")
            #expect(apiErrors == errors, "5xx of \(template)")
            #expect(abs(apiP50 - p50) <= p50 * 0.02, "P50 of \(template): \(apiP50) vs \(p50)")
            #expect(abs(apiP95 - p95) <= p95 * 0.02, "P95 of \(template): \(apiP95) vs \(p95)")
            #expect(source == (mode == .logs ? "logs" : "statsd"), "source of \(template)")
        }
        #expect(Set(final.keys) == Set(truth.client.requests.keys), "endpoints: \(final.keys.sorted())")

        if mode != .logs {
            try await checkHitRates(daemon, truth, &table)
        }
        if mode != .statsd {
            try await checkErrorLines(daemon, truth, &table)
        }
        if mode == .both {
            // Every request reached the agent twice; the log copies were dropped and counted.
            let deduplicated = try await eventually("the deduplication counter") { () -> Double? in
                let value = try daemon.column(
                    """
                    SELECT m.value FROM metrics m JOIN metric_series s ON s.id = m.series_id
                    WHERE s.name = $1 AND s.labels->>'source' = 'logs' ORDER BY m.ts DESC LIMIT 1
                    """, [AppAggregator.deduplicatedMetric]
                ).first.flatMap { $0.flatMap(Double.init) }
                return value.flatMap { $0 >= Double(total) ? $0 : nil }
            }
            table.append("\(AppAggregator.deduplicatedMetric){source=logs} | \(total) | \(Int(deduplicated))")
            #expect(deduplicated == Double(total))
        }
        print(table.joined(separator: "\n"))
    }

    /// `/redis/keys` hit rates per type (every period) and the summary's merged rate.
    func checkHitRates(_ daemon: Daemon, _ truth: Truth, _ table: inout [String]) async throws {
        let lookups = truth.server.cache.values.reduce(0) { $0 + $1.hits + $1.misses }
        let types = try await eventually("\(lookups) cache lookups in /redis/keys", seconds: 60) {
            () -> [String: [[String: Any]]]? in
            let (status, json) = try await daemon.get("/api/monitoring/redis/keys?period=1h")
            guard status == 200, let hosts = (json as? [String: Any])?["hosts"] as? [[String: Any]],
                let list = hosts.first?["cache_types"] as? [[String: Any]]
            else { return nil }
            var byType: [String: [[String: Any]]] = [:]
            var seen = 0
            for item in list {
                guard let type = item["type"] as? String, let rates = item["hit_rates"] as? [[String: Any]] else {
                    continue
                }
                byType[type] = rates
                if let first = rates.first {
                    seen +=
                        ((first["hits"] as? NSNumber)?.intValue ?? 0) + ((first["misses"] as? NSNumber)?.intValue ?? 0)
                }
            }
            return seen >= lookups ? byType : nil
        }
        for (type, counts) in truth.server.cache.sorted(by: { $0.key < $1.key }) {
            let expected = Double(counts.hits) / Double(counts.hits + counts.misses) * 100
            let rates = types[type] ?? []
            #expect(rates.map { $0["period"] as? String } == ["15m", "1h", "6h"], "periods of \(type)")
            for rate in rates {
                let percent = (rate["hit_rate_percent"] as? NSNumber)?.doubleValue ?? .nan
                #expect(abs(percent - expected) <= 0.5, "hit rate of \(type) over \(rate["period"] ?? "?")")
            }
            let shown = rates.map {
                ((($0["hit_rate_percent"] as? NSNumber)?.doubleValue ?? .nan) * 100).rounded() / 100
            }
            table.append(
                String(
                    format: "hit rate %% %@ (%d hits, %d misses) | %.2f | ", type, counts.hits, counts.misses, expected)
                    + "\(shown) (15m, 1h, 6h)")
        }
        let hits = truth.server.cache.values.reduce(0) { $0 + $1.hits }
        let overall = Double(hits) / Double(lookups) * 100
        let (_, summary) = try await daemon.get("/api/monitoring/metrics/summary")
        let hosts = (summary as? [String: Any])?["hosts"] as? [[String: Any]]
        let summaryRate =
            ((hosts?.first?["redis"] as? [String: Any])?["cache_hit_rate_percent"] as? NSNumber)?
            .doubleValue ?? .nan
        table.append(String(format: "summary redis.cache_hit_rate_percent | %.2f | %.2f", overall, summaryRate))
        #expect(abs(summaryRate - overall) <= 0.5, "summary cache hit rate")
        let (_, stats) = try await daemon.get("/api/monitoring/redis/stats?period=1h")
        let statsHosts = (stats as? [String: Any])?["hosts"] as? [[String: Any]]
        let statsRate = (statsHosts?.first?["cache_hit_rate_percent"] as? NSNumber)?.doubleValue ?? .nan
        table.append(String(format: "/redis/stats cache_hit_rate_percent | %.2f | %.2f", overall, statsRate))
        #expect(abs(statsRate - overall) <= 0.5, "/redis/stats cache hit rate")
    }

    /// `/logs?level=error` lists each error line once, with the secret masked.
    func checkErrorLines(_ daemon: Daemon, _ truth: Truth, _ table: inout [String]) async throws {
        let expected = truth.server.error_lines
        let logs = try await eventually("\(expected) error lines", seconds: 60) { () -> [[String: Any]]? in
            let (status, json) = try await daemon.get("/api/monitoring/logs?level=error&since=1h&limit=1000")
            guard status == 200, let list = (json as? [String: Any])?["logs"] as? [[String: Any]] else { return nil }
            return list.count >= expected ? list : nil
        }
        try await Task.sleep(for: .seconds(1))
        let (_, again) = try await daemon.get("/api/monitoring/logs?level=error&since=1h&limit=1000")
        let count = ((again as? [String: Any])?["logs"] as? [[String: Any]])?.count ?? logs.count
        table.append("error log lines (/logs?level=error) | \(expected) | \(count)")
        #expect(count == expected)
        let body = try await daemon.getText("/api/monitoring/logs?level=error&since=1h&limit=1000").body
        #expect(body.contains("search_failed"))
        #expect(!body.contains(Self.secret), "the app's secret came out of /logs")
        table.append("secret in /logs | no | \(body.contains(Self.secret) ? "yes" : "no")")
    }
}
