import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// Blocking trees against a live PostgreSQL: one session holds a row lock and stays idle in
/// transaction, three others wait on it with an UPDATE of the same row. The agent reports who
/// blocks whom, `/postgres/connections` shows one tree (whole statement for the admin role,
/// masked and cut for viewers), and the shipped `PostgresLockWaits` rule, run with a 1 s
/// threshold, names the blocker in its summary.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test"))
struct BlockingTreeTests {
    static let blockerStatement =
        "UPDATE items SET n = n + 1, note = 'a secret literal kept by the blocker' WHERE id = 1"

    /// The shipped rule with only its threshold and `for` shortened.
    static func lockWaitRule() throws -> String {
        let shipped = try AlertRuleParser.parse(yaml: DefaultAlertRules.yaml, file: "<default rules>")
        let rule = try #require(shipped.first { $0.name == "PostgresLockWaits" })
        guard case .metric(let metric, _, _) = rule.signal else { throw TestFailure("not a metric rule") }
        return """
            - name: PostgresLockWaits
              metric: \(metric)
              op: ">"
              threshold: 1
              for: 0
              detail: \(try #require(rule.detail).rawValue)
              summary: \(JSONValue.string(rule.summary).encoded())
              hint: \(JSONValue.string(rule.hint).encoded())
            """
    }

