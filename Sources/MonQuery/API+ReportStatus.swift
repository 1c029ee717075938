import MonCore
import MonQueryKit

extension API {
    /// `checks.reports` of `/health/detailed`: the schedules and their next occurrence, the last
    /// report this daemon made (or could not make, and why), and the e-mail delivery: pending
    /// and recently given-up deliveries, the last success and failure with its error (libcurl's
    /// reason and the server's reply code, never the password). Degraded while the latest
    /// delivery attempt failed, one was given up within a day, or the latest build failed.
    /// Only the daemon holding the `reports` lease makes and mails reports: another shows the
    /// backlog it last counted (none before it ever held the lease).
    static func reportsJSON(_ scheduler: ReportScheduler) -> (fields: [(String, JSONValue)], failing: Bool) {
        let status = scheduler.status.snapshot
        let settings = scheduler.settings
        let time = { (ms: Int64?) -> JSONValue in ms.map { .string(Timestamp.iso8601(ms: $0)) } ?? .null }
        let buildFailing = status.lastBuildFailureMs.map { $0 > (status.lastReportMs ?? 0) } ?? false
        let fields: [(String, JSONValue)] = [
            (
                "schedules",
                .array(
                    settings.schedules.map { schedule in
                        .object([
                            ("kind", .string(schedule.kind.rawValue)), ("at", .string(schedule.description)),
                            ("next", time(status.nextDueMs[schedule.kind.rawValue])),
                        ])
                    })
            ),
            ("last_report_id", status.lastReportID.map { .number(Double($0)) } ?? .null),
            ("last_report", time(status.lastReportMs)),
            ("last_build_failure", time(status.lastBuildFailureMs)),
            ("last_build_error", buildFailing ? status.lastBuildError.map { .string($0) } ?? .null : .null),
            (
                "mail",
                .object([
                    ("enabled", .bool(settings.mails)),
                    ("recipients", .number(Double(settings.recipients.count))),
                    ("pending", .number(Double(status.pending))),
                    ("failed_last_day", .number(Double(status.failedLastDay))),
                    ("last_success", time(status.lastSentMs)),
                    ("last_failure", time(status.lastMailFailureMs)),
                    ("last_error", status.lastMailError.map { .string($0) } ?? .null),
                    ("sent", .number(Double(status.mailsSent))),
                    ("attempts_failed", .number(Double(status.mailAttemptsFailed))),
                    ("given_up", .number(Double(status.mailsGivenUp))),
                ])
            ),
        ]
        return (fields, status.mailFailing || buildFailing)
    }

    /// The scheduled reports' counters and gauges on `/metrics` (none when no schedule is set).
    func reportMetrics(_ out: inout PrometheusText) {
        guard let status = reportScheduler?.status.snapshot else { return }
        out.family("mon_query_reports_made_total", type: .counter)
        out.sample("mon_query_reports_made_total", [], Double(status.reportsMade))
        out.family("mon_query_report_mails_total", type: .counter)
        out.sample("mon_query_report_mails_total", [("outcome", "sent")], Double(status.mailsSent))
        out.sample("mon_query_report_mails_total", [("outcome", "given_up")], Double(status.mailsGivenUp))
        out.family("mon_query_report_mail_failures_total", type: .counter)
        out.sample("mon_query_report_mail_failures_total", [], Double(status.mailAttemptsFailed))
        out.family("mon_query_report_mails_pending", type: .gauge)
        out.sample("mon_query_report_mails_pending", [], Double(status.pending))
        if let sent = status.lastSentMs {
            out.family("mon_query_report_mail_last_success_timestamp_seconds", type: .gauge)
            out.sample("mon_query_report_mail_last_success_timestamp_seconds", [], Double(sent) / 1000)
        }
    }
}
