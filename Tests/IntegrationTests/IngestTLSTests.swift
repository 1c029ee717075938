import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// Remote agents over TCP: TLS always, a token in HELLO; the API over HTTPS.
@Suite(.enabled(if: TestEnvironment.isAvailable), .serialized)
struct IngestTLSTests {
    /// A self-signed certificate for localhost and 127.0.0.1, and its key.
    struct Certificate {
        let certificate: String
        let key: String

        static func make(in directory: String, name: String) async throws -> Certificate {
            let made = Certificate(certificate: "\(directory)/\(name).crt", key: "\(directory)/\(name).key")
            let (status, output) = try await runProgram(
                "/usr/bin/openssl",
                [
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", made.key, "-out", made.certificate,
                ])
            #expect(status == 0, "openssl: \(output)")
            return made
        }
    }

    /// monquery's variables for a TLS ingest listener on `port` accepting `token`.
    static func tcpIngest(port: Int, server: Certificate, token: String) -> [String: String] {
        [
            "MONQUERY_INGEST_TCP_LISTEN": "127.0.0.1:\(port)",
            "MONQUERY_INGEST_TLS_CERTIFICATE_FILE": server.certificate,
            "MONQUERY_INGEST_TLS_KEY_FILE": server.key,
            "MONQUERY_INGEST_TOKENS": "remote:" + SHA256.hex(Array(token.utf8)) + ":hosts=remote-host",
        ]
    }

    static func ledgerRows(_ daemon: Daemon, agent: String) throws -> Int64 {
        try daemon.scalar("SELECT count(*) FROM ingest_ledger WHERE agent_id = $1", [agent])
    }

    @Test(
        "remote agents: stored with the token over verified TLS; a wrong token or an unknown CA gets nothing in; HTTPS API"
    )
    func remoteAgents() async throws {
        let daemon = try Daemon.make()
        let server = try await Certificate.make(in: daemon.directory, name: "server")
        let rogue = try await Certificate.make(in: daemon.directory, name: "rogue")
        let token = "ingest-\(UInt64.random(in: 0...UInt64.max))"
        let wrongToken = "wrong-\(UInt64.random(in: 0...UInt64.max))"
        let tokenFile = "\(daemon.directory)/token"
        let wrongTokenFile = "\(daemon.directory)/wrong-token"
        try Data((token + "\n").utf8).write(to: URL(fileURLWithPath: tokenFile))
        try Data(wrongToken.utf8).write(to: URL(fileURLWithPath: wrongTokenFile))
        let ingestPort = TestEnvironment.freePort()

        var environment = Self.tcpIngest(port: ingestPort, server: server, token: token)
        environment["MONQUERY_HTTP_TLS_CERTIFICATE_FILE"] = server.certificate
        environment["MONQUERY_HTTP_TLS_KEY_FILE"] = server.key
        let monquery = try daemon.start(extra: environment)
        defer { monquery.stop() }
        func remoteAgent(_ id: String, tokenFile: String, ca: String) throws -> ManagedProcess {
            try daemon.startAgent(
                interval: 0.2, host: "remote-host", agentID: id,
                extra: [
                    "MONAGENT_INGEST_ADDRESS": "127.0.0.1:\(ingestPort)", "MONAGENT_INGEST_TOKEN_FILE": tokenFile,
                    "MONAGENT_INGEST_TLS_CA_FILE": ca,
                    // Through the name, not the address, for the good one: both checks work.
                    "MONAGENT_INGEST_TLS_SERVER_NAME": id == "tls-good" ? "localhost" : "",
                ])
        }
        let good = try remoteAgent("tls-good", tokenFile: tokenFile, ca: server.certificate)
        defer { good.stop() }
        let wrong = try remoteAgent("tls-wrong-token", tokenFile: wrongTokenFile, ca: server.certificate)
        defer { wrong.stop() }
        let untrusting = try remoteAgent("tls-rogue-ca", tokenFile: tokenFile, ca: rogue.certificate)
        defer { untrusting.stop() }

        _ = try await eventually("batches from the remote agent") {
            try Self.ledgerRows(daemon, agent: "tls-good") >= 3 ? true : nil
        }
        _ = try await eventually("the wrong token refused") {
            wrong.log.contains("forbidden") && monquery.log.contains("not one of ingest.tokens") ? true : nil
        }
        _ = try await eventually("the untrusted certificate refused by the agent") {
            untrusting.log.lowercased().contains("certificate") ? true : nil
        }
        #expect(try Self.ledgerRows(daemon, agent: "tls-wrong-token") == 0)
        #expect(try Self.ledgerRows(daemon, agent: "tls-rogue-ca") == 0)

        // The API over HTTPS, verified against the same certificate; plain HTTP gets nothing.
        let base = "https://127.0.0.1:\(daemon.httpPort)"
        let health = try await offPool {
            try curl(["--max-time", "10", "--cacert", server.certificate, base + "/health"])
        }
        #expect(health.headers[":status"] == "200")
        let metrics = try await offPool {
            try curl(["--max-time", "10", "--cacert", server.certificate, base + "/metrics"])
        }
        let exposition = String(decoding: metrics.body, as: UTF8.self)
        let refused = exposition.split(separator: "\n").first {
            $0.hasPrefix("mon_query_ingest_refused_connections_total ")
        }
        #expect(refused.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0 >= 1, "\(refused ?? "absent")")
        let plain = try await offPool {
            try curl(["--max-time", "10", "http://127.0.0.1:\(daemon.httpPort)/health"])
        }
        #expect(plain.headers[":status"] == nil)

        // No token ever reaches a log.
        for log in [monquery.log, good.log, wrong.log, untrusting.log] {
            #expect(!log.contains(token) && !log.contains(wrongToken))
        }
    }

