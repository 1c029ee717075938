import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import NIOCore
import Testing

/// The ingest boundary (issue 18, "Ingest that trusts nobody"): spoofed hosts and agent ids,
/// a forged seq, oversized frames before HELLO, floods of connections, poison batches —
/// each refused or quarantined and counted, while real agents keep being served.
extension HostileInputTests {
    static let nobody: UInt32 = 65534

    /// `frame` with the one big-endian occurrence of `marker` in its payload replaced by `value`.
    static func overwriting(_ marker: UInt64, with value: UInt64, in frame: Frame) -> Frame {
        var bytes = Array(frame.payload.readableBytesView)
        let needle = withUnsafeBytes(of: marker.bigEndian) { Array($0) }
        let starts = (0...(bytes.count - needle.count)).filter { Array(bytes[$0..<$0 + needle.count]) == needle }
        precondition(starts.count == 1, "the marker occurs once in the frame")
        bytes.replaceSubrange(starts[0]..<starts[0] + 8, with: withUnsafeBytes(of: value.bigEndian) { Array($0) })
        return Frame(type: frame.type, payload: ByteBuffer(bytes: bytes))
    }

    /// Rows of `agent` in the ingest ledger.
    static func ledgerRows(_ daemon: Daemon, agent: String) throws -> Int64 {
        try daemon.scalar("SELECT count(*) FROM ingest_ledger WHERE agent_id = $1", [agent])
    }

    /// True once an agent counter of `host` on `/metrics` is at least 1 (it is sent every
    /// cycle, 0 until the agent counts something); nil before.
    static func atLeastOne(_ daemon: Daemon, _ name: String, host: String) async throws -> Bool? {
        try await daemon.metric(name, labels: "host=\"\(host)\"") ?? 0 >= 1 ? true : nil
    }

    /// A copy of monagent runnable by `nobody`, and the wrapper that runs it as nobody.
    static func agentAsNobody(_ daemon: Daemon) throws -> [String] {
        chmod(daemon.directory, 0o777)
        let binary = "\(daemon.directory)/monagent"
        if !FileManager.default.fileExists(atPath: binary) {
            try FileManager.default.copyItem(
                atPath: "\(try #require(TestEnvironment.binDirectory))/monagent", toPath: binary)
        }
        return ["/usr/bin/setpriv", "--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups", binary]
    }

    @Test(
        "socket: a non-root agent may write only the hosts bound to its user; another host is refused and counted",
        .enabled(if: geteuid() == 0, "runs agents as nobody, which needs root"))
    func socketHostSpoofing() async throws {
        let daemon = try Daemon.make()
        let wrapper = try Self.agentAsNobody(daemon)
        // `nobody` without a hosts= option: this machine's host name only.
        let monquery = try daemon.start(extra: [
            "MONQUERY_INGEST_SOCKET_MODE": "0666", "MONQUERY_INGEST_ALLOWED_USERS": "nobody",
        ])
        defer { monquery.stop() }
        let spoofer = try daemon.startAgent(host: "spoofed-host", agentID: "spoofer", wrapper: wrapper)
        defer { spoofer.stop(SIGKILL) }
        let honest = try daemon.startAgent(host: HostName.current(), agentID: "honest", wrapper: wrapper)
        defer { honest.stop(SIGKILL) }

        _ = try await eventually("batches of the agent writing its own host") {
            try Self.ledgerRows(daemon, agent: "honest") >= 3 ? true : nil
        }
        let refused = try await eventually("the spoofing agent refused") { () -> String? in
            monquery.log.split(separator: "\n").first {
                $0.contains("refusing ingest connection") && $0.contains("spoofed-host")
            }.map(String.init)
        }
        #expect(refused.contains("uid \(Self.nobody)"), "the log names the peer: \(refused)")
        #expect(refused.contains("allowed_hosts=\(HostName.current())"), "and the hosts it may write: \(refused)")
        _ = try await eventually("the agent seeing 'forbidden'") { spoofer.log.contains("forbidden") ? true : nil }
        #expect(try Self.ledgerRows(daemon, agent: "spoofer") == 0)
        #expect(try daemon.scalar("SELECT count(*) FROM metric_series WHERE host = 'spoofed-host'") == 0)
        #expect(try await daemon.metric("mon_query_ingest_refused_total", labels: "reason=\"host\"") ?? 0 >= 1)
        #expect(spoofer.isRunning, "a refused agent keeps running and spooling")
    }

