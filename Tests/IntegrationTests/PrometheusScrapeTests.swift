import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The daemon's /metrics with every source on (host collectors, PostgreSQL with
/// pg_stat_statements, Redis with keys under every cache type, StatsD counters, gauges, sets,
/// timers and request timings) checked by promtool in both formats, by a strict OpenMetrics
/// reader, against the metric catalogue, and scraped by a real Prometheus whose PromQL rate()
/// of the request counter must agree with the JSON API.
@Suite(
    .enabled(
        if: TestEnvironment.isAvailable && TestEnvironment.redisURL != nil && MonitoredPostgres.url != nil,
        "needs scripts/test (live PostgreSQL and Redis)"))
struct PrometheusScrapeTests {
    static let rateEndpoint = "/v1/prom/rate"
    static let requestsPerSecond = 20.0

    @Test("every source on: promtool clean on both formats, one family per name, a real Prometheus agrees with the API")
    func everySourceScraped() async throws {
        let redisURL = try #require(TestEnvironment.redisURL).replacingOccurrences(of: "/0", with: "/6")
        let redis = try RedisConnection(url: try RedisURL(redisURL))
        _ = try redis.command(["FLUSHDB"])
        var commands: [[String]] = []
        for (prefix, ttl) in [("search:", 300), ("emb:", 600), ("graph:", 1200)] {
            for index in 0..<30 { commands.append(["SET", "\(prefix)\(index)", "v", "EX", String(ttl)]) }
        }
        commands += (0..<5).map { ["SET", "misc:\($0)", "v"] }
        _ = try redis.pipeline(commands)
        let monitored = try MonitoredPostgres.makeDatabase()
        let workload = try PostgresConnection(url: monitored, applicationName: "workload")
        try workload.execute(rawSQL: "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT 1;")

        let daemon = try Daemon.make()
        let monquery = try daemon.start()
        let statsdPort = TestEnvironment.freePort()
        let monagent = try daemon.startAgent(
            interval: 0.25,
            extra: [
                "MONAGENT_REDIS_URL": redisURL, "MONAGENT_REDIS_SCAN_COUNT": "100",
                "MONAGENT_POSTGRES_URL": monitored, "MONAGENT_POSTGRES_STATEMENTS_INTERVAL": "0.5",
                "MONAGENT_STATSD_ADDRESS": "127.0.0.1:\(statsdPort)",
            ])
        let prometheusDirectory = try TestEnvironment.makeDirectory("prometheus")
        let prometheus = try PrometheusServer.start(
            scraping: "127.0.0.1:\(daemon.httpPort)", directory: prometheusDirectory)
        defer {
            prometheus.stop()
            monagent.stop()
            monquery.stop()
        }
        _ = try await eventually("StatsD receiver listening") { () -> Bool? in
            monagent.log.contains("StatsD receiver listening") ? true : nil
        }
        let sender = UDPSender(port: statsdPort)
        defer { sender.close() }
        sender.send(
            [
                "cache.hit:1|c|#cache:search_results", "cache.miss:1|c|#cache:embeddings",
                "cache.hit:1|c|#cache:graph_traversal", "jobs.done:3|c", "queue.depth:7|g", "users:alice|s",
                "db.query:12|ms|#table:memories",
                // Gauges named with histogram suffixes: exposed as …_value, or promtool complains.
                "queue_count:5|g", "payload_sum:9|g", "wait_bucket:2|g",
            ].joined(separator: "\n"))

        // A steady 20 requests/s for 30 s, paced against the clock (no drift).
        let total = 600
        let started = ContinuousClock.now
        let sending = Task {
            for index in 0..<total {
                try await Task.sleep(until: started + .milliseconds(index * 50), clock: .continuous)
                sender.send("http.request.duration:12|ms|#endpoint:\(Self.rateEndpoint),method:GET,status:200")
            }
            return ContinuousClock.now - started
        }

        // Every source reported (Redis cache walk and PostgreSQL statements included).
        let text = try await eventually("every source in /metrics", seconds: 60) { () -> String? in
            let body = try await daemon.getText("/metrics").body
            let needed = [
                "mon_redis_cache_ttl_keys{", "mon_postgres_statements_calls_total{", "mon_host_cpu_seconds_total{",
                "app_cache_hit_total{", "app_queue_depth{", "app_db_query_seconds_bucket{",
                "mon_app_request_duration_seconds_bucket{", "app_queue_count_value{",
            ]
            return needed.allSatisfy { body.contains($0) } ? body : nil
        }
        let openMetrics = try await Self.scrape(daemon, accept: "application/openmetrics-text; version=1.0.0")
        #expect(openMetrics.contentType.hasPrefix("application/openmetrics-text"))

        // The strict reader: one family per name, allowed suffixes, `# EOF`.
        let strict = try ExpositionParser.parse(openMetrics.body, openMetrics: true)
        _ = try ExpositionParser.parse(text, openMetrics: false)
        // Families still appear between two scrapes (rates from the second cycle on): compare a
        // back-to-back pair.
        let plain = try await eventually("both formats list the same families", seconds: 20) {
            () -> ExpositionParser? in
            let pair = try await Self.scrape(daemon, accept: "application/openmetrics-text; version=1.0.0").body
            let plain = try ExpositionParser.parse(try await daemon.getText("/metrics").body, openMetrics: false)
            let open = try ExpositionParser.parse(pair, openMetrics: true)
            return open.order.count == plain.order.count ? plain : nil
        }
        // promtool on both formats: zero findings. promtool 2.42 reads the text format only: in
        // OpenMetrics a counter's `# HELP` names the family without `_total`, which it reports as
        // "X_total no help text"; those (and only those) are the format's, not findings.
        for (name, body) in [("text 0.0.4", text), ("OpenMetrics", openMetrics.body)] {
            let (status, report) = try await runProgram(Promtool.path, ["check", "metrics"], input: body)
            let lines = report.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
            let findings = lines.filter { line in
                guard name == "OpenMetrics", line.hasSuffix("_total no help text") else { return true }
                let family = String(line.dropLast("_total no help text".count))
                return strict.families[family]?.type != "counter" || strict.families[family]?.help == nil
            }
            print(
                "promtool check metrics (\(name)): exit \(status), \(lines.count) lines, \(findings.count) findings\(findings.isEmpty ? "" : ": \(findings)")"
            )
            #expect(findings.isEmpty, "promtool (\(name)): \(findings)")
        }
        // Before issue 19 the TTL distribution carried `le`: the same live text with the old label.
        let before = text.replacingOccurrences(of: "ttl_bucket=", with: "le=")
        let (_, beforeReport) = try await runProgram(Promtool.path, ["check", "metrics"], input: before)
        print(
            "promtool with the old `le` label on the same scrape: \(beforeReport.split(separator: "\n").count) findings"
        )
        #expect(!text.contains("le=\"60\",type="), "the TTL distribution has no `le` label")
        #expect(text.contains("ttl_bucket=\"60\""))
        #expect(!text.contains("app_queue_count{") && text.contains("app_payload_sum_value{"))

        print("families: OpenMetrics \(strict.order.count), text 0.0.4 \(plain.order.count)")
        #expect(strict.order.count > 100)
        var undeclared: [String] = []
        var generic: [String] = []
        for name in strict.order {
            let family = try #require(strict.families[name])
            if MetricCatalogue.isDeclaredNamespace(name) {
                if MetricCatalogue.descriptor(name) == nil { undeclared.append(name) }
            } else if family.help?.hasPrefix("StatsD ") != true, MetricCatalogue.descriptor(name) == nil {
                generic.append(name)
            }
        }
        let helps = Set(strict.families.values.compactMap(\.help))
        print("distinct help texts: \(helps.count) of \(strict.order.count) families; undeclared: \(undeclared)")
        #expect(undeclared == [])
        #expect(generic == [], "application families without a generated StatsD help text")
        #expect(helps.count == strict.order.count)
        #expect(text.contains("mon_query_metrics_series_dropped 0\n"))

        // Duplicates are refused by the reader (so it can fail).
        #expect(throws: ExpositionParser.Failure.self) {
            try ExpositionParser.parse(
                "# TYPE a gauge\na 1\n# TYPE a_total counter\n# TYPE a counter\na_total 1\n# EOF\n", openMetrics: true)
        }
        #expect(throws: ExpositionParser.Failure.self) {
            try ExpositionParser.parse("# TYPE a gauge\na{le=\"1\"} 1\n", openMetrics: false)
        }

        // The real Prometheus: target up, no scrape error, rate() agrees with the API.
        let target = try await eventually("Prometheus target up", seconds: 30) { () -> (String, String)? in
            guard let target = try await prometheus.target(), target.health == "up" else { return nil }
            return target
        }
        print("Prometheus target: health \(target.0), last error \"\(target.1)\"")
        #expect(target.1 == "")
        try await Task.sleep(until: started + .seconds(25), clock: .continuous)
        let promQL =
            "sum(rate(mon_app_request_duration_seconds_count{endpoint=\"\(Self.rateEndpoint)\"}[15s]))"
        let promRate = try await eventually("PromQL rate", seconds: 10) { try await prometheus.scalar(promQL) }
        let up = try await prometheus.scalar("up{job=\"monquery\"}")
        let sent = try await sending.value
        let sentSeconds = Double(sent.components.seconds) + Double(sent.components.attoseconds) / 1e18
        let api = try await eventually("all requests in the API", seconds: 30) { () -> [String: Any]? in
            let (_, json) = try await daemon.get("/api/monitoring/metrics?type=api&period=15m")
            let list = (json as? [String: Any])?["endpoints"] as? [[String: Any]] ?? []
            let found = list.first { $0["endpoint"] as? String == Self.rateEndpoint }
            return found?["requests"] as? Int == total ? found : nil
        }
        // The API's requests per second over the sending window (its throughput_rps divides by
        // the whole 15 min period).
        let apiRate = Double(api["requests"] as? Int ?? 0) / max(sentSeconds, 1)
        let difference = abs(promRate - apiRate) / apiRate
        print(
            "rate: PromQL \(promRate)/s, API \(apiRate)/s (\(total) requests in \(sentSeconds) s), sent \(Self.requestsPerSecond)/s, difference \(difference * 100) %, up \(up ?? -1)"
        )
        #expect(up == 1)
        #expect(difference <= 0.05)
        #expect(abs(promRate - Self.requestsPerSecond) / Self.requestsPerSecond <= 0.05)
        #expect(monagent.isRunning && monquery.isRunning)
    }

    static func scrape(_ daemon: Daemon, accept: String) async throws -> (body: String, contentType: String) {
        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(daemon.httpPort)/metrics")))
        request.setValue(accept, forHTTPHeaderField: "Accept")
        let (data, response) = try await URLSession.shared.data(for: request)
        let type = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type") ?? ""
        return (String(decoding: data, as: UTF8.self), type)
    }
}