    @Test("idle TCP peers are closed after the handshake timeout, extra ones at once; a real agent still gets in")
    func idleAndExcessConnections() async throws {
        let daemon = try Daemon.make()
        let server = try await Certificate.make(in: daemon.directory, name: "server")
        let token = "ingest-\(UInt64.random(in: 0...UInt64.max))"
        let tokenFile = "\(daemon.directory)/token"
        try Data(token.utf8).write(to: URL(fileURLWithPath: tokenFile))
        let ingestPort = TestEnvironment.freePort()
        var environment = Self.tcpIngest(port: ingestPort, server: server, token: token)
        environment["MONQUERY_INGEST_TCP_HANDSHAKE_TIMEOUT_SECONDS"] = "2"
        environment["MONQUERY_INGEST_TCP_MAX_CONNECTIONS"] = "2"
        let monquery = try daemon.start(extra: environment)
        defer { monquery.stop() }

        // Three peers that connect and say nothing: two are served until their time runs out,
        // the third is over the limit. All three are closed by the daemon.
        let first = try await eventually("the TCP listener") { try? IdleTCPPeer(port: ingestPort) }
        let idle = try [first] + (0..<2).map { _ in try IdleTCPPeer(port: ingestPort) }
        for peer in idle {
            #expect(try await offPool { peer.awaitClose(seconds: 30) }, "the daemon kept an idle connection open")
        }
        // The daemon logs each close once it is done with the connection, which may be a moment
        // after the peer saw it closed: wait for the lines rather than read the log once.
        for line in [
            "ingest.tcp_max_connections reached",
            "no TLS handshake and HELLO within ingest.tcp_handshake_timeout_seconds",
        ] {
            _ = try await eventually("monquery logs '\(line)'") { monquery.log.contains(line) ? true : nil }
        }

        // The listener still serves: a real agent's batches are stored.
        let agent = try daemon.startAgent(
            interval: 0.2, host: "remote-host", agentID: "tls-after-idle",
            extra: [
                "MONAGENT_INGEST_ADDRESS": "127.0.0.1:\(ingestPort)", "MONAGENT_INGEST_TOKEN_FILE": tokenFile,
                "MONAGENT_INGEST_TLS_CA_FILE": server.certificate,
            ])
        defer { agent.stop() }
        _ = try await eventually("batches from the agent after the idle peers") {
            try Self.ledgerRows(daemon, agent: "tls-after-idle") >= 3 ? true : nil
        }
        let metrics = try await offPool {
            try curl(["--max-time", "10", "http://127.0.0.1:\(daemon.httpPort)/metrics"])
        }
        let refused = String(decoding: metrics.body, as: UTF8.self).split(separator: "\n").first {
            $0.hasPrefix("mon_query_ingest_refused_connections_total ")
        }
        #expect(refused.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0 >= 3, "\(refused ?? "absent")")
    }
}

/// A TCP client that connects and sends nothing.
final class IdleTCPPeer: Sendable {
    let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw TestFailure("connect(127.0.0.1:\(port)) failed: errno \(errno)")
        }
    }

    deinit { close(descriptor) }

    /// True when the peer closed the connection (or reset it) within `seconds`.
    func awaitClose(seconds: Int) -> Bool {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            let n = recv(descriptor, &buffer, buffer.count, 0)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }
}
