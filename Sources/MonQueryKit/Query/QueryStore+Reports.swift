import MonCore

/// A row of `reports` without its PDF: what `GET /api/monitoring/reports` lists.
public struct StoredReport: Sendable, Equatable {
    public var id: Int64
    /// `daily`, `weekly` or `manual`.
    public var kind: String
    public var periodStartMs: Int64
    public var periodEndMs: Int64
    /// One host, or nil for all hosts.
    public var host: String?
    public var createdMs: Int64
    public var bytes: Int64
    /// `pending`, `sent`, `failed` or `off`.
    public var mailStatus: String
    public var mailAttempts: Int64
    public var mailNextMs: Int64?
    public var mailSentMs: Int64?
    public var mailError: String?

    /// `report-daily-2026-12-06.pdf` (the period's end, UTC), `report-weekly-2026-12-07-web-1.pdf`
    /// with a host: the attachment's and the download's file name (letters, digits, `.-_`).
    public var filename: String {
        "report-\(kind)-\(Timestamp.iso8601(ms: periodEndMs).prefix(10))\(host.map { "-\($0)" } ?? "").pdf"
    }

    /// The columns `row(_:_:)` reads, in its order.
    static let columns = """
        id, kind, (extract(epoch FROM period_start) * 1000)::bigint, (extract(epoch FROM period_end) * 1000)::bigint,
        host, (extract(epoch FROM created_at) * 1000)::bigint, bytes, mail_status, mail_attempts,
        (extract(epoch FROM mail_next_at) * 1000)::bigint, (extract(epoch FROM mail_sent_at) * 1000)::bigint,
        mail_error
        """

    static func row(_ result: PostgresResult, _ row: Int) -> StoredReport {
        StoredReport(
            id: result.int(row, 0) ?? 0, kind: result.string(row, 1) ?? "", periodStartMs: result.int(row, 2) ?? 0,
            periodEndMs: result.int(row, 3) ?? 0, host: result.string(row, 4), createdMs: result.int(row, 5) ?? 0,
            bytes: result.int(row, 6) ?? 0, mailStatus: result.string(row, 7) ?? "",
            mailAttempts: result.int(row, 8) ?? 0, mailNextMs: result.int(row, 9), mailSentMs: result.int(row, 10),
            mailError: result.string(row, 11))
    }

    /// `255044…` (`encode(pdf, 'hex')`) as bytes; nil when it is not hex digits in pairs.
    static func hexBytes(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 48...57: byte - 48
            case 97...102: byte - 87
            case 65...70: byte - 55
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}

extension QueryStore {
    /// The latest reports, newest period first (no PDF bytes).
    public func reports(limit: Int) throws -> [StoredReport] {
        try connector.withConnection { connection in
            let result = try connection.query(
                "SELECT \(StoredReport.columns) FROM reports ORDER BY period_end DESC, id DESC LIMIT $1",
                [String(limit)])
            return (0..<result.rowCount).map { StoredReport.row(result, $0) }
        }
    }

    /// One report's PDF; nil when no row has this id.
    public func reportPDF(id: Int64) throws -> (report: StoredReport, pdf: [UInt8])? {
        try connector.withConnection { connection in
            let result = try connection.query(
                "SELECT \(StoredReport.columns), encode(pdf, 'hex') FROM reports WHERE id = $1", [String(id)])
            guard result.rowCount == 1 else { return nil }
            guard let pdf = result.string(0, 12).flatMap(StoredReport.hexBytes) else {
                throw PostgresError(.statement, "report \(id): its pdf column did not read back as hex")
            }
            return (StoredReport.row(result, 0), pdf)
        }
    }
}
