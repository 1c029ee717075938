import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// The rules monquery ships, as shipped: thresholds untouched, only the intervals shortened
/// (`alerts.for_scale: 0.01`, alerts every 0.5 s, the agent every 0.5 s). Faults planted on a
/// live system — a PostgreSQL of its own with `max_connections = 20` (17 sessions, 15 slow
/// statements, three sessions waiting on a row lock held by one idle in transaction), a Redis
/// of its own with `maxmemory 2mb` (an eviction storm, a miss storm, connections refused at
/// maxclients), an ext4 file system on
/// a loop device filling over six minutes, and the agent killed last — each fire their default
/// rule with its hint, the lock rule naming the blocker and the file system rules the mount.
/// Thresholds in time (a lock wait over 60 s, idle in transaction over 300 s) are waited out
/// for real, so this suite takes about six and a half minutes.
@Suite(.enabled(if: TestEnvironment.isAvailable && getuid() == 0, "needs scripts/test, as root (loop mount)"))
struct DefaultRulesLiveTests {
    static let host = "rules-host"

    @Test("every planted fault fires its shipped default rule with the rule's hint")
    func shippedRulesFire() async throws {
        let started = ContinuousClock.now
        let shipped = Dictionary(
            uniqueKeysWithValues: try AlertRuleParser.parse(yaml: DefaultAlertRules.yaml, file: "defaults").map {
                ($0.name, $0)
            })
        let daemon = try Daemon.make()
        let cluster = try await PrivateCluster.make(options: "-c max_connections=20")
        defer { cluster.stopNow() }
        let redisPort = TestEnvironment.freePort()
        let redisServer = try ManagedProcess(
            binary: "/usr/bin/redis-server",
            arguments: [
                "--port", "\(redisPort)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", daemon.directory, "--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru",
            ],
            environment: [:], logPath: "\(daemon.directory)/redis.log")
        defer { redisServer.stop(SIGKILL) }
        let mountpoint = "\(daemon.directory)/full"
        try await offPool {
            try PrivateCluster.shell(
                "dd if=/dev/zero of='\(daemon.directory)/fs.img' bs=1M count=20 status=none"
                    + " && mkfs.ext4 -q -F '\(daemon.directory)/fs.img' && mkdir -p '\(mountpoint)'"
                    + " && mount -o loop '\(daemon.directory)/fs.img' '\(mountpoint)'")
        }
        defer { try? PrivateCluster.shell("umount -l '\(mountpoint)'") }
        // The file system fills at a steady 43 kB/s from now (about six minutes to 100 %): the
        // trend rule, reading the minute rollups of the last hour, sees it coming once five
        // minutes are in; the threshold rule sees it pass 90 %.
        let filling = try ManagedProcess(
            binary: "/bin/sh",
            arguments: [
                "-c", "while dd if=/dev/zero bs=64K count=1 status=none >> '\(mountpoint)/fill'; do sleep 1.5; done",
            ],
            environment: [:], logPath: "\(daemon.directory)/fill.log")
        defer { filling.stop(SIGKILL) }

        let monquery = try daemon.start(extra: [
            "MONQUERY_ALERTS_ENABLED": "true", "MONQUERY_ALERTS_INTERVAL_SECONDS": "0.5",
            "MONQUERY_ALERTS_FOR_SCALE": "0.01",
        ])
        defer { monquery.stop() }
        let monitored = cluster.databaseURL
        try await offPool {
            let connection = try PostgresConnection(url: monitored, applicationName: "mon-tests")
            try connection.execute(rawSQL: "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            try connection.execute(
                rawSQL: "CREATE TABLE locked (id int PRIMARY KEY, v int); INSERT INTO locked VALUES (1, 0)")
        }
        let redisURL = "redis://127.0.0.1:\(redisPort)/0"
        let agent = try daemon.startAgent(
            interval: 0.5, host: Self.host, agentID: "rules-agent",
            extra: [
                "MONAGENT_REDIS_URL": redisURL, "MONAGENT_POSTGRES_URL": monitored,
                "MONAGENT_POSTGRES_STATEMENTS_INTERVAL": "1",
            ])
        defer { agent.stop() }
        _ = try await eventually("PostgreSQL, Redis and file systems reported") { () -> Bool? in
            let names = try daemon.column(
                "SELECT DISTINCT s.name FROM metrics m JOIN metric_series s ON s.id = m.series_id WHERE s.name = ANY($1::text[])",
                ["{mon_postgres_connections_used_ratio,mon_redis_evicted_keys_total,mon_host_filesystem_used_ratio}"])
            return names.count == 3 ? true : nil
        }
        /// The firing alerts of the test host, by rule.
        func firing() async throws -> [String: [String: Any]] {
            let (status, json) = try await daemon.get("/api/monitoring/alerts?state=firing")
            guard status == 200, let active = (json as? [String: Any])?["active"] as? [[String: Any]] else {
                throw TestFailure("alerts: \(status)")
            }
            var byRule: [String: [String: Any]] = [:]
            for alert in active where alert["host"] as? String == Self.host && alert["state"] as? String == "firing" {
                byRule[alert["rule"] as? String ?? ""] = alert
            }
            return byRule
        }
        let planted = [
            "RedisHitRateLow", "RedisEvictions", "RedisConnectionsRejected", "PostgresSlowQueries",
            "PostgresConnectionsHigh",
            "FilesystemFullSoon", "FilesystemAlmostFull", "PostgresLockWaits", "PostgresIdleInTransaction",
            "AgentSilent",
        ]
        for name in planted { #expect(shipped[name] != nil, "\(name) is a shipped rule") }
        let early = try await firing().keys.filter { planted.contains($0) && !$0.hasPrefix("Filesystem") }
        #expect(early.isEmpty, "a planted rule fires before its fault: \(early)")

        // Plant every fault at once; those with a time threshold age while the rest fire.
        let blocker = try PostgresConnection(url: monitored, applicationName: "mon-tests-blocker")
        let blockerPID = try #require(try blocker.query("SELECT pg_backend_pid()").int(0, 0))
        try blocker.execute(rawSQL: "BEGIN; UPDATE locked SET v = v + 1 WHERE id = 1")
        let waiters = (0..<3).map { index in
            Task {
                try await offPool {
                    let connection = try PostgresConnection(
                        url: monitored, applicationName: "mon-tests-waiter-\(index)", statementTimeoutMs: 900_000)
                    _ = try connection.query("UPDATE locked SET v = v + 1 WHERE id = 1")
                }
            }
        }
        // Statistics views are a snapshot per transaction: ask from outside the blocker's.
        let observer = try PostgresConnection(url: monitored, applicationName: "mon-tests-fill")
        _ = try await eventually("three sessions waiting on the row lock") { () -> Bool? in
            try observer.query("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'").int(0, 0) == 3
                ? true : nil
        }
        var fill = [observer]
        while try Self.clientBackends(observer) < 17 {
            fill.append(try PostgresConnection(url: monitored, applicationName: "mon-tests-fill"))
        }
        try await offPool {
            let connection = try PostgresConnection(url: monitored, applicationName: "mon-tests-slow")
            for _ in 0..<15 { _ = try connection.query("SELECT pg_sleep(0.12)") }
        }
        let redis = try RedisConnection(url: try RedisURL(redisURL))
        let value = String(repeating: "x", count: 4096)
        for chunk in 0..<6 {
            _ = try redis.pipeline((0..<500).map { ["SET", "evict:\(chunk):\($0)", value] })
        }
        for chunk in 0..<4 { _ = try redis.pipeline((0..<2000).map { ["GET", "absent:\(chunk):\($0)"] }) }
        // maxclients at what is connected now (the agent and this test): three more are refused.
        let clients = try #require(redis.command(["CLIENT", "LIST"]).text).split(separator: "\n").count
        _ = try redis.command(["CONFIG", "SET", "maxclients", "\(clients)"])
        for _ in 0..<3 { _ = try? RedisConnection(url: try RedisURL(redisURL)).command(["PING"]) }
        _ = try redis.command(["CONFIG", "SET", "maxclients", "10000"])

        // Every rule polled together (a trend alert may resolve once the disk is full and
        // flat); the agent is killed once all the others fired.
        var fired: [String: (after: Duration, alert: [String: Any])] = [:]
        // Every summary each alert showed: a rule's summary follows its worst series (the
        // trend rule may fire first for another file system of the machine).
        var summaries: [String: Set<String>] = [:]
        let deadline = ContinuousClock.now + .seconds(540)
        while fired.count < planted.count, ContinuousClock.now < deadline {
            for (rule, alert) in try await firing() where planted.contains(rule) {
                if fired[rule] == nil { fired[rule] = (ContinuousClock.now - started, alert) }
                summaries[rule, default: []].insert(alert["summary"] as? String ?? "")
            }
            if fired.count == planted.count - 1, fired["AgentSilent"] == nil, agent.isRunning { agent.stop(SIGKILL) }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(Set(fired.keys) == Set(planted), "not fired: \(Set(planted).subtracting(fired.keys).sorted())")

        for (rule, (after, alert)) in fired.sorted(by: { $0.value.after < $1.value.after }) {
            let expected = try #require(shipped[rule])
            print("\(rule) fired after \(after): \(alert["summary"] as? String ?? "?")")
            #expect(alert["hint"] as? String == expected.hint, "\(rule): \(alert)")
            #expect(alert["severity"] as? String == expected.severity.rawValue, "\(rule): \(alert)")
            #expect((alert["summary"] as? String)?.contains(Self.host) == true, "\(rule): \(alert)")
        }
        let values = fired.mapValues { $0.alert["value"] as? Double ?? .nan }
        let mounted = "/" + mountpoint.split(separator: "/").joined(separator: "/")  // as /proc/mounts has it
        for (rule, text) in [
            ("PostgresLockWaits", "blocked by pid \(blockerPID)"), ("FilesystemAlmostFull", "mountpoint=\(mounted)"),
            ("FilesystemFullSoon", "mountpoint=\(mounted)"),
        ] {
            #expect(summaries[rule]?.contains { $0.contains(text) } == true, "\(rule): \(summaries[rule] ?? [])")
        }
        #expect(values["FilesystemFullSoon"].map { $0 < 24 } == true)
        #expect(values["RedisHitRateLow"].map { $0 < 70 } == true)
        #expect(values["RedisConnectionsRejected"].map { $0 >= 3 } == true)
        #expect(values["PostgresConnectionsHigh"].map { $0 > 80 } == true)
        #expect(values["PostgresSlowQueries"].map { $0 > 10 } == true)
        #expect(values["FilesystemAlmostFull"].map { $0 > 90 } == true)
        #expect(values["PostgresLockWaits"].map { $0 > 60 } == true)
        #expect(values["PostgresIdleInTransaction"].map { $0 > 300 } == true)

        try blocker.execute(rawSQL: "ROLLBACK")
        for waiter in waiters { try await waiter.value }
        fill.removeAll()
    }

    static func clientBackends(_ connection: PostgresConnection) throws -> Int {
        Int(
            try connection.query("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'").int(
                0, 0) ?? 0)
    }
}