    @Test("TLS: a token writes only its hosts; an agent id stays bound to its first host")
    func tlsHostSpoofing() async throws {
        let daemon = try Daemon.make()
        let server = try await IngestTLSTests.Certificate.make(in: daemon.directory, name: "server")
        let token = "ingest-\(UInt64.random(in: 0...UInt64.max))"
        let tokenFile = "\(daemon.directory)/token"
        try Data(token.utf8).write(to: URL(fileURLWithPath: tokenFile))
        let port = TestEnvironment.freePort()
        var environment = IngestTLSTests.tcpIngest(port: port, server: server, token: token)
        environment["MONQUERY_INGEST_TOKENS"] = "web-2:" + SHA256.hex(Array(token.utf8)) + ":hosts=web-2|web-2b"
        let monquery = try daemon.start(extra: environment)
        defer { monquery.stop() }
        func remoteAgent(_ id: String, host: String) throws -> ManagedProcess {
            try daemon.startAgent(
                host: host, agentID: id,
                extra: [
                    "MONAGENT_INGEST_ADDRESS": "127.0.0.1:\(port)", "MONAGENT_INGEST_TOKEN_FILE": tokenFile,
                    "MONAGENT_INGEST_TLS_CA_FILE": server.certificate,
                ])
        }
        let good = try remoteAgent("tls-web-2", host: "web-2")
        let spoofer = try remoteAgent("tls-spoofer", host: "web-3")
        defer { spoofer.stop() }
        _ = try await eventually("batches of the agent with its own host") {
            try Self.ledgerRows(daemon, agent: "tls-web-2") >= 3 ? true : nil
        }
        _ = try await eventually("the agent announcing web-3 refused") {
            spoofer.log.contains("forbidden") && monquery.log.contains("may not write host 'web-3'") ? true : nil
        }
        #expect(try Self.ledgerRows(daemon, agent: "tls-spoofer") == 0)

        // The same agent id for another host the token may write: refused, the id is web-2's.
        good.stop()
        let moved = try remoteAgent("tls-web-2", host: "web-2b")
        defer { moved.stop() }
        _ = try await eventually("the agent id moving to another host refused") {
            monquery.log.contains("agent id 'tls-web-2' is bound to host 'web-2'") ? true : nil
        }
        #expect(try daemon.scalar("SELECT count(*) FROM ingest_ledger WHERE host = 'web-2b'") == 0)
        #expect(try await daemon.metric("mon_query_ingest_refused_total", labels: "reason=\"host\"") ?? 0 >= 1)
        #expect(try await daemon.metric("mon_query_ingest_refused_total", labels: "reason=\"agent\"") ?? 0 >= 1)
        #expect(!monquery.log.contains(token) && !spoofer.log.contains(token))
    }

    @Test(
        "a forged seq for the agent's boot: the agent drops nothing and numbers after it; an implausible one is quarantined"
    )
    func forgedSeqDoesNotDeleteTheSpool() async throws {
        let daemon = try Daemon.make()
        var monquery = try daemon.start()
        let agent = try daemon.startAgent(interval: 0.2, host: "victim-host", agentID: "victim")
        defer { agent.stop() }
        _ = try await eventually("the agent's first batches") {
            try Self.ledgerRows(daemon, agent: "victim") >= 5 ? true : nil
        }
        let boot = try #require(
            try daemon.column("SELECT boot_id FROM ingest_ledger WHERE agent_id = 'victim'").first ?? nil)
        let stored = try daemon.scalar("SELECT max(seq) FROM ingest_ledger WHERE agent_id = 'victim'")
        let forged = UInt64(stored) + 1000
        let implausible: UInt64 = 1 << 40

