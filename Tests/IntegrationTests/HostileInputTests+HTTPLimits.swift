import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// The HTTP server's limits against a running daemon (issue 18): connection and stream
/// floods are capped with 503 + `Retry-After` and counted while the daemon keeps serving and
/// stays under its unit's `MemoryMax`; idle and trickling connections are closed; oversized
/// request lines, headers and bodies are refused; the session cookie is `Secure` over HTTPS.
extension HostileInputTests {
    /// `MemoryMax` of deploy/systemd/monquery.service, in bytes.
    static func unitMemoryMax() throws -> Int {
        let unit = try String(contentsOfFile: "deploy/systemd/monquery.service", encoding: .utf8)
        let line = try #require(unit.split(separator: "\n").first { $0.hasPrefix("MemoryMax=") })
        let value = line.dropFirst("MemoryMax=".count)
        let number = try #require(Int(value.dropLast()))
        #expect(value.hasSuffix("M"))
        return number << 20
    }

    /// VmRSS of a process, in bytes.
    static func residentBytes(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        let kilobytes = try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
        return kilobytes * 1024
    }

    static func metrics(_ daemon: Daemon) async throws -> String {
        try await fetch(daemon, "/metrics", token: daemon.tokens?.admin).body
    }

    @Test("300 connections at once, cap 100: 100 served, 200 refused with 503 + Retry-After, counted; RSS bounded")
    func connectionFlood() async throws {
        let daemon = try Daemon.make(authenticated: true)
        let admin = try #require(daemon.tokens?.admin)
        let monquery = try daemon.start(extra: [
            "MONQUERY_HTTP_MAX_CONNECTIONS": "100", "MONQUERY_HTTP_IDLE_TIMEOUT_SECONDS": "300",
        ])
        defer { monquery.stop() }
        _ = try await eventually("the daemon answers") { try? await Self.fetch(daemon, "/health") }
        let port = daemon.httpPort
        let outcome = try await offPool { () -> (kept: [RawHTTP], statuses: [Int], retryAfter: Int) in
            // 100 keep-alive clients take every slot and keep it.
            let kept = try (0..<100).map { _ in try RawHTTP(port: port) }
            for connection in kept { #expect(try connection.request(Array("/health".utf8)).status == 200) }
            // 200 more at once: the first 100 are accepted and refused, the rest wait in the
            // backlog and are refused as slots of the refused ones free up.
            let flood = try (0..<200).map { _ in try RawHTTP(port: port) }
            var statuses: [Int] = []
            var retryAfter = 0
            for connection in flood {
                let response = try connection.request(Array("/health".utf8))
                statuses.append(response.status)
                if response.headers["retry-after"] != nil && response.headers["connection"] == "close" {
                    retryAfter += 1
                }
                #expect(connection.waitForClose(), "a refused connection is closed")
            }
            return (kept, statuses, retryAfter)
        }
        #expect(outcome.statuses.filter { $0 == 503 }.count == 200, "\(outcome.statuses)")
        #expect(outcome.retryAfter == 200)
        // Those already in keep serving during the flood.
        let served = try await offPool { try outcome.kept[0].request(Array("/health".utf8)).status }
        #expect(served == 200)
        #expect(try Self.residentBytes(monquery.pid) < Self.unitMemoryMax())
        let before = try await offPool { () -> String in
            try outcome.kept[1].request(
                Array("/metrics".utf8), headers: [("Authorization", "Bearer \(admin)")], close: true
            ).body
        }
        #expect(Self.sample(before, "mon_query_http_refused_total{reason=\"max_connections\"}") == 200)
        #expect(Self.sample(before, "mon_query_http_connections") ?? 0 <= 101)
        // Once the holders leave, newcomers are served again.
        for connection in outcome.kept { connection.hangUp() }
        _ = try await eventually("served again") { () -> Bool? in
            (try? await Self.fetch(daemon, "/health"))?.status == 200 ? true : nil
        }
        #expect(monquery.isRunning)
    }

    @Test("1 000 SSE subscribers, cap 50: 950 refused with 503 + Retry-After, counted; RSS bounded; slots come back")
    func streamSubscriberFlood() async throws {
        let daemon = try Daemon.make(authenticated: true)
        let admin = try #require(daemon.tokens?.admin)
        let monquery = try daemon.start(extra: [
            "MONQUERY_HTTP_MAX_STREAM_SUBSCRIBERS": "50", "MONQUERY_HTTP_MAX_CONNECTIONS": "2000",
            "MONQUERY_LOGS_STREAM_KEEPALIVE_SECONDS": "0.5",
        ])
        defer { monquery.stop() }
        _ = try await eventually("the daemon answers") { try? await Self.fetch(daemon, "/health") }
        let port = daemon.httpPort
        let (streams, statuses) = try await offPool { () -> ([RawHTTP], [Int]) in
            var streams: [RawHTTP] = []
            var statuses: [Int] = []
            for index in 0..<1000 {
                let connection = try RawHTTP(port: port)
                let path = index % 2 == 0 ? "/api/monitoring/logs/stream" : "/ui/monitoring/logs/stream"
                let response = try connection.request(
                    Array(path.utf8), headers: [("Authorization", "Bearer \(admin)")])
                statuses.append(response.status)
                if response.status == 200 {
                    #expect(response.headers["content-type"]?.hasPrefix("text/event-stream") == true)
                    streams.append(connection)
                } else {
                    #expect(response.status == 503 && response.headers["retry-after"] == "5")
                    #expect(response.body.contains("\"too_many_streams\""))
                }
            }
            return (streams, statuses)
        }
        #expect(streams.count == 50 && statuses.filter { $0 == 503 }.count == 950)
        #expect(try Self.residentBytes(monquery.pid) < Self.unitMemoryMax())
        // The daemon keeps serving everything else.
        #expect(try await Self.fetch(daemon, "/api/monitoring/system/cpu", token: admin).status == 200)
        let during = try await Self.metrics(daemon)
        #expect(Self.sample(during, "mon_query_http_stream_subscribers") == 50)
        #expect(Self.sample(during, "mon_query_http_refused_total{reason=\"max_stream_subscribers\"}") == 950)
        // Subscribers that leave give their slot back (at the latest by the next keepalive).
        for stream in streams { stream.hangUp() }
        _ = try await eventually("slots released") { () -> Bool? in
            Self.sample(try await Self.metrics(daemon), "mon_query_http_stream_subscribers") == 0 ? true : nil
        }
        let again = try await offPool {
            try RawHTTP(port: port).request(
                Array("/api/monitoring/logs/stream".utf8), headers: [("Authorization", "Bearer \(admin)")])
        }
        #expect(again.status == 200)
    }

    @Test("idle keep-alive connections and trickled request heads are closed; streams are not; counted")
    func idleTimeout() async throws {
        let daemon = try Daemon.make(authenticated: true)
        let admin = try #require(daemon.tokens?.admin)
        let monquery = try daemon.start(extra: [
            "MONQUERY_HTTP_IDLE_TIMEOUT_SECONDS": "1", "MONQUERY_LOGS_STREAM_KEEPALIVE_SECONDS": "0.3",
        ])
        defer { monquery.stop() }
        _ = try await eventually("the daemon answers") { try? await Self.fetch(daemon, "/health") }
        let port = daemon.httpPort
        try await offPool {
            // Connected, nothing sent.
            #expect(try RawHTTP(port: port).waitForClose())
            // One request, then silence on the kept-alive connection.
            let keepAlive = try RawHTTP(port: port)
            #expect(try keepAlive.request(Array("/health".utf8)).status == 200)
            #expect(keepAlive.waitForClose())
            // A head sent a byte at a time, forever (slowloris): closed before it completes.
            let trickle = try RawHTTP(port: port, timeout: 0.25)
            try trickle.send("GET /health HTTP/1.1\r\nHost: x\r\n")
            var closed = false
            for index in 0..<200 {
                if (try? trickle.send("X-\(index): y\r\n")) == nil { closed = true }
                if let bytes = trickle.read(), bytes.isEmpty { closed = true }
                if closed { break }
            }
            #expect(closed, "a trickled head is cut off")
            // A login form whose body comes a byte at a time: cut off too, unanswered.
            let drip = try RawHTTP(port: port, timeout: 0.25)
            try drip.send(
                "POST /ui/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\n"
            )
            var dripClosed = false
            var answered = false
            for _ in 0..<200 {
                if (try? drip.send("a")) == nil { dripClosed = true }
                if let bytes = drip.read() {
                    answered = answered || bytes.starts(with: Array("HTTP/1.1".utf8))
                    if bytes.isEmpty { dripClosed = true }
                }
                if dripClosed { break }
            }
            #expect(dripClosed && !answered, "a trickled body is cut off")
            // A live stream is not idle: it still receives keepalives well past the timeout.
            let stream = try RawHTTP(port: port, timeout: 10)
            #expect(
                try stream.request(
                    Array("/api/monitoring/logs/stream".utf8), headers: [("Authorization", "Bearer \(admin)")]
                ).status == 200)
            Thread.sleep(forTimeInterval: 2.5)
            let more = stream.read { String(decoding: $0, as: UTF8.self).contains(": keepalive") }
            #expect(more.map { String(decoding: $0, as: UTF8.self).contains(": keepalive") } == true)
        }
        let metrics = try await Self.metrics(daemon)
        #expect(Self.sample(metrics, "mon_query_http_idle_closed_total") ?? 0 >= 4)
    }

