import Foundation
import MonTestSupport
import Testing

@testable import MonCore
@testable import MonQueryKit

private func reports(_ yaml: String, env: [String: String] = [:]) throws -> ReportSettings {
    let file = try TempFile(yaml, name: "monquery.yaml")
    defer { file.remove() }
    return try QueryConfig.load(path: file.path, environment: env).reports
}

/// `2026-03-29T05:00:00Z` as ms since the epoch.
private func ms(_ text: String) -> Int64 {
    Int64(ISO8601DateFormatter().date(from: text)!.timeIntervalSince1970 * 1000)
}

private let paris = TimeZone(identifier: "Europe/Paris")!

/// `reports.*`: when a scheduled report is due (wall-clock times in a zone, across DST
/// changes), and the configuration's mistakes, each naming its key.
@Suite struct ReportScheduleTests {
    @Test("daily 07:00 Europe/Paris stays at 07:00 local across both DST changes of 2026")
    func dailyAcrossDST() throws {
        let daily = try ReportSchedule.parse("07:00", kind: .daily, timeZone: paris).get()
        // Spring forward (29 March): 07:00 CET = 06:00Z, then 07:00 CEST = 05:00Z, 23 h later.
        #expect(daily.next(afterMs: ms("2026-03-28T06:00:00Z")) == ms("2026-03-29T05:00:00Z"))
        #expect(daily.next(afterMs: ms("2026-03-27T06:30:00Z")) == ms("2026-03-28T06:00:00Z"))
        // Fall back (25 October, at 03:00 CEST): 07:00 CEST = 05:00Z on the 24th, then 07:00 CET =
        // 06:00Z on the 25th, 25 h later.
        #expect(daily.next(afterMs: ms("2026-10-24T05:00:00Z")) == ms("2026-10-25T06:00:00Z"))
        #expect(daily.latest(atOrBeforeMs: ms("2026-10-25T05:59:59Z")) == ms("2026-10-24T05:00:00Z"))
        #expect(daily.latest(atOrBeforeMs: ms("2026-10-25T06:00:00Z")) == ms("2026-10-25T06:00:00Z"))
        #expect(daily.dayText(ms: ms("2026-12-05T06:00:00Z")) == "2026-12-05")
    }

    @Test("a time the spring change skips runs after the gap; a repeated one runs once, the first time")
    func skippedAndRepeatedTimes() throws {
        let early = try ReportSchedule.parse("02:30", kind: .daily, timeZone: paris).get()
        // 02:30 does not exist on 29 March: 03:00 CEST (01:00Z).
        #expect(early.next(afterMs: ms("2026-03-29T00:00:00Z")) == ms("2026-03-29T01:00:00Z"))
        // 02:30 happens twice on 25 October: the first (CEST, 00:30Z), then the next day.
        #expect(early.next(afterMs: ms("2026-10-24T23:00:00Z")) == ms("2026-10-25T00:30:00Z"))
        #expect(early.next(afterMs: ms("2026-10-25T00:30:00Z")) == ms("2026-10-26T01:30:00Z"))
    }

    @Test("weekly on another weekday: the next and the latest occurrence")
    func weekly() throws {
        let weekly = try ReportSchedule.parse("Wednesday 18:15", kind: .weekly, timeZone: paris).get()
        #expect(weekly.weekday == 4 && weekly.hour == 18 && weekly.minute == 15)
        // Sunday 6 December 2026 → Wednesday 9 December, 18:15 CET = 17:15Z.
        #expect(weekly.next(afterMs: ms("2026-12-06T06:00:00Z")) == ms("2026-12-09T17:15:00Z"))
        #expect(weekly.latest(atOrBeforeMs: ms("2026-12-06T06:00:00Z")) == ms("2026-12-02T17:15:00Z"))
        // Across the spring change: Wednesday 1 April 2026, 18:15 CEST = 16:15Z.
        #expect(weekly.next(afterMs: ms("2026-03-25T17:15:00Z")) == ms("2026-04-01T16:15:00Z"))
        #expect(weekly.description == "wed 18:15 Europe/Paris")
        let monday = try ReportSchedule.parse("mon 07:00", kind: .weekly, timeZone: TimeZone(identifier: "UTC")!).get()
        #expect(monday.latest(atOrBeforeMs: ms("2026-12-07T07:00:00Z")) == ms("2026-12-07T07:00:00Z"))
    }

