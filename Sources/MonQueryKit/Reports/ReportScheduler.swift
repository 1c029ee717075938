import Logging
import MonCore
import ServiceLifecycle

/// Makes the scheduled reports (`reports.daily`, `reports.weekly`) and mails their digest.
///
/// Every `every` (15 s) the daemon that holds the `reports` lease (several daemons may share
/// the database) looks at each schedule's latest occurrence: when the `reports` table has no
/// row for that period, it builds the PDF of the period ending then (`ReportBuilder`, the
/// same one `monquery report` writes), stores it with its digest, and queues the mail. The
/// same look makes a report missed while no daemon ran (only the latest missed one), and the
/// table's unique period key makes a second row impossible whichever daemon races to it.
/// Then it sends the deliveries that are due (`SMTPTransport`), one claimed row at a time:
/// a failure is retried after each of `reports.smtp.retry_seconds`, then given up; each
/// attempt is counted in the row. Once an hour, reports past `reports.retention_days` go.
public struct ReportScheduler: Service {
    public let settings: ReportSettings
    let builder: ReportBuilder
    let store: ReportStore
    let transport: SMTPTransport?
    let lease: Lease?
    public let status: ReportStatus
    let every: Duration
    let logger: Logger

    public init(
        settings: ReportSettings, builder: ReportBuilder, store: ReportStore, transport: SMTPTransport?,
        lease: Lease?, status: ReportStatus = ReportStatus(), every: Duration = .seconds(15), logger: Logger
    ) {
        self.settings = settings
        self.builder = builder
        self.store = store
        self.transport = transport
        self.lease = lease
        self.status = status
        self.every = every
        self.logger = logger
    }

    /// What the loop keeps between runs.
    struct State {
        /// Periods known to be stored (kind → period end): no query for them again.
        var stored: [String: Int64] = [:]
        /// After a failed build, the kind waits until then (60 s × failures, at most 15 min).
        var retryAtMs: [String: Int64] = [:]
        var buildFailures: [String: Int] = [:]
        var lastRetentionMs: Int64 = 0
    }

    /// The wait before attempt `attempt + 1` of a delivery whose attempt `attempt` (1-based)
    /// failed; nil when it is given up.
    public static func retryDelay(afterAttempt attempt: Int, retrySeconds: [Int]) -> Int? {
        attempt >= 1 && attempt <= retrySeconds.count ? retrySeconds[attempt - 1] : nil
    }

    public func run() async throws {
        try await PeriodicService(
            name: "reports", schedule: .every(every), logger: logger, makeState: { State() }
        ) { [self] state, _ in
            if let lease, await !lease.claim(.reports).mayRun { return .next }
            await makeDueReports(&state, nowMs: WallClock.nowMs())
            await deliverDueMail()
            await countBacklog()
            let nowMs = WallClock.nowMs()
            if nowMs - state.lastRetentionMs >= 3_600_000 {
                state.lastRetentionMs = nowMs
                do {
                    let deleted = try await store.deleteOlderThan(days: settings.retentionDays)
                    if deleted > 0 { logger.info("deleted old reports", metadata: ["rows": "\(deleted)"]) }
                } catch {
                    logger.error("cannot delete old reports", metadata: ["error": "\(error)"])
                }
            }
            return .next
        }.run()
    }

    /// For each schedule, the report of its latest occurrence, unless stored already.
    func makeDueReports(_ state: inout State, nowMs: Int64) async {
        for schedule in settings.schedules {
            let kind = schedule.kind.rawValue
            if let next = schedule.next(afterMs: nowMs) { status.update { $0.nextDueMs[kind] = next } }
            guard let endMs = schedule.latest(atOrBeforeMs: nowMs), state.stored[kind] != endMs else { continue }
            if let retryAt = state.retryAtMs[kind], nowMs < retryAt { continue }
            do {
                if try await store.exists(kind: kind, periodEndMs: endMs, host: settings.host) {
                    state.stored[kind] = endMs
                    continue
                }
                let id = try await make(schedule, endMs: endMs)
                state.stored[kind] = endMs
                state.buildFailures[kind] = nil
                state.retryAtMs[kind] = nil
                if let id {
                    status.update {
                        $0.lastReportID = id
                        $0.lastReportMs = WallClock.nowMs()
                        $0.reportsMade += 1
                    }
                }
            } catch {
                let failures = (state.buildFailures[kind] ?? 0) + 1
                state.buildFailures[kind] = failures
                state.retryAtMs[kind] = nowMs + min(60_000 * Int64(failures), 900_000)
                let message = "\(error)"
                status.update {
                    $0.lastBuildFailureMs = WallClock.nowMs()
                    $0.lastBuildError = String(message.prefix(500))
                }
                logger.error(
                    "cannot make the scheduled report",
                    metadata: [
                        "kind": "\(kind)", "period_end": "\(Timestamp.iso8601(ms: endMs))", "error": "\(message)",
                    ])
            }
        }
    }

