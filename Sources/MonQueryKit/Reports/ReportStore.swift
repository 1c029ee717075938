import MonCore

/// `reports` on the primary database: the scheduler's writes (a report made once per period,
/// its mail claimed, sent or failed, old rows deleted), on its own connection and thread.
public actor ReportStore {
    private let executor: ThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    let connector: PostgresConnector

    public init(databaseURL: String, password: String? = nil) {
        executor = ThreadExecutor(name: "pg-reports")
        connector = PostgresConnector(url: databaseURL, applicationName: "monquery-reports", password: password)
    }

    /// A report to store.
    public struct NewReport: Sendable {
        public var kind: String
        public var periodStartMs: Int64
        public var periodEndMs: Int64
        public var host: String?
        public var pdf: [UInt8]
        public var digest: ReportDigest
        /// False: stored with mail status `off`.
        public var mail: Bool

        public init(
            kind: String, periodStartMs: Int64, periodEndMs: Int64, host: String?, pdf: [UInt8], digest: ReportDigest,
            mail: Bool
        ) {
            self.kind = kind
            self.periodStartMs = periodStartMs
            self.periodEndMs = periodEndMs
            self.host = host
            self.pdf = pdf
            self.digest = digest
            self.mail = mail
        }
    }

    /// A delivery claimed for sending: the row's digest and PDF, and which attempt this is.
    public struct ClaimedMail: Sendable {
        public var report: StoredReport
        public var attempt: Int
        public var subject: String
        public var text: String
        public var html: String
        public var pdf: [UInt8]
    }

    /// True when the report of `kind` for the period ending at `periodEndMs` (and `host`) exists.
    public func exists(kind: String, periodEndMs: Int64, host: String?) throws -> Bool {
        try connector.withConnection { connection in
            let result = try connection.query(
                """
                SELECT 1 FROM reports
                WHERE kind = $1 AND period_end = to_timestamp($2::double precision / 1000) AND coalesce(host, '') = $3
                """,
                [kind, String(periodEndMs), host ?? ""])
            return result.rowCount > 0
        }
    }

    /// Stores `report` unless its period is stored already (by this daemon before a restart, or
    /// by another one): its id, or nil when it was there.
    public func insert(_ report: NewReport) throws -> Int64? {
        let hex = IngestWriter.hex(report.pdf)
        return try connector.withConnection { connection in
            let result = try connection.query(
                """
                INSERT INTO reports (kind, period_start, period_end, host, bytes, pdf, mail_subject, mail_text,
                                     mail_html, mail_status, mail_next_at)
                VALUES ($1, to_timestamp($2::double precision / 1000), to_timestamp($3::double precision / 1000), $4,
                        $5, decode($6, 'hex'), $7, $8, $9, $10, CASE WHEN $10 = 'pending' THEN now() END)
                ON CONFLICT (kind, period_end, (coalesce(host, ''))) DO NOTHING
                RETURNING id
                """,
                [
                    report.kind, String(report.periodStartMs), String(report.periodEndMs), report.host,
                    String(report.pdf.count), hex, report.digest.subject, report.digest.text, report.digest.html,
                    report.mail ? "pending" : "off",
                ])
            return result.rowCount == 1 ? result.int(0, 0) : nil
        }
    }

    /// Claims the pending delivery due first, if any: counts the attempt and moves its next
    /// time `holdSeconds` ahead, so that no other daemon sends it meanwhile.
    public func claimMail(holdSeconds: Int) throws -> ClaimedMail? {
        try connector.withConnection { connection in
            let result = try connection.query(
                """
                UPDATE reports SET mail_attempts = mail_attempts + 1,
                                   mail_next_at = now() + make_interval(secs => $1::int)
                WHERE id = (SELECT id FROM reports WHERE mail_status = 'pending' AND mail_next_at <= now()
                            ORDER BY mail_next_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING \(StoredReport.columns), mail_subject, mail_text, mail_html, encode(pdf, 'hex')
                """,
                [String(holdSeconds)])
            guard result.rowCount == 1 else { return nil }
            let report = StoredReport.row(result, 0)
            guard let pdf = result.string(0, 15).flatMap(StoredReport.hexBytes) else {
                throw PostgresError(.statement, "report \(report.id): its pdf column did not read back as hex")
            }
            return ClaimedMail(
                report: report, attempt: Int(report.mailAttempts), subject: result.string(0, 12) ?? "",
                text: result.string(0, 13) ?? "", html: result.string(0, 14) ?? "", pdf: pdf)
        }
    }

    /// The delivery of report `id` succeeded.
    public func mailSent(id: Int64) throws {
        try connector.withConnection { connection in
            try connection.query(
                """
                UPDATE reports SET mail_status = 'sent', mail_sent_at = now(), mail_next_at = NULL, mail_error = NULL
                WHERE id = $1
                """,
                [String(id)])
        }
    }

    /// The delivery of report `id` failed with `error`: tried again in `retryInSeconds`, or
    /// given up (`failed`) when nil.
    public func mailFailed(id: Int64, error: String, retryInSeconds: Int?) throws {
        try connector.withConnection { connection in
            try connection.query(
                """
                UPDATE reports SET mail_error = $2,
                    mail_status = CASE WHEN $3::int IS NULL THEN 'failed' ELSE 'pending' END,
                    mail_next_at = CASE WHEN $3::int IS NULL THEN NULL ELSE now() + make_interval(secs => $3::int) END
                WHERE id = $1
                """,
                [String(id), error, retryInSeconds.map(String.init)])
        }
    }

    /// Deliveries still to make, and given up within the last day.
    public func mailBacklog() throws -> (pending: Int, failedLastDay: Int) {
        try connector.withConnection { connection in
            let result = try connection.query(
                """
                SELECT count(*) FILTER (WHERE mail_status = 'pending'),
                       count(*) FILTER (WHERE mail_status = 'failed' AND created_at > now() - interval '1 day')
                FROM reports WHERE mail_status IN ('pending', 'failed')
                """)
            return (Int(result.int(0, 0) ?? 0), Int(result.int(0, 1) ?? 0))
        }
    }

    /// Deletes the reports made more than `days` ago: how many.
    public func deleteOlderThan(days: Int) throws -> Int {
        try connector.withConnection { connection in
            try connection.query(
                "DELETE FROM reports WHERE created_at < now() - make_interval(days => $1::int)", [String(days)]
            ).affectedRows
        }
    }
}