    @Test("the retry waits: one per listed delay, then given up")
    func retryDelays() {
        #expect(ReportScheduler.retryDelay(afterAttempt: 1, retrySeconds: [60, 300, 1800]) == 60)
        #expect(ReportScheduler.retryDelay(afterAttempt: 3, retrySeconds: [60, 300, 1800]) == 1800)
        #expect(ReportScheduler.retryDelay(afterAttempt: 4, retrySeconds: [60, 300, 1800]) == nil)
        #expect(ReportScheduler.retryDelay(afterAttempt: 1, retrySeconds: []) == nil)
    }

    @Test("a full section loads; absent schedules are off")
    func fullSection() throws {
        let passwordFile = try TempFile("s3cret-pass\n", name: "smtp-password")
        defer { passwordFile.remove() }
        let settings = try reports(
            """
            reports:
              daily: "07:00"
              weekly: "mon 07:30"
              timezone: Europe/Paris
              host: web-1
              recipients: [ops@example.com, "on-call.team@mail.example.org"]
              smtp:
                url: smtp://127.0.0.1:2525
                username: monquery
                password_file: \(passwordFile.path)
                from: monquery@example.com
                retry_seconds: [1, 2]
            """)
        #expect(settings.daily?.hour == 7 && settings.weekly?.weekday == 2 && settings.weekly?.minute == 30)
        #expect(settings.timeZone.identifier == "Europe/Paris" && settings.host == "web-1")
        #expect(settings.recipients.map(\.text) == ["ops@example.com", "on-call.team@mail.example.org"])
        #expect(settings.smtp?.password == "s3cret-pass" && settings.smtp?.startTLS == .required)
        #expect(settings.smtp?.retrySeconds == [1, 2] && settings.smtp?.timeoutSeconds == 60)
        #expect(settings.mails && settings.retentionDays == 90)
        let off = try reports("")
        #expect(off.schedules.isEmpty && !off.mails && off.timeZone.secondsFromGMT() == 0)
    }

    @Test(
        "each mistake is refused with its key named",
        arguments: [
            ("reports:\n  daily: \"7:00\"\n", "reports.daily", "HH:MM"),
            ("reports:\n  daily: \"24:00\"\n", "reports.daily", "HH:MM"),
            ("reports:\n  daily: \"mon 07:00\"\n", "reports.daily", "HH:MM, like 07:00"),
            ("reports:\n  weekly: \"07:00\"\n", "reports.weekly", "a weekday"),
            ("reports:\n  weekly: \"funday 07:00\"\n", "reports.weekly", "not a weekday"),
            ("reports:\n  weekly: \"mo 07:00\"\n", "reports.weekly", "not a weekday"),
            ("reports:\n  timezone: Mars/Olympus\n", "reports.timezone", "IANA"),
            ("reports:\n  recipients: [\"not-an-address\"]\n", "reports.recipients", "exactly one '@'"),
            ("reports:\n  recipients: [\"<ops@example.com>\"]\n", "reports.recipients", "plain address"),
            ("reports:\n  recipients: [\"a@b.example\"]\n", "reports.recipients", "reports.smtp.url"),
            ("reports:\n  host: \"web 1\"\n", "reports.host", "not a host name"),
            (
                "reports:\n  recipients: [a@b.example]\n  smtp:\n    url: http://mail:25\n    from: m@b.example\n",
                "reports.smtp.url", "smtp://",
            ),
            (
                "reports:\n  recipients: [a@b.example]\n  smtp:\n    url: smtp://mail:25\n",
                "reports.smtp.from", "required",
            ),
            (
                "reports:\n  recipients: [a@b.example]\n  smtp:\n    url: smtp://mail:99999\n    from: m@b.example\n",
                "reports.smtp.url", "port",
            ),
            (
                "reports:\n  recipients: [a@b.example]\n  smtp:\n    url: smtp://mail:25/x\n    from: m@b.example\n",
                "reports.smtp.url", "without a path",
            ),
            (
                "reports:\n  recipients: [a@b.example]\n  smtp:\n    url: smtp://mail:25\n    from: m@b.example\n    username: u\n",
                "reports.smtp.password_file", "required",
            ),
            (
                "reports:\n  recipients: [a@b.example]\n  smtp:\n    url: smtp://mail:25\n    from: m@b.example\n    starttls: maybe\n",
                "reports.smtp.starttls", "required, opportunistic, off",
            ),
            (
                "reports:\n  recipients: [a@b.example]\n  smtp:\n    url: smtp://mail:25\n    from: m@b.example\n    retry_seconds: [0]\n",
                "reports.smtp.retry_seconds", "1 to 86400",
            ),
            ("reports:\n  smtp:\n    url: smtp://mail:25\n    from: m@b.example\n", "reports.smtp.url", "recipients"),
            ("reports:\n  retention_days: 0\n", "reports.retention_days", "out of range"),
            ("reports:\n  dayly: \"07:00\"\n", "reports.dayly", "unknown key"),
        ])
    func refused(yaml: String, key: String, words: String) throws {
        let error = #expect(throws: ConfigError.self) { try reports(yaml) }
        #expect(error?.key == key)
        #expect(error?.message.contains(words) == true, "\(error?.message ?? "")")
    }

