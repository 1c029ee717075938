import Foundation
import MonCore
import MonQueryKit
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Scheduled reports (`reports.*`): made by the daemon's scheduler over a planted day, stored
/// in `reports`, listed and downloaded from the admin API, and mailed through a real SMTP
/// server (aiosmtpd, STARTTLS and AUTH); retried while the server is down; a hanging server
/// and a refused AUTH are visible on `/health/detailed` without the password.
@Suite(
    .enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"),
    .enabled(if: SMTPServer.python != nil, "needs scripts/test (MON_TEST_REALAPP_PYTHON with aiosmtpd)"))
struct ReportMailTests {
    static let password = "smtp-Pa55-\(UInt32.random(in: 0...UInt32.max))"
    static let recipients = ["ops@example.com", "oncall@example.org"]

    /// The daemon's `reports.*` variables for `server`'s port; the password in a file.
    static func environment(
        directory: String, port: Int, certificate: String, daily: String, retry: String = "2,2,2,2,2,2,2,2,2,2",
        timeout: Int = 20, host: String? = nil
    ) throws -> [String: String] {
        let passwordFile = "\(directory)/smtp-password"
        try (password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
        var environment = [
            "MONQUERY_REPORTS_DAILY": daily,
            "MONQUERY_REPORTS_TIMEZONE": "Europe/Paris",
            "MONQUERY_REPORTS_RECIPIENTS": recipients.joined(separator: ","),
            "MONQUERY_REPORTS_SMTP_URL": "smtp://127.0.0.1:\(port)",
            "MONQUERY_REPORTS_SMTP_USERNAME": "monquery",
            "MONQUERY_REPORTS_SMTP_PASSWORD_FILE": passwordFile,
            "MONQUERY_REPORTS_SMTP_FROM": "monquery@example.com",
            "MONQUERY_REPORTS_SMTP_CA_FILE": certificate,
            "MONQUERY_REPORTS_SMTP_TIMEOUT_SECONDS": "\(timeout)",
            "MONQUERY_REPORTS_SMTP_RETRY_SECONDS": retry,
        ]
        if let host { environment["MONQUERY_REPORTS_HOST"] = host }
        return environment
    }

    /// `HH:MM` in Europe/Paris at least `seconds` from now (the next whole minute after).
    static func parisTime(inAtLeast seconds: Int64) -> (text: String, ms: Int64) {
        let target = (WallClock.nowMs() + seconds * 1000 + 59_999) / 60_000 * 60_000
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Paris")!
        let parts = calendar.dateComponents([.hour, .minute], from: Date(timeIntervalSince1970: Double(target) / 1000))
        return (String(format: "%02d:%02d", parts.hour ?? 0, parts.minute ?? 0), target)
    }

    /// GET with the bytes of the answer and its headers (lower-case names).
    static func fetch(_ daemon: Daemon, _ path: String, token: String?) async throws -> (
        status: Int, body: Data, headers: [String: String]
    ) {
        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(daemon.httpPort)\(path)")))
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        var headers: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] {
            headers["\(name)".lowercased()] = "\(value)"
        }
        return (http?.statusCode ?? 0, data, headers)
    }

    /// `checks.reports` of `/health/detailed` (admin).
    static func reportsHealth(_ daemon: Daemon) async throws -> [String: Any]? {
        let (_, json) = try await daemon.get("/health/detailed")
        return ((json as? [String: Any])?["checks"] as? [String: Any])?["reports"] as? [String: Any]
    }

