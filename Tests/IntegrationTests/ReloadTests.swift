import Foundation
import MonCore
import Testing

/// SIGHUP against the real monquery binary (issue 25): a changed rule threshold and a new
/// viewer token apply without a restart; a broken file is refused with the reason logged, and
/// the daemon keeps serving with the rules and tokens it had.
@Suite(.enabled(if: TestEnvironment.isAvailable))
struct ReloadTests {
    static let viewerA = "viewer-a-\(UInt64.random(in: 0...UInt64.max))"
    static let viewerB = "viewer-b-\(UInt64.random(in: 0...UInt64.max))"
    static let admin = "admin-\(UInt64.random(in: 0...UInt64.max))"

    static func yaml(
        _ daemon: Daemon, threshold: String, viewer: String, aheadDays: Int = 3, rule: String = "ReloadProbe"
    ) -> String {
        """
        database:
          url: "\(daemon.databaseURL)"
        ingest:
          socket: "\(daemon.socketPath)"
        http:
          listen: "127.0.0.1:\(daemon.httpPort)"
        storage:
          partitions_ahead_days: \(aheadDays)
        anomalies:
          enabled: false
        auth:
          viewer_tokens: ["ui:\(SHA256.hex(Array(viewer.utf8)))"]
          admin_tokens: ["ops:\(SHA256.hex(Array(admin.utf8)))"]
        alerts:
          interval_seconds: 0.5
          default_rules: false
          rules_dir: "\(daemon.directory)/rules.d"
          rules:
            - name: \(rule)
              metric: mon_host_cpu_usage_ratio
              labels: {cpu: all}
              aggregate: last
              op: ">="
              threshold: \(threshold)
              severity: warning
              summary: "CPU {{value}} on {{host}}"
              hint: "A probe of the reload test."

        """
    }