    /// Builds and stores the report of `schedule`'s period ending at `endMs`: its id, or nil
    /// when another daemon stored it first.
    func make(_ schedule: ReportSchedule, endMs: Int64) async throws -> Int64? {
        let started = ContinuousClock.now
        let figures = try await builder.figures(period: schedule.kind.period, host: settings.host, nowMs: endMs)
        let report = PeriodReport(figures: figures)
        let pdf = try ReportBuilder.render(report)
        let startMs = endMs - schedule.kind.periodSeconds * 1000
        let digest = ReportDigest(
            kind: schedule.kind.rawValue, dayText: schedule.dayText(ms: startMs), zone: settings.timeZone.identifier,
            figures: figures, report: report)
        let id = try await store.insert(
            ReportStore.NewReport(
                kind: schedule.kind.rawValue, periodStartMs: startMs, periodEndMs: endMs, host: settings.host,
                pdf: pdf.bytes, digest: digest, mail: settings.mails))
        logger.notice(
            id == nil ? "scheduled report already stored by another daemon" : "made the scheduled report",
            metadata: [
                "kind": "\(schedule.kind.rawValue)", "period_end": "\(Timestamp.iso8601(ms: endMs))",
                "id": "\(id.map(String.init) ?? "-")", "bytes": "\(pdf.bytes.count)", "pages": "\(pdf.pages)",
                "seconds": "\(started.duration(to: .now).seconds)",
            ])
        return id
    }

    /// Sends every delivery that is due, one claimed row at a time (at most 20 a run).
    func deliverDueMail() async {
        guard let transport, let smtp = settings.smtp else { return }
        for _ in 0..<20 {
            let claimed: ReportStore.ClaimedMail?
            do {
                // Held for the delivery's whole timeout and a margin: no other daemon sends it meanwhile.
                claimed = try await store.claimMail(holdSeconds: smtp.timeoutSeconds + 60)
            } catch {
                logger.error("cannot read the report mail queue", metadata: ["error": "\(error)"])
                return
            }
            guard let claimed else { return }
            await deliver(claimed, transport: transport, smtp: smtp)
        }
    }

    func deliver(_ claimed: ReportStore.ClaimedMail, transport: SMTPTransport, smtp: SMTPSettings) async {
        let id = claimed.report.id
        do {
            let message = MailMessage(
                from: smtp.from, to: settings.recipients, subject: claimed.subject, dateMs: WallClock.nowMs(),
                messageID: "report-\(id)-\(claimed.attempt)-\(MailMessage.randomToken())", text: claimed.text,
                html: claimed.html,
                attachments: [
                    MailMessage.Attachment(
                        filename: claimed.report.filename, contentType: "application/pdf", bytes: claimed.pdf)
                ])
            try await transport.send(try message.render(), to: settings.recipients)
            try await store.mailSent(id: id)
            status.update {
                $0.lastSentMs = WallClock.nowMs()
                $0.mailsSent += 1
            }
            logger.notice(
                "mailed the report",
                metadata: [
                    "id": "\(id)", "attempt": "\(claimed.attempt)", "recipients": "\(settings.recipients.count)",
                ])
        } catch {
            let message = (error as? MailError)?.message ?? "\(error)"
            let retry = Self.retryDelay(afterAttempt: claimed.attempt, retrySeconds: smtp.retrySeconds)
            do {
                try await store.mailFailed(id: id, error: String(message.prefix(1000)), retryInSeconds: retry)
            } catch {
                logger.error("cannot record the report mail failure", metadata: ["id": "\(id)", "error": "\(error)"])
            }
            status.update {
                $0.lastMailFailureMs = WallClock.nowMs()
                $0.lastMailError = String(message.prefix(1000))
                $0.mailAttemptsFailed += 1
                if retry == nil { $0.mailsGivenUp += 1 }
            }
            logger.error(
                retry == nil ? "cannot mail the report: given up" : "cannot mail the report: will retry",
                metadata: [
                    "id": "\(id)", "attempt": "\(claimed.attempt)",
                    "retry_in_seconds": "\(retry.map(String.init) ?? "-")", "error": "\(message)",
                ])
        }
    }

    func countBacklog() async {
        guard settings.mails else { return }
        guard let backlog = try? await store.mailBacklog() else { return }
        status.update {
            $0.pending = backlog.pending
            $0.failedLastDay = backlog.failedLastDay
        }
    }
}
