import Foundation
import MonCore

/// `reports.*` of monquery.yaml: the scheduled PDF reports (`ReportScheduler`), kept in the
/// `reports` table and mailed as a digest. Both schedules are optional: without one, no
/// report is made on its own (`monquery report` still writes one to a file).
public struct ReportSettings: Sendable, Equatable {
    /// `reports.daily` — `HH:MM`: the last 24 h, every day at that time (default: off).
    public var daily: ReportSchedule?
    /// `reports.weekly` — `mon 07:00`: the last 7 days, every week then (default: off).
    public var weekly: ReportSchedule?
    /// `reports.timezone` — the IANA zone of both times (default `UTC`), `Europe/Paris`.
    public var timeZone: TimeZone
    /// `reports.host` — one host's report (default: all hosts).
    public var host: String?
    /// `reports.recipients` — who gets the digest (default none: reports are stored, not mailed).
    public var recipients: [MailAddress]
    /// `reports.smtp.*` — the mail server (`SMTPSettings`); required with recipients.
    public var smtp: SMTPSettings?
    /// `reports.retention_days` (default 90, 1–3650): older rows of `reports` are deleted.
    public var retentionDays: Int

    public init(
        daily: ReportSchedule? = nil, weekly: ReportSchedule? = nil, timeZone: TimeZone = TimeZone(identifier: "UTC")!,
        host: String? = nil, recipients: [MailAddress] = [], smtp: SMTPSettings? = nil, retentionDays: Int = 90
    ) {
        self.daily = daily
        self.weekly = weekly
        self.timeZone = timeZone
        self.host = host
        self.recipients = recipients
        self.smtp = smtp
        self.retentionDays = retentionDays
    }

    /// The schedules in force (daily first).
    public var schedules: [ReportSchedule] { [daily, weekly].compactMap { $0 } }
    /// True when the digest is mailed (recipients and a server).
    public var mails: Bool { smtp != nil && !recipients.isEmpty }

    public init(source: ConfigSource) throws {
        let zoneName = source.string("reports.timezone", default: "UTC")
        guard let zone = TimeZone(identifier: zoneName) else {
            throw ConfigError(
                key: "reports.timezone",
                message: "'\(zoneName.prefix(60))' is not a time zone name of the IANA database (Europe/Paris, UTC)")
        }
        timeZone = zone
        func schedule(_ kind: ReportSchedule.Kind) throws -> ReportSchedule? {
            let key = "reports.\(kind.rawValue)"
            guard let text = source.optionalString(key) else { return nil }
            switch ReportSchedule.parse(text, kind: kind, timeZone: zone) {
            case .success(let schedule): return schedule
            case .failure(let error): throw ConfigError(key: key, message: error.message)
            }
        }
        daily = try schedule(.daily)
        weekly = try schedule(.weekly)
        if let host = source.optionalString("reports.host") {
            guard host.count <= 253,
                host.unicodeScalars.allSatisfy({
                    ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                        || ".-_".unicodeScalars.contains($0)
                })
            else {
                throw ConfigError(
                    key: "reports.host", message: "'\(MailError.printable(host, limit: 40))' is not a host name")
            }
            self.host = host
        } else {
            host = nil
        }
        var recipients: [MailAddress] = []
        for text in try source.stringList("reports.recipients", default: []) {
            do {
                recipients.append(try MailAddress(text))
            } catch {
                throw ConfigError(key: "reports.recipients", message: error.message)
            }
        }
        guard recipients.count <= 100 else {
            throw ConfigError(key: "reports.recipients", message: "lists \(recipients.count) addresses; at most 100")
        }
        self.recipients = recipients
        smtp = try SMTPSettings.load(source, prefix: "reports.smtp")
        retentionDays = try source.int("reports.retention_days", default: 90, range: 1...3650)
        if !recipients.isEmpty && smtp == nil {
            throw ConfigError(key: "reports.recipients", message: "are set but reports.smtp.url is not")
        }
        if smtp != nil && recipients.isEmpty {
            throw ConfigError(key: "reports.smtp.url", message: "is set but reports.recipients is empty")
        }
    }
}