        // Another client announces the agent's identity and sends seqs ahead of it.
        let socket = daemon.socketPath
        let acks = try await offPool { () -> [UInt64] in
            let attacker = try IngestRawClient(path: socket)
            _ = try attacker.hello(agentID: "victim", host: "victim-host", bootID: boot)
            var acked: [UInt64] = []
            for seq in [implausible, forged] {
                let sample = Sample("mon_test_forged", value: 1, timestampMs: WallClock.nowMs())
                attacker.send(.batch(Batch(seq: seq, createdMs: WallClock.nowMs(), samples: [sample])))
                if case .ack(let ack) = try attacker.receive() { acked.append(ack) }
            }
            return acked
        }
        #expect(acks == [implausible, forged], "both acked: the implausible one quarantined")
        #expect(try daemon.scalar("SELECT max(seq) FROM ingest_ledger WHERE agent_id = 'victim'") == Int64(forged))
        #expect(try daemon.scalar("SELECT count(*) FROM rejected_batches WHERE seq = $1", [String(implausible)]) == 1)

        // The agent reconnects (daemon restart) with batches spooled meanwhile; WELCOME says `forged`.
        monquery.stop()
        try await Task.sleep(for: .seconds(2))
        monquery = try daemon.start(log: "monquery-2.log")
        defer { monquery.stop() }
        let restarted = try Self.ledgerRows(daemon, agent: "victim")
        _ = try await eventually("the agent storing again") {
            try Self.ledgerRows(daemon, agent: "victim") >= restarted + 10 ? true : nil
        }
        let before = try daemon.column(
            "SELECT seq FROM ingest_ledger WHERE agent_id = 'victim' AND seq < $1 ORDER BY seq", [String(forged)]
        ).compactMap { $0.flatMap { Int64($0) } }
        #expect(before == Array(1...Int64(before.count)), "every batch the agent built before the WELCOME is stored")
        #expect(Int64(before.count) > stored + 3, "including those spooled while the daemon was away")
        _ = try await eventually("new batches numbered after the forged seq") {
            try daemon.scalar(
                "SELECT count(*) FROM ingest_ledger WHERE agent_id = 'victim' AND seq > $1", [String(forged)]) >= 3
                ? true : nil
        }
        #expect(agent.log.contains("above any this agent assigned"))
        _ = try await eventually("the agent's count of WELCOMEs ahead") {
            try await Self.atLeastOne(daemon, "mon_agent_ingest_welcome_ahead_total", host: "victim-host")
        }
    }

    @Test("a 16 MiB frame before HELLO is refused after its length, before the daemon reads it")
    func sixteenMebibytesBeforeHello() async throws {
        let daemon = try Daemon.make()
        let monquery = try daemon.start()
        defer { monquery.stop() }
        let agent = try daemon.startAgent(interval: 0.2)
        defer { agent.stop() }
        _ = try await eventually("agent connected") { try Self.ledgerRows(daemon, agent: "it-agent") >= 1 ? true : nil }
        let socket = daemon.socketPath
        let sentWhole = try await offPool { () -> Bool in
            let client = try IngestRawClient(path: socket)
            var frame: [UInt8] = [0x01, 0x00, 0x00, 0x00, 0x01]  // 16 MiB, type HELLO
            frame += [UInt8](repeating: 0x41, count: 16 << 20)
            return client.send(bytes: frame)
        }
        #expect(!sentWhole, "the daemon closed the connection before taking 16 MiB")
        _ = try await eventually("the refusal logged") {
            monquery.log.contains("before HELLO is answered") ? true : nil
        }
        #expect(try await daemon.metric("mon_query_ingest_refused_total", labels: "reason=\"frame\"") ?? 0 >= 1)
        let before = try Self.ledgerRows(daemon, agent: "it-agent")
        _ = try await eventually("the agent still stored") {
            try Self.ledgerRows(daemon, agent: "it-agent") >= before + 3 ? true : nil
        }
    }

    @Test(
        "300 connections at once, half of them stalled mid-frame: capped and counted, idle and stalled ones closed, a real agent still served"
    )
    func ingestConnectionFlood() async throws {
        let daemon = try Daemon.make()
        let monquery = try daemon.start(extra: [
            "MONQUERY_INGEST_SOCKET_MAX_CONNECTIONS": "100", "MONQUERY_INGEST_SOCKET_HANDSHAKE_TIMEOUT_SECONDS": "2",
        ])
        defer { monquery.stop() }
        let agent = try daemon.startAgent(interval: 0.2)
        defer { agent.stop() }
        _ = try await eventually("agent connected") { try Self.ledgerRows(daemon, agent: "it-agent") >= 1 ? true : nil }
        let socket = daemon.socketPath
        let flood = try await offPool {
            try (0..<300).map { _ in try IngestRawClient(path: socket, timeoutSeconds: 30) }
        }
        // Every other one announces a 64-byte HELLO and sends 11 bytes of it: the handshake
        // deadline runs from the connection, not from the last byte, so trickling does not
        // keep a slot (the 2026-12-05 hostile pass held 1 000 such connections).
        for (index, client) in flood.enumerated() where index % 2 == 0 {
            _ = client.send(bytes: [0, 0, 0, 64, 1] + Array(repeating: UInt8(ascii: "a"), count: 10))
        }
        let storedDuringFlood = try Self.ledgerRows(daemon, agent: "it-agent")
        let closed = try await offPool { flood.map { $0.awaitClose() } }
        #expect(closed.allSatisfy { $0 }, "every idle connection is closed by the daemon")
        _ = try await eventually("the agent still stored") {
            try Self.ledgerRows(daemon, agent: "it-agent") >= storedDuringFlood + 5 ? true : nil
        }
        let overCap = try await daemon.metric("mon_query_ingest_refused_total", labels: "reason=\"connections\"") ?? 0
        let idle = try await daemon.metric("mon_query_ingest_refused_total", labels: "reason=\"handshake\"") ?? 0
        #expect(overCap >= 150, "over the cap: \(overCap)")
        #expect(idle >= 1, "timed out: \(idle)")
        #expect(overCap + idle >= 300)
        #expect(monquery.isRunning)
        #expect((Daemon.residentBytes(pid: monquery.pid) ?? 0) < 512 << 20, "under the unit's MemoryMax")
    }

    @Test(
        "poison batches are quarantined or trimmed and acked; what the agent sends after them is stored, nothing crashes, the rollup moves on"
    )
    func poisonBatches() async throws {
        let daemon = try Daemon.make()
        let monquery = try daemon.start(extra: [
            "MONQUERY_INGEST_MAX_FRAME_BYTES": "\(1 << 20)", "MONQUERY_STORAGE_ROLLUP_INTERVAL_SECONDS": "1",
            "MONQUERY_STORAGE_ROLLUP_SETTLE_SECONDS": "0",
        ])
        defer { monquery.stop() }
        _ = try await eventually("daemon up") { (try? await daemon.getText("/health"))?.status == 200 ? true : nil }
        // A permanent error PostgreSQL raises on one event (SQLSTATE 23514, check violation).
        try daemon.execute("ALTER TABLE events ADD CONSTRAINT no_poison CHECK (key <> 'poison')")
        let now = WallClock.nowMs()
        // A histogram whose bucket count is 2^62: no `Histogram` holds that (counts saturate at
        // 2^50), so the frame is forged: a marker count, encoded, then overwritten on the wire.
        let marker: UInt64 = 0x2345_6789_ABCD  // below Histogram.maxCount, unlikely elsewhere
        let histogram = try #require(Histogram(buckets: [10: marker], zeroCount: 0, sum: 1, min: 1, max: 1))
        let longLabels = Labels(
            Dictionary(uniqueKeysWithValues: (0..<5).map { ("l\($0)", String(repeating: "v", count: 1000)) }))
        func sample(_ name: String, _ labels: Labels = [:]) -> Sample {
            Sample(name, labels, value: 1, timestampMs: now)
        }
        var malformed = ByteBuffer()
        malformed.writeInteger(UInt64(6))
        malformed.writeInteger(now)
        malformed.writeInteger(UInt32(1_000_000))
        let frames: [Frame] = [
            WireMessage.batch(Batch(seq: 1, createdMs: now, samples: [sample("mon_test_before")])).frame(),
            WireMessage.batch(
                Batch(
                    seq: 2, createdMs: now,
                    samples: [
                        sample("mon_test_long_key", longLabels),
                        sample("mon_test_long_value", ["v": String(repeating: "v", count: 5000)]),
                        sample("mon_test_fine_2"),
                    ])
            ).frame(),
            WireMessage.batch(
                Batch(
                    seq: 3, createdMs: now,
                    samples: [
                        sample("mon_test_newline", ["path": "/a\"\n# TYPE mon_injected gauge\nmon_injected 1"]),
                        sample("mon_test\nmon_injected_name 1"), sample("mon_test_reserved", ["__name__": "x"]),
                    ])
            ).frame(),
            WireMessage.batch(
                Batch(
                    seq: 4, createdMs: now, samples: [sample("mon_test_big")],
                    events: [
                        Event(
                            kind: "big", key: "k", timestampMs: now,
                            payload: "{\"a\":\"" + String(repeating: "x", count: 2 << 20) + "\"}")
                    ])
            ).frame(),
            Self.overwriting(
                marker, with: 1 << 62,
                in: WireMessage.batch(
                    Batch(
                        seq: 5, createdMs: now, samples: [sample("mon_test_fine_5")],
                        histograms: [
                            HistogramSample("mon_test_huge_count", [:], timestampMs: now, histogram: histogram)
                        ])
                ).frame()),
            Frame(.batch, payload: malformed),
            WireMessage.batch(
                Batch(
                    seq: 7, createdMs: now, samples: [sample("mon_test_fine_7")],
                    events: [Event(kind: "test", key: "poison", timestampMs: now, payload: "{}")])
            ).frame(),
            WireMessage.batch(Batch(seq: 8, createdMs: now, samples: [sample("mon_test_after")])).frame(),
        ]
        let socket = daemon.socketPath
        let acks = try await offPool { () -> [UInt64] in
            let client = try IngestRawClient(path: socket)
            _ = try client.hello(agentID: "poison", host: "poison-host", bootID: "b1")
            var acked: [UInt64] = []
            for frame in frames {
                client.send(frame: frame)
                guard case .ack(let seq) = try client.receive() else { break }
                acked.append(seq)
            }
            return acked
        }
        #expect(acks == Array(1...8), "every batch acked, so the agent moves on")
        #expect(monquery.isRunning)
        func stored(_ name: String) throws -> Int64 {
            try daemon.scalar(
                "SELECT count(*) FROM metrics m JOIN metric_series s ON s.id = m.series_id WHERE s.name = $1", [name])
        }
        for name in ["mon_test_before", "mon_test_fine_2", "mon_test_newline", "mon_test_fine_5", "mon_test_after"] {
            #expect(try stored(name) == 1, "\(name) stored")
        }
        for name in [
            "mon_test_long_key", "mon_test_long_value", "mon_test_reserved", "mon_test_fine_7", "mon_test_big",
        ] {
            #expect(try stored(name) == 0, "\(name) not stored")
        }
        #expect(try daemon.scalar("SELECT count(*) FROM ingest_ledger WHERE agent_id = 'poison'") == 8)
        let reasons = try daemon.column("SELECT seq::text || ' ' || reason FROM rejected_batches ORDER BY seq")
            .compactMap { $0 }
        #expect(reasons.count == 3, "\(reasons)")
        #expect(reasons.first { $0.hasPrefix("4 ") }?.contains("exceeds ingest.max_frame_bytes") == true, "\(reasons)")
        #expect(reasons.first { $0.hasPrefix("6 ") }?.contains("malformed batch") == true, "\(reasons)")
        #expect(reasons.first { $0.hasPrefix("7 ") }?.contains("23514") == true, "\(reasons)")
        #expect(try daemon.scalar("SELECT length(payload) FROM rejected_batches WHERE seq = 7") > 0)

        // Counted on /metrics; nothing injected into it; valid for promtool.
        #expect(try await daemon.metric("mon_query_ingest_quarantined_total") == 3)
        for reason in ["series_key", "label_value", "metric_name", "label_name", "histogram"] {
            #expect(
                try await daemon.metric("mon_query_ingest_dropped_total", labels: "reason=\"\(reason)\"") ?? 0 >= 1,
                "\(reason)")
        }
        let exposition = try await daemon.getText("/metrics").body
        #expect(!exposition.split(separator: "\n").contains { $0.hasPrefix("mon_injected") })
        #expect(exposition.contains("path=\"/a\\\"\\n# TYPE mon_injected gauge\\nmon_injected 1\""))
        try await Promtool.check(exposition)

        // /health/detailed names the agent, its count and last reason.
        let (_, json) = try await daemon.get("/health/detailed")
        let checks = try #require((json as? [String: Any])?["checks"] as? [String: Any])
        let ingest = try #require(checks["ingest"] as? [String: Any])
        #expect(ingest["status"] as? String == "degraded")
        #expect(ingest["quarantined_batches"] as? Double == 3)
        let agents = try #require(ingest["agents"] as? [[String: Any]])
        let poison = try #require(agents.first { $0["agent_id"] as? String == "poison" })
        #expect(poison["quarantined_batches"] as? Double == 3)
        #expect((poison["last_quarantine_reason"] as? String)?.contains("PostgreSQL refused") == true)

        // The rollup passes the minute of the poison batches.
        _ = try await eventually("the rollup watermark past the poison batches", seconds: 120) { () -> Bool? in
            let watermark = try daemon.column(
                "SELECT (extract(epoch FROM watermark) * 1000)::bigint FROM rollup_state WHERE tier = '1m'"
            ).first.flatMap { $0.flatMap { Int64($0) } }
            return (watermark ?? 0) > now ? true : nil
        }
        #expect(monquery.isRunning)
    }

    @Test("the agent splits log batches larger than a frame: every line arrives")
    func agentSplitsLargeBatches() async throws {
        let daemon = try Daemon.make()
        let monquery = try daemon.start(extra: ["MONQUERY_INGEST_MAX_FRAME_BYTES": "\(4 << 20)"])
        defer { monquery.stop() }
        let logFile = "\(daemon.directory)/app.log"
        let filler = String(repeating: "lorem ipsum ", count: 2700)  // about 32 KiB
        let lines = (0..<200).map { "{\"event\":\"line \($0)\",\"level\":\"info\",\"filler\":\"\(filler)\"}\n" }
        try Data(lines.joined().utf8).write(to: URL(fileURLWithPath: logFile))
        let agent = try daemon.startAgent(
            interval: 0.5,
            extra: [
                "MONAGENT_LOGS_PATHS": logFile, "MONAGENT_LOGS_START_AT": "beginning",
                "MONAGENT_INGEST_MAX_BATCH_BYTES": "\(1 << 20)", "MONAGENT_COLLECTORS": "cpu",
            ])
        defer { agent.stop() }
        _ = try await eventually("every line stored") {
            try daemon.scalar("SELECT count(*) FROM logs") == 200 ? true : nil
        }
        _ = try await eventually("the agent's count of split batches") {
            try await Self.atLeastOne(daemon, "mon_agent_batches_split_total", host: "it-host")
        }
        #expect(try daemon.scalar("SELECT count(*) FROM rejected_batches") == 0)
    }

    @Test("StatsD tags that make a series key too long are shortened at the agent, counted, and stored")
    func agentShortensLongSeriesKeys() async throws {
        let daemon = try Daemon.make()
        let monquery = try daemon.start()
        defer { monquery.stop() }
        let port = TestEnvironment.freePort()
        let agent = try daemon.startAgent(
            interval: 0.5, extra: ["MONAGENT_STATSD_ADDRESS": "127.0.0.1:\(port)", "MONAGENT_COLLECTORS": "cpu"])
        defer { agent.stop() }
        _ = try await eventually("StatsD listening") { agent.log.contains("address=\"udp") ? true : nil }
        let sender = UDPSender(port: port)
        defer { sender.close() }
        // 30 tags of 190 bytes (StatsD allows 32 tags of 200): a key of about 6 KiB; and a tag
        // name the daemon reserves.
        let tags = (0..<30).map { "t\($0):" + String(repeating: Character(UnicodeScalar(97 + $0 % 26)!), count: 190) }
        let line = "wide.tags:1|c|#" + tags.joined(separator: ",") + ",__reserved:x"
        _ = try await eventually("the wide series stored", seconds: 30) { () -> Bool? in
            sender.send(line)
            return try daemon.scalar("SELECT count(*) FROM metric_series WHERE name = 'app_wide_tags_total'") >= 1
                ? true : nil
        }
        _ = try await eventually("the agent's count of shortened series") {
            try await Self.atLeastOne(daemon, "mon_agent_series_truncated_total", host: "it-host")
        }
        #expect(try await daemon.metric("mon_query_ingest_dropped_total", labels: "reason=\"series_key\"") == 0)
        #expect(try await daemon.metric("mon_query_ingest_dropped_total", labels: "reason=\"label_name\"") == 0)
    }
}