    /// The value of the first `/metrics` line that starts with `series` and holds every one of `labels`.
    static func metric(_ daemon: Daemon, _ series: String, _ labels: [String] = []) async throws -> Double? {
        let (status, body, _) = try await daemon.getText("/metrics")
        guard status == 200 else { return nil }
        let line = body.split(separator: "\n").first { line in
            line.hasPrefix(series) && labels.allSatisfy { line.contains($0) }
        }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    static func activeRules(_ daemon: Daemon) async throws -> [String]? {
        let (status, json) = try await daemon.get("/api/monitoring/alerts?state=active", token: admin)
        guard status == 200, let body = json as? [String: Any], body["evaluated"] as? Bool == true,
            let active = body["active"] as? [[String: Any]]
        else { return nil }
        return active.compactMap { $0["rule"] as? String }
    }

    @Test("SIGHUP: a new threshold and a new token apply; a broken file is refused and the old rules kept")
    func reload() async throws {
        let daemon = try Daemon.make()
        let path = "\(daemon.directory)/monquery.yaml"
        func write(_ text: String) throws { try text.write(toFile: path, atomically: true, encoding: .utf8) }
        // A threshold no CPU ratio reaches: the probe never fires.
        try write(Self.yaml(daemon, threshold: "1000", viewer: Self.viewerA))
        let server = try ManagedProcess(
            binary: "monquery", arguments: ["serve", "--config", path], environment: [:],
            logPath: "\(daemon.directory)/monquery.log")
        defer { server.stop() }
        let agent = try daemon.startAgent()
        defer { agent.stop() }

        // Evaluated with data, nothing fires; token A is a viewer, B is unknown.
        _ = try await eventually("a pass of the alerts with the agent's CPU in the cache") { () -> Bool? in
            guard let rules = try await Self.activeRules(daemon), rules.isEmpty,
                try await Self.metric(daemon, "mon_host_cpu_usage_ratio{", ["cpu=\"all\""]) != nil
            else { return nil }
            return true
        }
        #expect(try await daemon.get("/api/monitoring/alerts", token: Self.viewerA).status == 200)
        #expect(try await daemon.get("/api/monitoring/alerts", token: Self.viewerB).status == 401)

        // Threshold -1 (every ratio is above it), token B instead of A, and a key that needs a restart.
        try write(Self.yaml(daemon, threshold: "-1", viewer: Self.viewerB, aheadDays: 4))
        server.signal(SIGHUP)
        _ = try await eventually("the probe firing by the new threshold") { () -> Bool? in
            try await Self.activeRules(daemon)?.contains("ReloadProbe") == true ? true : nil
        }
        #expect(try await daemon.get("/api/monitoring/alerts", token: Self.viewerB).status == 200)
        #expect(try await daemon.get("/api/monitoring/alerts", token: Self.viewerA).status == 401)
        #expect(server.log.contains("configuration reloaded"))
        #expect(server.log.contains("alerts.rules, auth.viewer_tokens/admin_tokens"))
        #expect(server.log.contains("needs_restart=storage.partitions_ahead_days"))
        #expect(try await Self.metric(daemon, "mon_query_config_reloads_total{result=\"ok\"} ") == 1)

        // A broken file: refused, the reason named, the daemon still serving the same rules and tokens.
        try write(Self.yaml(daemon, threshold: "lots", viewer: Self.viewerA))
        server.signal(SIGHUP)
        _ = try await eventually("the refused reload counted") { () -> Bool? in
            try await Self.metric(daemon, "mon_query_config_reloads_total{result=\"failed\"} ") == 1 ? true : nil
        }
        #expect(server.isRunning)
        #expect(server.log.contains("configuration reload refused"))
        #expect(server.log.contains("configuration key 'alerts'"))
        #expect(try await daemon.get("/api/monitoring/alerts", token: Self.viewerB).status == 200)
        #expect(try await daemon.get("/api/monitoring/alerts", token: Self.viewerA).status == 401)
        #expect(try await Self.activeRules(daemon)?.contains("ReloadProbe") == true)

        // Not YAML at all: refused the same way.
        try write("alerts: [unclosed\n")
        server.signal(SIGHUP)
        _ = try await eventually("the second refused reload counted") { () -> Bool? in
            try await Self.metric(daemon, "mon_query_config_reloads_total{result=\"failed\"} ") == 2 ? true : nil
        }
        #expect(server.isRunning)
        #expect(server.log.contains("not valid YAML"))
        #expect(try await Self.metric(daemon, "mon_query_config_reloads_total{result=\"ok\"} ") == 1)

        // The firing probe's rule removed (another rule in its place): its alert ends as
        // resolved, stored (and notified) instead of vanishing from memory.
        try write(Self.yaml(daemon, threshold: "1000", viewer: Self.viewerB, aheadDays: 4, rule: "ReloadProbeNext"))
        server.signal(SIGHUP)
        _ = try await eventually("the probe's alert resolved after its rule was removed") { () -> Bool? in
            let (status, json) = try await daemon.get(
                "/api/monitoring/alerts?state=resolved&since=1h", token: Self.admin)
            guard status == 200, let body = json as? [String: Any],
                let events = body["events"] as? [[String: Any]],
                events.contains(where: { $0["rule"] as? String == "ReloadProbe" }),
                try await Self.activeRules(daemon)?.isEmpty == true
            else { return nil }
            return true
        }
    }

    /// The SHA-256 fingerprint of the certificate in `file`, or of the one served on `port`.
    static func fingerprint(file: String? = nil, port: Int? = nil) async throws -> String {
        let source =
            file.map { "cat '\($0)'" } ?? "openssl s_client -connect 127.0.0.1:\(port ?? 0) </dev/null 2>/dev/null"
        let (status, output) = try await runProgram(
            "/bin/sh", ["-c", "\(source) | openssl x509 -noout -fingerprint -sha256"])
        guard status == 0 else { throw TestFailure("no certificate: \(output)") }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("SIGHUP: a certificate renewed in place is served to new connections; a key that does not match is refused")
    func certificates() async throws {
        let daemon = try Daemon.make()
        let first = try await IngestTLSTests.Certificate.make(in: daemon.directory, name: "first")
        let second = try await IngestTLSTests.Certificate.make(in: daemon.directory, name: "second")
        let served = IngestTLSTests.Certificate(
            certificate: "\(daemon.directory)/served.crt", key: "\(daemon.directory)/served.key")
        func install(certificate: String, key: String) throws {
            for (from, to) in [(certificate, served.certificate), (key, served.key)] {
                try? FileManager.default.removeItem(atPath: to)
                try FileManager.default.copyItem(atPath: from, toPath: to)
            }
        }
        try install(certificate: first.certificate, key: first.key)
        let server = try daemon.start(extra: [
            "MONQUERY_HTTP_TLS_CERTIFICATE_FILE": served.certificate, "MONQUERY_HTTP_TLS_KEY_FILE": served.key,
        ])
        defer { server.stop() }
        let firstPrint = try await Self.fingerprint(file: first.certificate)
        let secondPrint = try await Self.fingerprint(file: second.certificate)
        #expect(firstPrint != secondPrint)
        _ = try await eventually("the first certificate served") { () -> Bool? in
            try? await Self.fingerprint(port: daemon.httpPort) == firstPrint ? true : nil
        }

        // Renewed at the same paths.
        try install(certificate: second.certificate, key: second.key)
        server.signal(SIGHUP)
        _ = try await eventually("the renewed certificate served") { () -> Bool? in
            try? await Self.fingerprint(port: daemon.httpPort) == secondPrint ? true : nil
        }
        #expect(server.log.contains("http.tls.certificate_file/key_file"))

        // The first certificate with the second's key: refused, the renewed one still served.
        try install(certificate: first.certificate, key: second.key)
        server.signal(SIGHUP)
        _ = try await eventually("the refusal logged") { () -> Bool? in
            server.log.contains("configuration reload refused") ? true : nil
        }
        #expect(server.log.contains("configuration key 'http.tls.key_file'"))
        #expect(server.isRunning)
        #expect(try await Self.fingerprint(port: daemon.httpPort) == secondPrint)
    }

    @Test("monagent on SIGHUP: keeps running, names a changed key as needing a restart, refuses a broken file")
    func agent() async throws {
        let daemon = try Daemon.make()
        let server = try daemon.start()
        defer { server.stop() }
        let path = "\(daemon.directory)/monagent.yaml"
        func write(_ text: String) throws { try text.write(toFile: path, atomically: true, encoding: .utf8) }
        try write("collectors: [cpu, memory]\n")
        let agent = try daemon.startAgent(arguments: ["--config", path])
        defer { agent.stop() }
        _ = try await eventually("the agent's first batch stored") { () -> Bool? in
            try daemon.scalar("SELECT count(*) FROM ingest_ledger") > 0 ? true : nil
        }

        try write("collectors: [cpu]\n")
        agent.signal(SIGHUP)
        _ = try await eventually("the reload logged") { () -> Bool? in
            agent.log.contains("needs_restart=collectors") ? true : nil
        }
        #expect(agent.log.contains("configuration reloaded"))

        try write("collectors: [cpu, nonsense]\ninterval: [\n")
        agent.signal(SIGHUP)
        _ = try await eventually("the refusal logged") { () -> Bool? in
            agent.log.contains("configuration reload refused") ? true : nil
        }
        #expect(agent.isRunning)
        // Still shipping.
        let stored = try daemon.scalar("SELECT count(*) FROM ingest_ledger")
        _ = try await eventually("another batch stored after the refused reload") { () -> Bool? in
            try daemon.scalar("SELECT count(*) FROM ingest_ledger") > stored ? true : nil
        }
    }
}