    @Test("oversized request line, headers and bodies: 414, 431, 413 or closed; counted; still serving")
    func oversizedRequests() async throws {
        let daemon = try Daemon.make(authenticated: true)
        let monquery = try daemon.start()
        defer { monquery.stop() }
        _ = try await eventually("the daemon answers") { try? await Self.fetch(daemon, "/health") }
        let port = daemon.httpPort
        try await offPool {
            let header = try RawHTTP.fetch(
                port: port, "/health", headers: [("X-Big", String(repeating: "a", count: 20_000))])
            #expect(header.status == 431 && header.body.contains("http.max_header_bytes"))
            let fields = try RawHTTP.fetch(port: port, "/health", headers: (0..<200).map { ("X-F\($0)", "1") })
            #expect(fields.status == 431)
            let longTarget = try RawHTTP.fetch(port: port, "/health?" + String(repeating: "a", count: 10_000))
            #expect(longTarget.status == 414 && longTarget.body.contains("\"target_too_long\""))
            let hugeTarget = try RawHTTP.fetch(port: port, "/health?" + String(repeating: "a", count: 100_000))
            #expect(hugeTarget.status == 431)
            // A declared body over http.max_body_bytes, refused before it is sent.
            let declared = try RawHTTP(port: port)
            try declared.send(
                "POST /ui/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000\r\n\r\n"
            )
            let refused = try declared.readResponse()
            #expect(refused.status == 413 && refused.body.contains("http.max_body_bytes"))
            // A chunked body that grows past the cap (after /health answered): the connection is closed.
            let chunked = try RawHTTP(port: port)
            try chunked.send("GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            var cut = false
            for _ in 0..<40 {
                let chunk = String(repeating: "z", count: 8192)
                if (try? chunked.send("2000\r\n" + chunk + "\r\n")) == nil {
                    cut = true
                    break
                }
            }
            #expect(cut || chunked.waitForClose(), "the body was cut off")
        }
        #expect(try await Self.fetch(daemon, "/health").status == 200)
        let metrics = try await Self.metrics(daemon)
        #expect(Self.sample(metrics, "mon_query_http_refused_total{reason=\"header_too_large\"}") == 3)
        #expect(Self.sample(metrics, "mon_query_http_refused_total{reason=\"target_too_long\"}") == 1)
        #expect(Self.sample(metrics, "mon_query_http_refused_total{reason=\"body_too_large\"}") == 2)
    }

    @Test("over HTTPS (http.tls) the session cookie is Secure without ui.secure_cookie")
    func secureCookieOverTLS() async throws {
        let daemon = try Daemon.make(authenticated: true)
        let admin = try #require(daemon.tokens?.admin)
        let certificate = try await IngestTLSTests.Certificate.make(in: daemon.directory, name: "http")
        let monquery = try daemon.start(extra: [
            "MONQUERY_HTTP_TLS_CERTIFICATE_FILE": certificate.certificate,
            "MONQUERY_HTTP_TLS_KEY_FILE": certificate.key,
        ])
        defer { monquery.stop() }
        let base = "https://127.0.0.1:\(daemon.httpPort)"
        let response = try await eventually("the HTTPS login answers") { () -> [String: String]? in
            let headers = try await offPool {
                try curl([
                    "--cacert", certificate.certificate, "-X", "POST", "--data-urlencode", "token=\(admin)",
                    "\(base)/ui/login",
                ]).headers
            }
            return headers[":status"] == "303" ? headers : nil
        }
        let cookie = try #require(response["set-cookie"])
        #expect(cookie.hasPrefix("monquery_session=") && cookie.hasSuffix("; Secure"), "\(cookie)")
    }
}