    @Test("hostile: CR/LF in a recipient or the sender (header injection) is refused at the configuration")
    func headerInjection() throws {
        for yaml in [
            "reports:\n  recipients: [\"ops@example.com\\r\\nBcc: victim@example.org\"]\n",
            "reports:\n  recipients: [\"ops@example.com\\nSubject: x\"]\n",
        ] {
            let error = #expect(throws: ConfigError.self) { try reports(yaml) }
            #expect(error?.key == "reports.recipients")
            #expect(error?.message.contains("header injection") == true)
            // The refused value is quoted with its control characters visible, never raw.
            #expect(error?.message.contains("\r") == false && error?.message.contains("\n") == false)
        }
        let fromEnv = #expect(throws: ConfigError.self) {
            try reports(
                "reports:\n  recipients: [a@b.example]\n  smtp:\n    url: smtp://mail:25\n",
                env: ["MONQUERY_REPORTS_SMTP_FROM": "m@b.example\r\nBcc: x@y.example"])
        }
        #expect(fromEnv?.key == "reports.smtp.from")
    }

    @Test("hostile: a password in the URL or AUTH over a clear connection is refused, without the password")
    func secretsInConfig() throws {
        let passwordFile = try TempFile("hunter2-secret", name: "smtp-password")
        defer { passwordFile.remove() }
        let inURL = #expect(throws: ConfigError.self) {
            try reports(
                "reports:\n  recipients: [a@b.example]\n  smtp:\n    url: smtp://u:hunter2-secret@mail:587\n    from: m@b.example\n"
            )
        }
        #expect(inURL?.key == "reports.smtp.url")
        #expect(inURL?.description.contains("hunter2-secret") == false)
        let clear = #expect(throws: ConfigError.self) {
            try reports(
                """
                reports:
                  recipients: [a@b.example]
                  smtp:
                    url: smtp://mail:25
                    from: m@b.example
                    starttls: opportunistic
                    username: u
                    password_file: \(passwordFile.path)
                """)
        }
        #expect(clear?.key == "reports.smtp.starttls")
        #expect(clear?.description.contains("hunter2-secret") == false)
        // smtps:// is TLS from the start: AUTH is fine whatever starttls says.
        let tls = try reports(
            """
            reports:
              recipients: [a@b.example]
              smtp:
                url: smtps://mail:465
                from: m@b.example
                starttls: off
                username: u
                password_file: \(passwordFile.path)
            """)
        #expect(tls.smtp?.username == "u")
    }
}