extension HostileInputTests {
    @Test("values that used to fail every retry: an absurd batch time, NUL, index-busting keys, a seq above bigint")
    func valuesThatUsedToPoisonTheConnection() async throws {
        let daemon = try Daemon.make()
        let monquery = try daemon.start()
        defer { monquery.stop() }
        _ = try await eventually("daemon up") { (try? await daemon.getText("/health"))?.status == 200 ? true : nil }
        let now = WallClock.nowMs()
        func batch(_ seq: UInt64, created: Int64 = now, _ name: String, _ labels: Labels = [:]) -> Batch {
            Batch(seq: seq, createdMs: created, samples: [Sample(name, labels, value: 1, timestampMs: now)])
        }
        var indexBusting = batch(4, "mon_test_ok_4")
        indexBusting.events = [
            Event(kind: "k", key: String(repeating: "k", count: 3000), timestampMs: now, payload: "{}")
        ]
        indexBusting.logs = [
            LogRecord(
                timestampMs: now, level: .info, service: "s", event: "e", logger: nil, traceID: nil, fields: "{}",
                source: "/" + String(repeating: "d", count: 3000), offset: 1)
        ]
        var nul = batch(3, "mon_test_ok_3")
        nul.samples.append(Sample("mon_test_nul", ["v": "a\u{0}b"], value: 1, timestampMs: now))
        let batches = [
            batch(1, created: .min, "mon_test_ok_1"), batch(2, created: .max, "mon_test_ok_2"), nul, indexBusting,
            batch(UInt64(Int64.max) + 2, "mon_test_above_bigint"), batch(5, "mon_test_ok_5"),
        ]
        let socket = daemon.socketPath
        let (acks, nulHost) = try await offPool { () -> ([UInt64], WireMessage?) in
            let client = try IngestRawClient(path: socket)
            _ = try client.hello(agentID: "values", host: "values-host", bootID: "b")
            var acked: [UInt64] = []
            for batch in batches {
                client.send(.batch(batch))
                guard case .ack(let seq) = try client.receive() else { break }
                acked.append(seq)
            }
            let second = try IngestRawClient(path: socket)
            second.send(.hello(.init(agentID: "values-2", host: "values\u{0}host", bootID: "b")))
            return (acked, try second.receive())
        }
        #expect(acks == batches.map(\.seq))
        guard case .error(let error) = nulHost else {
            Issue.record("a host with a NUL must be refused, got \(String(describing: nulHost))")
            return
        }
        #expect(error.code == WireError.Code.malformed.rawValue)
        for seq in 1...5 {
            #expect(
                try daemon.scalar(
                    "SELECT count(*) FROM metrics m JOIN metric_series s ON s.id = m.series_id WHERE s.name = $1",
                    ["mon_test_ok_\(seq)"]) == 1, "batch \(seq)")
        }
        #expect(try daemon.scalar("SELECT count(*) FROM metric_series WHERE name = 'mon_test_nul'") == 0)
        #expect(try daemon.scalar("SELECT count(*) FROM events") == 0)
        #expect(try daemon.scalar("SELECT count(*) FROM logs") == 0)
        #expect(try daemon.scalar("SELECT count(*) FROM rejected_batches") == 1, "only the seq above bigint")
        #expect(try daemon.scalar("SELECT count(*) FROM ingest_ledger WHERE agent_id = 'values'") == 5)
        for reason in ["label_value", "event", "log"] {
            #expect(
                try await daemon.metric("mon_query_ingest_dropped_total", labels: "reason=\"\(reason)\"") ?? 0 >= 1,
                "\(reason)")
        }
        #expect(monquery.isRunning)
    }
}