    @Test(
        "three sessions waiting on an idle-in-transaction blocker: one tree, viewer text masked, alert names the blocker"
    )
    func threeWaitersOneBlocker() async throws {
        let cluster = try await PrivateCluster.make()
        defer { cluster.stopNow() }
        let url = cluster.databaseURL
        try await offPool {
            let setup = try PostgresConnection(url: url, applicationName: "mon-tests")
            try setup.execute(
                rawSQL: """
                    CREATE TABLE items (id int PRIMARY KEY, n int NOT NULL, note text);
                    INSERT INTO items VALUES (1, 0, NULL);
                    """)
        }

        // The blocker lives on a thread of its own until `release` is signalled.
        let ready = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let pidBox = PidBox()
        let blocker = Thread {
            defer { finished.signal() }
            do {
                let connection = try PostgresConnection(url: url, applicationName: "blocker")
                pidBox.set(try connection.query("SELECT pg_backend_pid()").int(0, 0) ?? -1)
                try connection.execute(rawSQL: "BEGIN")
                try connection.query(Self.blockerStatement)
                ready.signal()
                release.wait()
                try? connection.execute(rawSQL: "ROLLBACK")
            } catch {
                pidBox.set(-1)
                ready.signal()
            }
        }
        blocker.start()
        try await offPool { ready.wait() }
        let holder = pidBox.value
        #expect(holder > 0)
        // Three waiters, each blocked in its UPDATE on a thread of its own.
        for _ in 0..<3 {
            let waiter = Thread {
                defer { finished.signal() }
                // No statement timeout: it waits until the blocker ends.
                guard
                    let connection = try? PostgresConnection(url: url, applicationName: "waiter", statementTimeoutMs: 0)
                else { return }
                _ = try? connection.query("UPDATE items SET n = n + 1 WHERE id = 1")
            }
            waiter.start()
        }
        // Whatever happens: end the blocker, which lets the waiters finish (the cluster stops
        // after, ending any session left).
        defer { release.signal() }
        let waiterPids: [Int64] = try await eventually("three waiters blocked") {
            try await offPool { () -> [Int64]? in
                let observer = try PostgresConnection(url: url, applicationName: "mon-tests")
                let rows = try observer.query(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 'waiter' AND wait_event_type = 'Lock' ORDER BY pid"
                )
                let pids = (0..<rows.rowCount).compactMap { rows.int($0, 0) }
                return pids.count == 3 ? pids : nil
            }
        }

        let daemon = try Daemon.make(authenticated: true)
        let rules = "\(daemon.directory)/rules.d"
        try FileManager.default.createDirectory(atPath: rules, withIntermediateDirectories: true)
        try Self.lockWaitRule().write(toFile: "\(rules)/locks.yaml", atomically: true, encoding: .utf8)
        let monquery = try daemon.start(extra: [
            "MONQUERY_ALERTS_ENABLED": "true", "MONQUERY_ALERTS_INTERVAL_SECONDS": "0.5",
            "MONQUERY_ALERTS_DEFAULT_RULES": "false", "MONQUERY_ALERTS_RULES_DIR": rules,
        ])
        defer { monquery.stop() }
        let monagent = try daemon.startAgent(interval: 0.5, host: "locks-host", extra: ["MONAGENT_POSTGRES_URL": url])
        defer { monagent.stop() }

        func tree(token: String? = nil) async throws -> [String: Any] {
            try await eventually("one blocking tree with three waiters", seconds: 90) { () -> [String: Any]? in
                let (status, json) = try await daemon.get("/api/monitoring/postgres/connections", token: token)
                let host = ((json as? [String: Any])?["hosts"] as? [[String: Any]])?.first {
                    $0["host"] as? String == "locks-host"
                }
                guard status == 200, let trees = host?["blocking_trees"] as? [[String: Any]], trees.count == 1,
                    Self.pids(below: trees[0]).count == 3
                else { return nil }
                #expect(host?["blocking_trees_unreadable"] is NSNull)
                return trees[0]
            }
        }
        let admin: [String: Any]
        do {
            admin = try await tree()
        } catch {
            let logs = [monquery.logPath, monagent.logPath].map {
                String(((try? String(contentsOfFile: $0, encoding: .utf8)) ?? "").suffix(3000))
            }
            let (_, last) = (try? await daemon.get("/api/monitoring/postgres/connections")) ?? (0, "unreachable")
            throw TestFailure(
                "\(error)\nrunning: \(monquery.isRunning)\nlast answer: \(last)\nmonquery: \(logs[0])\nmonagent: \(logs[1])"
            )
        }
        let blockerJSON = try #require(admin["blocker"] as? [String: Any])
        #expect((blockerJSON["pid"] as? NSNumber)?.int64Value == holder)
        #expect(blockerJSON["state"] as? String == "idle in transaction")
        #expect((blockerJSON["age_seconds"] as? NSNumber)?.doubleValue ?? -1 >= 0)
        #expect(blockerJSON["statement"] as? String == Self.blockerStatement)
        #expect(blockerJSON["statement_truncated"] as? Bool == false)
        #expect((admin["waiting_count"] as? NSNumber)?.intValue == 3)
        #expect(admin["cycle"] as? Bool == false)
        // Each waiter once: the first waits on the blocker's transaction, the others (as
        // PostgreSQL queues row locks) on the tuple lock of the one before.
        let waiting = Self.waiters(below: admin)
        #expect(waiting.compactMap { ($0["pid"] as? NSNumber)?.int64Value }.sorted() == waiterPids)
        for waiter in waiting {
            #expect(waiter["wait_event_type"] as? String == "Lock")
            #expect((waiter["wait_seconds"] as? NSNumber)?.doubleValue ?? -1 >= 0)
            #expect((waiter["statement"] as? String)?.hasPrefix("UPDATE items SET n = n + 1") == true)
        }

        // The viewer role: the blocker's literal masked and the text cut.
        let viewer = try await tree(token: try #require(daemon.tokens?.viewer))
        let viewerBlocker = try #require(viewer["blocker"] as? [String: Any])
        let shown = try #require(viewerBlocker["statement"] as? String)
        #expect(shown.count <= StatementText.viewerCharacters + 1 && shown.hasSuffix("…"))
        #expect(!shown.contains("secret"))
        #expect(viewerBlocker["statement_truncated"] as? Bool == true)

        // The shipped rule's summary names the blocker.
        let alert = try await eventually("PostgresLockWaits firing with its blocker", seconds: 90) {
            () -> [String: Any]? in
            let (status, json) = try await daemon.get("/api/monitoring/alerts?state=firing")
            guard status == 200, let active = (json as? [String: Any])?["active"] as? [[String: Any]] else {
                return nil
            }
            return active.first {
                $0["rule"] as? String == "PostgresLockWaits"
                    && ($0["summary"] as? String)?.contains("blocked by pid \(holder) ") == true
            }
        }
        let summary = try #require(alert["summary"] as? String)
        #expect(summary.contains("idle in transaction for "), "\(summary)")
        #expect(summary.contains("3 waiting"), "\(summary)")
        #expect(!summary.contains("secret literal"), "\(summary)")

        // Released: the trees empty again once the agent's next cycle sees no waiter.
        release.signal()
        _ = try await eventually("no blocking tree after the release", seconds: 60) { () -> Bool? in
            let (_, json) = try await daemon.get("/api/monitoring/postgres/connections")
            let host = ((json as? [String: Any])?["hosts"] as? [[String: Any]])?.first {
                $0["host"] as? String == "locks-host"
            }
            return (host?["blocking_trees"] as? [Any])?.isEmpty == true ? true : nil
        }
        let ended = try await offPool { (0..<4).allSatisfy { _ in finished.wait(timeout: .now() + 30) == .success } }
        #expect(ended, "the blocker and the three waiters finished")
    }
}

extension BlockingTreeTests {
    /// Every waiter of a tree or node, depth first.
    static func waiters(below node: [String: Any]) -> [[String: Any]] {
        let direct = node["waiting"] as? [[String: Any]] ?? []
        return direct.flatMap { [$0] + waiters(below: $0) }
    }

    static func pids(below node: [String: Any]) -> Set<Int64> {
        Set(waiters(below: node).compactMap { ($0["pid"] as? NSNumber)?.int64Value })
    }
}

/// The blocker thread's pid, read by the test.
private final class PidBox: @unchecked Sendable {
    private let lock = NSLock()
    private var pid: Int64 = 0
    func set(_ value: Int64) { lock.withLock { pid = value } }
    var value: Int64 { lock.withLock { pid } }
}
