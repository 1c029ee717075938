import Testing

@testable import MonCore
@testable import MonQueryKit

/// `ingest.tokens` and `ingest.allowed_users` / `allowed_groups` with their host bindings.
@Suite struct IngestBindingConfigTests {
    static let hash = SHA256.hex(Array("t".utf8))

    static func tokens(_ entries: [String]) throws -> IngestTokens {
        let list = entries.map { "\"\($0)\"" }.joined(separator: ", ")
        return try IngestTokens(
            source: ConfigSource(yaml: "ingest:\n  tokens: [\(list)]\n", envPrefix: "MONQUERY", environment: [:]))
    }

    @Test func tokenEntries() throws {
        let parsed = try Self.tokens([
            "web-2:\(Self.hash)", "web-3:\(Self.hash):hosts=web-3|web-3b", "relay:\(Self.hash):hosts=*",
        ])
        #expect(parsed.entries.map(\.hosts) == [.only(["web-2"]), .only(["web-3", "web-3b"]), .any])
        #expect(parsed.entries.map(\.name) == ["web-2", "web-3", "relay"])
    }

    @Test("the environment form (comma-separated) gives the same entries")
    func environmentForm() throws {
        let source = try ConfigSource(
            yaml: "", envPrefix: "MONQUERY",
            environment: ["MONQUERY_INGEST_TOKENS": "web-2:\(Self.hash):hosts=web-2|web-2b,web-3:\(Self.hash)"])
        let parsed = try IngestTokens(source: source)
        #expect(parsed.entries.map(\.hosts) == [.only(["web-2", "web-2b"]), .only(["web-3"])])
    }

    @Test(
        "a bad entry is named by its index and never echoed",
        arguments: [
            "raw-token-pasted-here", "\(hash)", ":\(hash)", "web-2:\(hash):host=web-2", "web-2:\(hash):hosts=",
            "web-2:\(hash):hosts=a||b", "web 2:\(hash)", "web-2:\(hash):hosts=a b",
        ])
    func badTokenEntry(entry: String) {
        do {
            _ = try Self.tokens(["ok:\(Self.hash)", entry])
            Issue.record("accepted \(entry)")
        } catch let error as ConfigError {
            #expect(error.key == "ingest.tokens[1]")
            #expect(!error.message.contains(Self.hash))
            #expect(!error.message.contains("raw-token"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func allowListScopes() throws {
        let users = try IngestAllowList.users(
            ["1001", "1002:hosts=web-1|web-2", "1003:hosts=*"], key: "ingest.allowed_users", localHost: "this-host")
        let groups = try IngestAllowList.groups(
            ["2002:hosts=db-1"], key: "ingest.allowed_groups", localHost: "this-host")
        let list = IngestAllowList(users: users, groups: groups, ownUID: 500)
        #expect(list.scope(for: PeerCredentials(pid: 1, uid: 0, gid: 0)) == .any, "root")
        #expect(list.scope(for: PeerCredentials(pid: 1, uid: 500, gid: 9)) == .any, "the daemon's own user")
        #expect(list.scope(for: PeerCredentials(pid: 1, uid: 1001, gid: 9)) == .only(["this-host"]), "default binding")
        #expect(list.scope(for: PeerCredentials(pid: 1, uid: 1002, gid: 9)) == .only(["web-1", "web-2"]))
        #expect(list.scope(for: PeerCredentials(pid: 1, uid: 1003, gid: 9)) == .any)
        #expect(list.scope(for: PeerCredentials(pid: 1, uid: 1001, gid: 2002)) == .only(["this-host", "db-1"]))
        #expect(list.scope(for: PeerCredentials(pid: 1, uid: 77, gid: 2002)) == .only(["db-1"]))
        #expect(list.scope(for: PeerCredentials(pid: 1, uid: 77, gid: 9)) == nil)
    }

    @Test func badAllowListEntriesNameTheirIndex() {
        for (entries, key) in [
            (["root", "1001:hosts="], "ingest.allowed_users[1]"),
            (["no-such-user-xyz:hosts=a"], "ingest.allowed_users[0]"),
            (["1001:groups=a"], "ingest.allowed_users[0]"),
        ] {
            #expect(throws: ConfigError.self) {
                try IngestAllowList.users(entries, key: "ingest.allowed_users", localHost: "h")
            }
            do {
                _ = try IngestAllowList.users(entries, key: "ingest.allowed_users", localHost: "h")
            } catch let error as ConfigError {
                #expect(error.key == key)
            } catch {}
        }
    }

    @Test func queryConfigReadsTheCapsAndBindings() throws {
        let config = try QueryConfig(
            source: ConfigSource(
                yaml:
                    "ingest:\n  allowed_users: [\"1001:hosts=web-9\"]\n  max_series_per_host: 10\n  max_series: 20\n  socket_max_connections: 7\n  socket_handshake_timeout_seconds: 3\n",
                envPrefix: "MONQUERY", environment: [:]))
        #expect(config.ingestAllowList.users[1001] == .only(["web-9"]))
        #expect(config.seriesCaps == SeriesCaps(perHost: 10, total: 20))
        #expect(config.ingestSocketMaxConnections == 7)
        #expect(config.ingestSocketHandshakeTimeout == 3)
        let defaults = try QueryConfig(source: ConfigSource(yaml: "", envPrefix: "MONQUERY", environment: [:]))
        #expect(defaults.seriesCaps == SeriesCaps(perHost: 100_000, total: 1_000_000))
        #expect(defaults.ingestSocketMaxConnections == 1024)
    }
}
