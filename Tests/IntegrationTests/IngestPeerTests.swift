import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// The ingest socket checks who connects (`SO_PEERCRED`), not only the socket file's mode.
@Suite(
    .enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"),
    .enabled(if: geteuid() == 0, "runs an agent as another user, which needs root")
)
struct IngestPeerTests {
    static let nobody: UInt32 = 65534

    @Test("an agent of a user not in the allow-list is refused and counted; allowed, its spooled batches arrive")
    func peerCredentials() async throws {
        let daemon = try Daemon.make()
        // Open the directory and the socket file to everyone, so that only the peer check
        // stands between the agent and the daemon.
        chmod(daemon.directory, 0o777)
        let agentBinary = "\(daemon.directory)/monagent"
        try FileManager.default.copyItem(
            atPath: "\(try #require(TestEnvironment.binDirectory))/monagent", toPath: agentBinary)
        var monquery = try daemon.start(extra: ["MONQUERY_INGEST_SOCKET_MODE": "0666"])
        let agent = try daemon.startAgent(
            interval: 0.2, host: "peer-host", agentID: "peer-agent",
            wrapper: [
                "/usr/bin/setpriv", "--reuid=\(Self.nobody)", "--regid=\(Self.nobody)", "--clear-groups", agentBinary,
            ])
        defer { agent.stop(SIGKILL) }

        let refused = try await eventually("the daemon refusing the agent") { () -> String? in
            monquery.log.split(separator: "\n").first { $0.contains("refusing ingest connection") }.map(String.init)
        }
        #expect(refused.contains("uid \(Self.nobody)"), "the log names the peer: \(refused)")
        #expect(refused.contains("pid \(agent.pid)"), "the log names the agent's pid: \(refused)")
        _ = try await eventually("the agent seeing 'forbidden'") { agent.log.contains("forbidden") ? true : nil }
        let metrics = try await daemon.getText("/metrics")
        let line = metrics.body.split(separator: "\n").first {
            $0.hasPrefix("mon_query_ingest_refused_connections_total ")
        }
        let count = try #require(line.flatMap { Double($0.split(separator: " ")[1]) })
        #expect(count >= 1)
        #expect(try daemon.scalar("SELECT count(*) FROM ingest_ledger") == 0, "nothing stored from a refused peer")
        #expect(agent.isRunning, "the agent keeps running and spooling")

        // Allowed by name: the same agent process gets in and replays what it spooled.
        monquery.stop()
        monquery = try daemon.start(extra: [
            "MONQUERY_INGEST_SOCKET_MODE": "0666", "MONQUERY_INGEST_ALLOWED_USERS": "nobody:hosts=peer-host",
        ])
        defer { monquery.stop() }
        let firstSeq = try await eventually("batches from the allowed agent") { () -> Int64? in
            let stored = try daemon.scalar("SELECT count(*) FROM ingest_ledger WHERE agent_id = 'peer-agent'")
            return stored > 3 ? try daemon.scalar("SELECT min(seq) FROM ingest_ledger") : nil
        }
        #expect(firstSeq == 1, "the batches spooled while refused are replayed from the first")
    }

    @Test("an unknown user or group in the allow-list stops the daemon at start, naming it")
    func unknownNames() async throws {
        for (key, value) in [("ALLOWED_USERS", "no-such-user-xyz"), ("ALLOWED_GROUPS", "no-such-group-xyz")] {
            let daemon = try Daemon.make()
            let monquery = try daemon.start(extra: ["MONQUERY_INGEST_\(key)": value])
            _ = try await eventually("monquery exiting") { monquery.isRunning ? nil : true }
            #expect(monquery.log.contains(value), "\(key): \(monquery.log)")
            #expect(monquery.log.contains("ingest.\(key.lowercased())"), "\(key): \(monquery.log)")
        }
    }

    @Test("allow-list: root and the daemon's user always, listed users and primary groups")
    func allowListRules() {
        let list = IngestAllowList(uids: [1001], gids: [2002], ownUID: 500)
        #expect(list.allows(PeerCredentials(pid: 1, uid: 0, gid: 0)))
        #expect(list.allows(PeerCredentials(pid: 1, uid: 500, gid: 9)))
        #expect(list.allows(PeerCredentials(pid: 1, uid: 1001, gid: 9)))
        #expect(list.allows(PeerCredentials(pid: 1, uid: 77, gid: 2002)))
        #expect(!list.allows(PeerCredentials(pid: 1, uid: 77, gid: 9)))
        #expect(throws: ConfigError.self) { try IngestAllowList.userIDs(["root", "no-such-user-xyz"], key: "k") }
        #expect((try? IngestAllowList.userIDs(["root", "1234"], key: "k")) == [0, 1234])
        #expect((try? IngestAllowList.groupIDs(["root"], key: "k")) == [0])
    }
}
