import Foundation
import MonCore
import Testing

/// Top keys by size and frequency, and clients against maxclients, on a private
/// redis-server 7 (its own maxclients, LFU policy and ACL users; the shared one stays as it is).
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (built binaries)"))
struct RedisTopKeysTests {
    /// A redis-server on a free loopback port with `options`, stopped by the caller.
    static func startRedis(_ directory: String, _ options: [String]) async throws -> (ManagedProcess, Int) {
        let port = TestEnvironment.freePort()
        let process = try ManagedProcess(
            binary: "/usr/bin/redis-server",
            arguments: [
                "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory,
            ] + options,
            environment: [:],
            logPath: "\(directory)/redis-\(port).log"
        )
        _ = try await eventually("redis-server up") { () -> Bool? in
            let redis = try RedisConnection(url: try RedisURL("redis://127.0.0.1:\(port)"))
            return try redis.command(["PING"]) == .status("PONG") ? true : nil
        }
        return (process, port)
    }

    static func hosts(_ json: Any) -> [[String: Any]] {
        (json as? [String: Any])?["hosts"] as? [[String: Any]] ?? []
    }

    static func names(_ host: [String: Any]?, _ list: String) -> [String] {
        (host?[list] as? [[String: Any]] ?? []).compactMap { $0["key"] as? String }
    }

    @Test("biggest and most used keys, names for admins only, hostile names escaped, clients of maxclients")
    func topKeys() async throws {
        let daemon = try Daemon.make(authenticated: true)
        let tokens = try #require(daemon.tokens)
        // lfu-log-factor 0: every access counts, so the ranking by frequency is exact.
        let (server, port) = try await Self.startRedis(
            daemon.directory,
            ["--maxclients", "20", "--maxmemory-policy", "allkeys-lfu", "--lfu-log-factor", "0"])
        defer { server.stop(SIGKILL) }
        let redis = try RedisConnection(url: try RedisURL("redis://127.0.0.1:\(port)"))
        func value(_ kilobytes: Int) -> [UInt8] { [UInt8](repeating: UInt8(ascii: "v"), count: kilobytes * 1024) }
        let longName = "long:" + String(repeating: "n", count: 10 * 1024)
        let planted: [([UInt8], Int)] = [
            (Array("big:blob".utf8), 200), (Array("user:alice@example.com".utf8), 150),
            (Array("<script>alert(1)</script>:x".utf8), 100), (Array("quote\"'\n\u{1}key".utf8), 50),
            ([0xFF, 0xFE, UInt8(ascii: "k")], 60), (Array(longName.utf8), 40),
        ]
        for (key, kilobytes) in planted {
            #expect(try redis.command(binary: [Array("SET".utf8), key, value(kilobytes)]) == .status("OK"))
        }
        _ = try redis.pipeline((0..<200).map { ["SET", "search:q:\($0)", "v"] })
        _ = try redis.pipeline((0..<100).map { _ in ["GET", "search:q:7"] })

        let monquery = try daemon.start()
        let monagent = try daemon.startAgent(
            interval: 0.25,
            extra: [
                "MONAGENT_REDIS_URL": "redis://127.0.0.1:\(port)/0", "MONAGENT_REDIS_SCAN_INTERVAL_SECONDS": "0",
                "MONAGENT_REDIS_TOP_KEYS_SAMPLES": "1000",
            ])
        defer {
            monagent.stop()
            monquery.stop()
        }
        let admin = try await eventually("top keys for the admin") { () -> [String: Any]? in
            let (status, json) = try await daemon.get("/api/monitoring/redis/top_keys?period=15m")
            let host = Self.hosts(json).first
            return status == 200 && Self.names(host, "by_frequency").first == "search:q:7" ? host : nil
        }
        let bySize = Self.names(admin, "by_size")
        #expect(bySize.prefix(3) == ["big:blob", "user:alice@example.com", "<script>alert(1)</script>:x"], "\(bySize)")
        #expect(bySize.contains("quote\"'\\x0a\\x01key"), "control bytes as \\xNN: \(bySize)")
        #expect(bySize.contains("\\xff\\xfek"), "a key that is not UTF-8 is sampled and printed: \(bySize)")
        let long = (admin["by_size"] as? [[String: Any]] ?? []).first {
            ($0["key"] as? String)?.hasPrefix("long:") == true
        }
        #expect((long?["key"] as? String)?.count == 201 && long?["key_bytes"] as? Double == Double(longName.utf8.count))
        let biggest = (admin["by_size"] as? [[String: Any]])?.first?["bytes"] as? Double ?? 0
        #expect(biggest >= 200 * 1024, "MEMORY USAGE of the 200 KB value: \(biggest)")
        #expect(admin["maxmemory_policy"] as? String == "allkeys-lfu" && admin["names_hidden"] as? Bool == false)
        let search = (admin["by_size"] as? [[String: Any]] ?? []) + (admin["by_frequency"] as? [[String: Any]] ?? [])
        #expect(search.first { $0["key"] as? String == "search:q:7" }?["type"] as? String == "search_results")

        // A viewer gets the masks and not one name.
        let (viewerStatus, viewerJSON) = try await daemon.get(
            "/api/monitoring/redis/top_keys?period=15m", token: tokens.viewer)
        #expect(viewerStatus == 200)
        let viewer = Self.hosts(viewerJSON).first
        let masked = Self.names(viewer, "by_size")
        #expect(masked.prefix(3) == ["big:*", "user:*", "*"], "\(masked)")
        #expect(Self.names(viewer, "by_frequency").first == "search:*")
        #expect(viewer?["names_hidden"] as? Bool == true)
        let viewerText = String(decoding: try JSONSerialization.data(withJSONObject: viewerJSON), as: UTF8.self)
        for secret in ["alice", "big:blob", "search:q:", "nnnnnnnn", "quote"] {
            #expect(!viewerText.contains(secret), "a viewer sees no key name (\(secret))")
        }

        // Clients of maxclients, in the status JSON.
        let status = try await eventually("clients of maxclients") { () -> [String: Any]? in
            let (_, json) = try await daemon.get("/api/monitoring/redis/status?period=15m")
            let clients = Self.hosts(json).first?["clients"] as? [String: Any]
            return clients?["max"] as? Double == 20 ? clients : nil
        }
        let connected = try #require(status["connected"] as? Double)
        #expect(connected >= 1 && status["used_percent"] as? Double == connected / 20 * 100)

        // The page (admin): the names escaped, never as markup; clients as "n / 20".
        let (_, body) = try await offPool {
            try curl([
                "--max-time", "60", "-H", "Authorization: Bearer \(tokens.admin)",
                "http://127.0.0.1:\(daemon.httpPort)/ui/monitoring/redis?period=15m",
            ])
        }
        let page = String(decoding: body, as: UTF8.self)
        #expect(page.contains("id=\"redis-top-keys\""))
        #expect(page.contains("<code class=\"redis-key\">big:blob</code>"))
        #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;:x") && !page.contains("<script>alert(1)"))
        #expect(page.contains("quote&quot;&#39;\\x0a\\x01key"), "quotes escaped")
        #expect(page.contains(" / 20</b>") && page.contains("clients-bars"))
        #expect(page.contains("Most used keys"))
    }