    @Test(
        "scheduled: the missed report at start and the one due a minute later, each stored once and mailed once over STARTTLS with AUTH; the API lists and serves them"
    )
    func scheduledAndMailed() async throws {
        let daemon = try Daemon.make(authenticated: true)
        let tokens = try #require(daemon.tokens)
        let now = WallClock.nowMs()
        try await ReportTests.plantDay(daemon, host: "mail-1", nowMs: now)
        let smtp = try await SMTPServer.start(directory: daemon.directory, password: Self.password)
        defer { smtp.process.stop() }
        let due = Self.parisTime(inAtLeast: 50)
        let environment = try Self.environment(
            directory: daemon.directory, port: smtp.port, certificate: smtp.certificate, daily: due.text,
            host: "mail-1")
        var monquery = try daemon.start(extra: environment)
        defer { monquery.stop() }

        // The report missed yesterday at that time (no daemon ran) is made at start …
        let missedEnd = due.ms - 86_400_000
        let sql = "SELECT count(*) FROM reports WHERE kind = 'daily' AND period_end = to_timestamp($1::bigint / 1000)"
        _ = try await eventually("the missed report of yesterday", seconds: 120) {
            try daemon.scalar(sql, [String(missedEnd)]) == 1 ? true : nil
        }
        // … and the one due at `due` when its minute comes.
        _ = try await eventually("the report due at \(due.text) Europe/Paris", seconds: 180) {
            try daemon.scalar(sql, [String(due.ms)]) == 1 ? true : nil
        }
        _ = try await eventually("both reports mailed", seconds: 120) {
            try daemon.scalar("SELECT count(*) FROM reports WHERE mail_status = 'sent'") == 2 ? true : nil
        }
        #expect(try daemon.scalar("SELECT count(*) FROM reports") == 2)
        #expect(try daemon.scalar("SELECT max(mail_attempts) FROM reports") == 1)

        // Exactly one message per report, to both recipients, over STARTTLS, after AUTH.
        let messages = try smtp.messages()
        #expect(messages.count == 2, "\(messages.count) messages")
        let subjects = try daemon.column("SELECT mail_subject FROM reports ORDER BY period_end").compactMap { $0 }
        #expect(
            subjects.count == 2
                && subjects.allSatisfy { $0.hasPrefix("MnemoLite daily report ") && $0.hasSuffix(" (mail-1)") })
        let dueID = try daemon.scalar(
            "SELECT id FROM reports WHERE period_end = to_timestamp($1::bigint / 1000)", [String(due.ms)])
        for message in messages {
            #expect(message["mail_from"] as? String == "monquery@example.com")
            #expect(message["rcpt_tos"] as? [String] == Self.recipients)
            #expect(message["tls"] as? Bool == true, "STARTTLS used")
            #expect(message["authenticated"] as? Bool == true && message["auth_login"] as? String == "monquery")
            #expect((message["max_line_bytes"] as? Int ?? 9999) <= 998)
            let subject = try #require(SMTPServer.header(message, "Subject"))
            #expect(subjects.contains(subject), "subject '\(subject)'")
            #expect(SMTPServer.header(message, "To") == Self.recipients.joined(separator: ", "))
            let parts = message["parts"] as? [String] ?? []
            #expect(
                parts == ["multipart/mixed", "multipart/alternative", "text/plain", "text/html", "application/pdf"])
            #expect((message["text"] as? String)?.contains("Alerts fired: ") == true)
            #expect((message["html"] as? String)?.contains("<b>Alerts fired:</b>") == true)
        }
        print(
            "received message headers:\n"
                + ((messages.last?["headers"] as? [[String]]) ?? []).map { $0.joined(separator: ": ") }.joined(
                    separator: "\n"))

        // The attachment is the stored PDF, byte for byte, and pdftotext finds its period and host.
        let latest = try #require(messages.first { SMTPServer.header($0, "Subject") == subjects.last })
        // The planted regression heads the digest of the period that has it (the missed report's
        // previous period has no data to compare with).
        let digest = latest["text"] as? String ?? ""
        #expect(digest.contains("Top regression: Endpoint P95 GET \(ReportTests.searchEndpoint)"), "\(digest)")
        #expect(digest.contains("Alerts fired: 2"), "\(digest)")
        let attachment = try #require((latest["attachments"] as? [[String: Any]])?.first)
        #expect(attachment["content_type"] as? String == "application/pdf")
        let attachmentPath = try #require(attachment["path"] as? String)
        let attached = try Data(contentsOf: URL(fileURLWithPath: attachmentPath))
        #expect(attached.starts(with: Array("%PDF-".utf8)))
        let stored = try #require(
            try daemon.column("SELECT encode(pdf, 'hex') FROM reports WHERE id = $1", [String(dueID)]).first ?? nil)
        #expect(attached.map { String(format: "%02x", $0) }.joined() == stored)
        let (textStatus, text) = try await runProgram(
            try ReportTests.tool("pdftotext"), ["-layout", "-l", "1", attachmentPath, "-"])
        #expect(textStatus == 0)
        #expect(text.contains("Host: mail-1") && text.contains("Period: last 24h"), "\(text.prefix(600))")
        print("pdftotext of page 1 (first lines):\n" + text.split(separator: "\n").prefix(12).joined(separator: "\n"))

        // The API: the list (admin) without PDF bytes; the download, byte-identical to the row.
        let (listStatus, listJSON) = try await daemon.get("/api/monitoring/reports?limit=10")
        #expect(listStatus == 200)
        let list = try #require(listJSON as? [String: Any])
        let rows = try #require(list["reports"] as? [[String: Any]])
        #expect(rows.count == 2 && (rows.first?["id"] as? Int).map(Int64.init) == dueID)
        #expect(rows.first?["pdf"] == nil && (rows.first?["mail"] as? [String: Any])?["status"] as? String == "sent")
        #expect(rows.first?["host"] as? String == "mail-1" && rows.first?["kind"] as? String == "daily")
        #expect((list["schedules"] as? [[String: Any]])?.first?["at"] as? String == "\(due.text) Europe/Paris")
        let download = try await Self.fetch(daemon, "/api/monitoring/reports/\(dueID).pdf", token: tokens.admin)
        #expect(download.status == 200)
        #expect(download.headers["content-type"] == "application/pdf")
        #expect(download.headers["content-disposition"]?.hasPrefix("attachment; filename=\"report-daily-") == true)
        #expect(download.body == attached)
        // Admin only, like the other admin routes.
        #expect(try await Self.fetch(daemon, "/api/monitoring/reports", token: tokens.viewer).status == 403)
        #expect(
            try await Self.fetch(daemon, "/api/monitoring/reports/\(dueID).pdf", token: tokens.viewer).status == 403)
        #expect(try await Self.fetch(daemon, "/api/monitoring/reports/\(dueID).pdf", token: nil).status == 401)
        // Bad ids and limits (hostile pass): 400 naming the parameter, 404 for an unknown id.
        for (path, status) in [
            ("/api/monitoring/reports/abc.pdf", 400), ("/api/monitoring/reports/-1.pdf", 400),
            ("/api/monitoring/reports/0.pdf", 400), ("/api/monitoring/reports/99999999999999999999.pdf", 400),
            ("/api/monitoring/reports/1e3.pdf", 400), ("/api/monitoring/reports/424242.pdf", 404),
            ("/api/monitoring/reports/\(dueID)", 404), ("/api/monitoring/reports?limit=0", 400),
            ("/api/monitoring/reports?limit=100000000000000000000", 400), ("/api/monitoring/reports?limit=1001", 400),
        ] {
            let answer = try await Self.fetch(daemon, path, token: tokens.admin)
            #expect(
                answer.status == status, "\(path): \(answer.status) \(String(decoding: answer.body, as: UTF8.self))")
        }
        // A dot segment never reaches the route (the request target is refused as sent).
        let dotted = try await offPool { [port = daemon.httpPort, token = tokens.admin] in
            try RawHTTP(port: port).request(
                Array("/api/monitoring/reports/1.pdf/../x".utf8), headers: [("Authorization", "Bearer \(token)")],
                close: true)
        }
        #expect(dotted.status == 400, "\(dotted.body)")

        // A restart makes no second row and no second message.
        monquery.stop()
        monquery = try daemon.start(extra: environment, log: "monquery-2.log")
        _ = try await eventually("the restarted daemon's scheduler to run", seconds: 120) {
            let health = try await Self.reportsHealth(daemon)
            return ((health?["schedules"] as? [[String: Any]])?.first?["next"] as? String) != nil ? true : nil
        }
        try await Task.sleep(for: .seconds(5))
        #expect(try daemon.scalar("SELECT count(*) FROM reports") == 2)
        #expect(try smtp.messages().count == 2)
    }

    @Test("SMTP down, then up: the failure is on /health/detailed (no password), the retry delivers it")
    func downThenUp() async throws {
        let daemon = try Daemon.make()
        let port = TestEnvironment.freePort()
        let (certificate, _) = try await SMTPServer.makeCertificate(in: daemon.directory)
        let environment = try Self.environment(
            directory: daemon.directory, port: port, certificate: certificate, daily: "07:00")
        let monquery = try daemon.start(extra: environment)
        defer { monquery.stop() }
        let failing = try await eventually("the delivery failure on /health/detailed", seconds: 120) {
            () -> [String: Any]? in
            let health = try await Self.reportsHealth(daemon)
            let mail = health?["mail"] as? [String: Any]
            return mail?["last_error"] is String && (mail?["pending"] as? Int ?? 0) == 1 ? health : nil
        }
        #expect(failing["status"] as? String == "degraded")
        let mail = try #require(failing["mail"] as? [String: Any])
        let error = try #require(mail["last_error"] as? String)
        #expect(error.contains("127.0.0.1:\(port)") && error.lowercased().contains("connect"), "\(error)")
        #expect(!error.contains(Self.password))
        #expect(try daemon.scalar("SELECT mail_attempts FROM reports") >= 1)
        #expect(try daemon.column("SELECT mail_status FROM reports") == ["pending"])

        let smtp = try await SMTPServer.start(directory: daemon.directory, port: port, password: Self.password)
        defer { smtp.process.stop() }
        _ = try await eventually("the retried delivery", seconds: 120) {
            try daemon.column("SELECT mail_status FROM reports") == ["sent"] ? true : nil
        }
        #expect(try smtp.messages().count == 1)
        #expect(try daemon.scalar("SELECT mail_attempts FROM reports") >= 2)
        let healed = try await eventually("a healthy reports check", seconds: 60) { () -> [String: Any]? in
            let health = try await Self.reportsHealth(daemon)
            return health?["status"] as? String == "healthy" ? health : nil
        }
        #expect((healed["mail"] as? [String: Any])?["last_success"] is String)
        #expect(!monquery.log.contains(Self.password))
    }

    @Test("hostile: a server that hangs times out and is given up; a refused AUTH is named; no password anywhere")
    func hangingAndRefusingServers() async throws {
        // A server that accepts and never speaks: each attempt ends at timeout_seconds.
        let hanging = try Daemon.make(authenticated: true)
        let hangDirectory = try TestEnvironment.makeDirectory("smtp-hang")
        let hangServer = try await SMTPServer.start(directory: hangDirectory, hang: true)
        defer { hangServer.process.stop() }
        let hangEnvironment = try Self.environment(
            directory: hanging.directory, port: hangServer.port,
            certificate: try await SMTPServer.makeCertificate(in: hangDirectory).0,
            daily: "07:00", retry: "1", timeout: 2)
        let hangDaemon = try hanging.start(extra: hangEnvironment)
        defer { hangDaemon.stop() }

        // A server that refuses every AUTH.
        let refusing = try Daemon.make(authenticated: true)
        let refuseServer = try await SMTPServer.start(
            directory: refusing.directory, password: Self.password, refuseAuth: true)
        defer { refuseServer.process.stop() }
        let refuseDaemon = try refusing.start(
            extra: try Self.environment(
                directory: refusing.directory, port: refuseServer.port, certificate: refuseServer.certificate,
                daily: "07:00", retry: "1"))
        defer { refuseDaemon.stop() }

        _ = try await eventually("the hanging server's delivery given up", seconds: 180) {
            try hanging.column("SELECT mail_status FROM reports") == ["failed"] ? true : nil
        }
        #expect(try hanging.scalar("SELECT mail_attempts FROM reports") == 2)
        let hangError = try #require(try hanging.column("SELECT mail_error FROM reports").first ?? nil)
        #expect(hangError.contains("Timeout"), "\(hangError)")
        #expect(hangServer.heldConnections >= 2)
        let hangHealth = try await Self.reportsHealth(hanging)
        #expect(hangHealth?["status"] as? String == "degraded")
        #expect(((hangHealth?["mail"] as? [String: Any])?["given_up"] as? Int) == 1)

        _ = try await eventually("the refused AUTH given up", seconds: 180) {
            try refusing.column("SELECT mail_status FROM reports") == ["failed"] ? true : nil
        }
        let refuseError = try #require(try refusing.column("SELECT mail_error FROM reports").first ?? nil)
        #expect(refuseError.contains("Login denied"), "\(refuseError)")
        #expect(refuseServer.authFailures >= 2)
        #expect(try refuseServer.messages().isEmpty)
        // The password is in no answer, no row and no log line.
        let (_, healthJSON) = try await refusing.get("/health/detailed")
        let health = String(decoding: try JSONSerialization.data(withJSONObject: healthJSON), as: UTF8.self)
        #expect(health.contains("Login denied") && !health.contains(Self.password))
        let (_, listJSON) = try await refusing.get("/api/monitoring/reports")
        let list = String(decoding: try JSONSerialization.data(withJSONObject: listJSON), as: UTF8.self)
        #expect(list.contains("Login denied") && !list.contains(Self.password))
        #expect(
            try refusing.scalar("SELECT count(*) FROM reports WHERE mail_error LIKE '%' || $1 || '%'", [Self.password])
                == 0)
        #expect(!refuseDaemon.log.contains(Self.password) && !hangDaemon.log.contains(Self.password))
        // Without a token, /health/detailed shows the check's status only.
        let (_, redacted) = try await refusing.get("/health/detailed", token: "")
        let redactedText = String(decoding: try JSONSerialization.data(withJSONObject: redacted), as: UTF8.self)
        #expect(!redactedText.contains("Login denied"))
    }
}