extension HostileInputTests {
    @Test("the writer's guards on PostgreSQL: agent binding, quarantine once per seq, trimming, series caps")
    func writerGuards() async throws {
        let daemon = try Daemon.make()
        let writer = IngestWriter(
            databaseURL: daemon.databaseURL, seriesCaps: SeriesCaps(perHost: 3, total: 5), logger: .init(label: "test"))
        try await writer.migrate()
        let now = WallClock.nowMs()
        try await writer.maintainPartitions(aheadDays: 1, nowMs: now)

        // Agent ids: the first host wins; a restricted credential cannot move it; an unrestricted one can.
        let web1 = AgentIdentity(agentID: "a1", host: "web-1", bootID: "b")
        let web2 = AgentIdentity(agentID: "a1", host: "web-2", bootID: "b")
        #expect(try await writer.bindAgent(web1, mayRebind: false) == .bound)
        #expect(try await writer.bindAgent(web1, mayRebind: false) == .bound)
        #expect(try await writer.bindAgent(web2, mayRebind: false) == .boundElsewhere("web-1"))
        #expect(try await writer.bindAgent(web2, mayRebind: true) == .rebound(previous: "web-1"))
        for index in 0..<(IngestWriter.maxAgentsPerHost - 1) {
            _ = try await writer.bindAgent(
                AgentIdentity(agentID: "n\(index)", host: "web-2", bootID: "b"), mayRebind: false)
        }
        let oneTooMany = AgentIdentity(agentID: "extra", host: "web-2", bootID: "b")
        #expect(try await writer.bindAgent(oneTooMany, mayRebind: false) == .tooManyAgents)

        // A quarantined seq is recorded once; a replay of it is recognised by the ledger.
        let poison = QuarantinedBatch(
            agent: web1, seq: 9, reason: "test", payload: ByteBuffer(bytes: [0, 1, 2, 0xFF]), inLedger: true)
        #expect(try await writer.quarantine(poison))
        #expect(try await !writer.quarantine(poison))
        #expect(try await writer.lastStoredSeq(agentID: "a1", bootID: "b") == 9)
        #expect(try daemon.column("SELECT encode(payload, 'hex') FROM rejected_batches").first == "000102ff")
        try daemon.execute(
            "INSERT INTO rejected_batches (agent_id, boot_id, seq, host, reason, payload, received_at) VALUES ('old', 'b', 1, 'h', 'r', '', now() - interval '40 days')"
        )
        #expect(try await writer.trimRejectedBatches(days: 30) == 1)
        #expect(try daemon.scalar("SELECT count(*) FROM rejected_batches") == 1)

        // Series caps: 3 per host, 5 in all; known series keep flowing past the cap.
        func batch(_ seq: UInt64, _ names: [String]) -> Batch {
            Batch(seq: seq, createdMs: now, samples: names.map { Sample($0, value: 1, timestampMs: now) })
        }
        let first = try await writer.storeCounting(batch(1, ["s1", "s2", "s3", "s4"]), from: web1, nowMs: now)
        #expect(first.dropped[.hostSeriesCap] == 1)
        let second = try await writer.storeCounting(batch(2, ["s1", "s2", "s3"]), from: web1, nowMs: now)
        #expect(second.dropped.isEmpty, "known series keep flowing")
        let otherAgent = AgentIdentity(agentID: "a2", host: "web-2", bootID: "b")
        let other = try await writer.storeCounting(batch(1, ["t1", "t2", "t3"]), from: otherAgent, nowMs: now)
        #expect(other.dropped[.globalSeriesCap] == 1)
        #expect(try daemon.scalar("SELECT count(*) FROM metric_series") == 5)
        // A restarted writer counts the series already there.
        let restarted = IngestWriter(
            databaseURL: daemon.databaseURL, seriesCaps: SeriesCaps(perHost: 3, total: 5), logger: .init(label: "test"))
        let again = try await restarted.storeCounting(batch(3, ["s1", "s5"]), from: web1, nowMs: now)
        #expect(again.dropped[.hostSeriesCap] == 1)
        #expect(again.outcome == .stored(samples: 1, rejected: 1))
    }
}