    @Test("a user without MEMORY, OBJECT and CONFIG: the collector goes on, the refusal is reported")
    func refusedCommands() async throws {
        let daemon = try Daemon.make()
        let (server, port) = try await Self.startRedis(daemon.directory, ["--maxmemory-policy", "volatile-lfu"])
        defer { server.stop(SIGKILL) }
        let redis = try RedisConnection(url: try RedisURL("redis://127.0.0.1:\(port)"))
        #expect(
            try redis.command([
                "ACL", "SETUSER", "limited", "on", ">pw-limited", "~*", "+@all", "-memory", "-object", "-config",
            ])
                == .status("OK"))
        _ = try redis.pipeline((0..<20).map { ["SET", "search:r:\($0)", "v"] })
        let monquery = try daemon.start()
        let monagent = try daemon.startAgent(
            interval: 0.25,
            extra: [
                "MONAGENT_REDIS_URL": "redis://limited:pw-limited@127.0.0.1:\(port)/0",
                "MONAGENT_REDIS_SCAN_INTERVAL_SECONDS": "0", "MONAGENT_REDIS_MEMORY_SAMPLES": "5",
            ])
        defer {
            monagent.stop()
            monquery.stop()
        }
        let host = try await eventually("a top-keys snapshot naming the refusals") { () -> [String: Any]? in
            let (_, json) = try await daemon.get("/api/monitoring/redis/top_keys?period=15m")
            let host = Self.hosts(json).first
            let refused = (host?["refused"] as? [[String: Any]] ?? []).compactMap { $0["command"] as? String }
            return Set(refused) == ["MEMORY USAGE", "OBJECT FREQ"] ? host : nil
        }
        #expect((host["by_size"] as? [Any])?.isEmpty == true)
        #expect(((host["refused"] as? [[String: Any]])?.first?["error"] as? String)?.contains("NOPERM") == true)
        // The rest of the Redis source still arrives: keys per cache type, INFO figures, the counter.
        _ = try await eventually("cache keys and INFO figures despite the refusals") { () -> Bool? in
            let (_, keys) = try await daemon.get("/api/monitoring/redis/keys?period=15m")
            let types = Self.hosts(keys).first?["cache_types"] as? [[String: Any]] ?? []
            let search = types.first { $0["type"] as? String == "search_results" }
            let (_, status) = try await daemon.get("/api/monitoring/redis/status?period=15m")
            let entry = Self.hosts(status).first
            return search?["keys"] as? Double == 20 && entry?["connected"] as? Bool == true
                && entry?["keys_total"] as? Double == 20 ? true : nil
        }
        let refusedCount = try await eventually("mon_redis_top_keys_refused_total") { () -> Int64? in
            let value = try daemon.scalar(
                """
                SELECT coalesce(max(m.value), 0)::bigint FROM metrics m JOIN metric_series s ON s.id = m.series_id
                WHERE s.name = 'mon_redis_top_keys_refused_total'
                """)
            return value > 0 ? value : nil
        }
        #expect(refusedCount > 0)
        let log = try String(contentsOfFile: "\(daemon.directory)/monagent-it-agent.log", encoding: .utf8)
        #expect(!log.contains("Redis collection failed"), "no failed cycle")
        #expect(log.contains("Redis refused a top-keys sampling command"))
        #expect(!log.contains("pw-limited"), "the password is never logged")
    }
}
