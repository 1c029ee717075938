import Foundation
import MonCore
import Testing

/// Remote-write export against a real receiver: Debian's Prometheus with
/// `--web.enable-remote-write-receiver` (it scrapes nothing). After the agent ran for a while,
/// PromQL over what Prometheus received agrees with what monquery stored and serves: the CPU
/// samples one for one, their mean with the CPU route's over the same window, the request count exactly, the request-latency P95 within the `le`
/// rung that holds our API's value. The receiver is then stopped for 60 s and started again:
/// the exporter retries (failures on /metrics, `/health/detailed` degraded), resumes from its
/// cursor; monquery is restarted as well; the received CPU series has every stored sample
/// (the same timestamps), both outages included.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test"))
struct RemoteWriteExportTests {
    static let endpoint = "/v1/rw/{id}"

    @Test("Prometheus receives every stored sample; PromQL agrees with our API; a 60 s outage leaves no gap")
    func prometheusReceiver() async throws {
        let daemon = try Daemon.make()
        var receiver = try RemoteWriteReceiver(directory: try TestEnvironment.makeDirectory("remote-write"))
        try await receiver.start()
        let configPath = "\(daemon.directory)/monquery.yaml"
        try """
        export:
          remote_write:
            - name: local-prometheus
              url: \(receiver.writeURL)
              headers: {X-Scope-OrgID: mon-tests}
              queue: {max_samples_per_send: 500, max_shards: 2, min_backoff_seconds: 0.2, max_backoff_seconds: 2}
              write_relabel: {drop: "mon_host_cpu_seconds_total"}
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
        var monquery = try daemon.start(arguments: ["--config", configPath])
        let statsdPort = TestEnvironment.freePort()
        let agent = try daemon.startAgent(
            interval: 0.5, host: "rw-host", agentID: "rw-agent",
            extra: ["MONAGENT_STATSD_ADDRESS": "127.0.0.1:\(statsdPort)", "MONAGENT_COLLECTORS": "cpu"])
        defer {
            agent.stop()
            monquery.stop()
            receiver.stop()
        }
        _ = try await eventually("StatsD receiver listening") { () -> Bool? in
            agent.log.contains("address=\"udp") ? true : nil
        }

        // 2000 request timings (log-normal around 40 ms) of one endpoint.
        let sender = UDPSender(port: statsdPort)
        defer { sender.close() }
        var lines: [String] = []
        for _ in 0..<2000 {
            let u = Double.random(in: 1e-9..<1)
            let v = Double.random(in: 0..<1)
            let value = 40 * exp(0.6 * sqrt(-2 * log(u)) * cos(2 * .pi * v))
            lines.append(
                "http.request.duration:\(value)|ms|#endpoint:/v1/rw/\(Int.random(in: 1...999)),method:GET,status:200")
        }
        for (index, start) in stride(from: 0, to: lines.count, by: 40).enumerated() {
            sender.send(lines[start..<min(start + 40, lines.count)].joined(separator: "\n"))
            if index % 5 == 4 { try await Task.sleep(for: .milliseconds(2)) }
        }
        let apiLatency = try await eventually("2000 requests in the API", seconds: 60) { () -> [String: Any]? in
            let (status, json) = try await daemon.get("/api/monitoring/metrics?type=api&period=1h")
            guard status == 200, let list = (json as? [String: Any])?["endpoints"] as? [[String: Any]],
                let entry = list.first(where: { $0["endpoint"] as? String == Self.endpoint }),
                entry["requests"] as? Int == 2000
            else { return nil }
            return entry["latency_ms"] as? [String: Any]
        }
        let apiP95 = try #require(apiLatency["p95"] as? Double) / 1000

        let selector = "{host=\"rw-host\",endpoint=\"\(Self.endpoint)\"}"
        _ = try await eventually("2000 requests in Prometheus", seconds: 60) { () -> Bool? in
            let count = try await receiver.scalar(
                "sum(mon_app_request_duration_seconds_count\(selector))", at: Date().timeIntervalSince1970)
            return count == 2000 ? true : nil
        }
        let promP95 = try #require(
            try await receiver.scalar(
                "histogram_quantile(0.95, sum by (le) (mon_app_request_duration_seconds_bucket\(selector)))",
                at: Date().timeIntervalSince1970))
        // PromQL interpolates inside a rung of the exported le ladder: it must land in the rung
        // that holds our API's P95 (which is within 1 % of the exact value).
        let ladder = [0.0] + PrometheusLadder.boundaries + [Double.infinity]
        let rung = try #require(ladder.indices.dropFirst().first { apiP95 <= ladder[$0] })
        print(
            "request P95: API \(apiP95) s, PromQL histogram_quantile \(promP95) s, rung (\(ladder[rung - 1]), \(ladder[rung])]"
        )
        #expect(promP95 > ladder[rung - 1] && promP95 <= ladder[rung], "API \(apiP95) s, PromQL \(promP95) s")
        // write_relabel: the dropped family never reached Prometheus; the kept one did.
        let now = Date().timeIntervalSince1970
        #expect(try await receiver.query("mon_host_cpu_seconds_total", at: now).isEmpty)
        #expect(try await receiver.scalar("count(mon_host_cpu_usage_ratio{host=\"rw-host\"})", at: now) ?? 0 >= 1)

        // The outage: 60 s without a receiver; the exporter retries and says so.
        receiver.stop()
        let outageStart = Date()
        _ = try await eventually("remote-write failures on /metrics and /health/detailed", seconds: 30) { () -> Bool? in
            let metrics = try await daemon.getText("/metrics").body
            let failed = Self.value(
                metrics, "mon_query_remote_write_samples_failed_total{destination=\"local-prometheus\"}")
            let (_, health) = try await daemon.get("/health/detailed")
            let checks = (health as? [String: Any])?["checks"] as? [String: Any]
            let remote = checks?["remote_write"] as? [String: Any]
            return (failed ?? 0) > 0 && remote?["status"] as? String == "degraded" ? true : nil
        }
        let rest = 60 - Date().timeIntervalSince(outageStart)
        if rest > 0 { try await Task.sleep(for: .milliseconds(Int(rest * 1000))) }
        try await receiver.start()

        // monquery restarts too: the exporter resumes from its cursor in PostgreSQL.
        try await Task.sleep(for: .seconds(5))
        monquery.stop()
        try await Task.sleep(for: .seconds(3))
        monquery = try daemon.start(log: "monquery-2.log", arguments: ["--config", configPath])
        // A few more seconds of data, then the agent stops so the backlog can drain to zero.
        try await Task.sleep(for: .seconds(8))
        agent.stop()
        // Caught up: nothing pending, then compare every stored CPU sample with what Prometheus holds.
        _ = try await eventually("the backlog exported", seconds: 90) { () -> Bool? in
            let metrics = try await daemon.getText("/metrics").body
            let pending = Self.value(
                metrics, "mon_query_remote_write_pending_batches{destination=\"local-prometheus\"}")
            return pending == 0 ? true : nil
        }
        let cpu = """
            FROM metrics m JOIN metric_series s ON s.id = m.series_id
            WHERE s.name = 'mon_host_cpu_usage_ratio' AND s.host = 'rw-host' AND s.labels->>'cpu' = 'all'
            """
        let firstMs = try daemon.scalar("SELECT (extract(epoch FROM min(m.ts)) * 1000)::bigint \(cpu)")
        let lastMs = try daemon.scalar("SELECT (extract(epoch FROM max(m.ts)) * 1000)::bigint \(cpu)")
        let stored = try daemon.scalar("SELECT count(*) \(cpu)")
        let storedSum = try #require(
            Double(try daemon.column("SELECT sum(m.value) \(cpu)").first.flatMap { $0 } ?? ""))
        #expect(Double(lastMs - firstMs) / 1000 > 60, "the stored series spans the outage")
        let window = Double(lastMs - firstMs) / 1000 + 0.25
        let at = Double(lastMs) / 1000
        let series = "mon_host_cpu_usage_ratio{host=\"rw-host\",cpu=\"all\"}"
        let received = try await eventually("every stored CPU sample in Prometheus", seconds: 30) { () -> Double? in
            let count = try await receiver.scalar("count_over_time(\(series)[\(Int(window * 1000))ms])", at: at)
            return count == Double(stored) ? count : nil
        }
        let receivedSum = try #require(
            try await receiver.scalar("sum_over_time(\(series)[\(Int(window * 1000))ms])", at: at))
        print("CPU samples stored \(stored), received \(received); sums \(storedSum) / \(receivedSum)")
        #expect(abs(receivedSum - storedSum) <= 1e-9 * max(1, abs(storedSum)))
        // Our JSON API and PromQL over the same window: the mean CPU usage of every sample in it.
        let from = String(format: "%.3f", Double(firstMs - 100) / 1000)
        let to = String(format: "%.3f", Double(lastMs + 100) / 1000)
        let (cpuStatus, cpuJSON) = try await daemon.get("/api/monitoring/system/cpu?host=rw-host&from=\(from)&to=\(to)")
        let cpuHost = ((cpuJSON as? [String: Any])?["hosts"] as? [[String: Any]])?.first
        let apiMean = try #require((cpuHost?["average"] as? [String: Any])?["usage_percent"] as? Double, "\(cpuStatus)")
        let promMean = try #require(
            try await receiver.scalar("avg_over_time(\(series)[\(Int(window * 1000))ms]) * 100", at: at))
        print("mean CPU usage \(from)…\(to): API \(apiMean) %, PromQL avg_over_time \(promMean) %")
        #expect(abs(apiMean - promMean) <= 1e-9 * max(1, abs(apiMean)), "API \(apiMean), PromQL \(promMean)")
        // The received samples themselves: the stored timestamps, every one, across both outages
        // (a step between two stored samples is the agent's, which a loaded machine may stretch).
        let times = try await receiver.samples("\(series)[\(Int(window * 1000))ms]", at: at).map {
            Int64(($0.time * 1000).rounded())
        }
        let storedTimes = try daemon.column(
            "SELECT (extract(epoch FROM m.ts) * 1000)::bigint \(cpu) ORDER BY m.ts"
        ).compactMap { $0.flatMap { Int64($0) } }
        let steps = zip(times.dropFirst(), times).map { $0 - $1 }
        print("received CPU samples: \(times.count), largest step \(steps.max() ?? 0) ms")
        #expect(times == storedTimes, "received \(times.count), stored \(storedTimes.count)")

        let metrics = try await daemon.getText("/metrics").body
        let sent = Self.value(metrics, "mon_query_remote_write_samples_sent_total{destination=\"local-prometheus\"}")
        #expect((sent ?? 0) > 0, "the restarted monquery exported the rest")
        #expect(!metrics.contains("mon_query_remote_write_samples_dropped_total{"), "nothing dropped: \(metrics)")
        #expect(!monquery.log.contains("mon-tests"), "headers are never logged")
    }

    /// A sample's value in a text exposition.
    static func value(_ exposition: String, _ series: String) -> Double? {
        for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}

/// The exported `le` ladder (RemoteWriteEncoder.boundaries, the ladder of /metrics).
enum PrometheusLadder {
    static let boundaries: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
}
