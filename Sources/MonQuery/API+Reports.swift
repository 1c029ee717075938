import Hummingbird
import MonCore
import MonQueryKit

extension API {
    /// `GET /api/monitoring/reports` (admin): the stored reports, newest period first, without
    /// their PDF: kind, period, host, size, and the e-mail delivery's state; and the
    /// schedules in force with their next occurrence.
    func reports(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["limit"])
        let limit = try parameters.limit(default: 50, maximum: 1000)
        let rows = try await store.reports(limit: limit)
        let time = { (ms: Int64?) -> JSONValue in ms.map { .string(Timestamp.iso8601(ms: $0)) } ?? .null }
        let status = reportScheduler?.status.snapshot
        let schedules: [JSONValue] = (reportScheduler?.settings.schedules ?? []).map { schedule in
            .object([
                ("kind", .string(schedule.kind.rawValue)), ("at", .string(schedule.description)),
                ("next", time(status?.nextDueMs[schedule.kind.rawValue])),
            ])
        }
        return .json(
            .object([
                ("count", .number(Double(rows.count))),
                ("schedules", .array(schedules)),
                (
                    "reports",
                    .array(
                        rows.map { row in
                            .object([
                                ("id", .number(Double(row.id))), ("kind", .string(row.kind)),
                                ("period_start", time(row.periodStartMs)), ("period_end", time(row.periodEndMs)),
                                ("host", row.host.map { .string($0) } ?? .null), ("created_at", time(row.createdMs)),
                                ("bytes", .number(Double(row.bytes))),
                                ("download", .string("/api/monitoring/reports/\(row.id).pdf")),
                                (
                                    "mail",
                                    .object([
                                        ("status", .string(row.mailStatus)),
                                        ("attempts", .number(Double(row.mailAttempts))),
                                        ("next_attempt", row.mailStatus == "pending" ? time(row.mailNextMs) : .null),
                                        ("sent_at", time(row.mailSentMs)),
                                        ("last_error", row.mailError.map { .string($0) } ?? .null),
                                    ])
                                ),
                            ])
                        })
                ),
            ]))
    }

    /// The id in `/…/reports/{id}.pdf`: 1 to 19 digits, no sign, at most `Int64.max`.
    static func reportID(fromPath path: String) throws(ParameterError) -> Int64 {
        try idSegment(fromPath: path, suffix: ".pdf", naming: "a report id")
    }

    /// The positive integer id in the path's last segment (less `suffix` when it ends so), as
    /// a 400 naming `id` and what it should have been otherwise.
    static func idSegment(fromPath path: String, suffix: String = "", naming what: String) throws(ParameterError)
        -> Int64
    {
        let last = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        let digits = !suffix.isEmpty && last.hasSuffix(suffix) ? String(last.dropLast(suffix.count)) : last
        guard !digits.isEmpty, digits.utf8.count <= 19, digits.utf8.allSatisfy({ (48...57).contains($0) }),
            let id = Int64(digits), id >= 1
        else {
            throw ParameterError("id", "'\(digits.prefix(40))' is not \(what) (an integer from 1 to \(Int64.max))")
        }
        return id
    }

    /// `GET /api/monitoring/reports/{id}.pdf` (admin): the stored PDF, as an attachment.
    func reportPDF(_ request: Request) async throws -> Response {
        _ = try QueryParameters(request, allowed: [])
        let id = try Self.reportID(fromPath: request.uri.path)
        guard let found = try await store.reportPDF(id: id) else {
            throw APIError(status: .notFound, code: "report_not_found", message: "no stored report has id \(id)")
        }
        let (row, pdf) = found
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/pdf",
                .contentDisposition: "attachment; filename=\"\(row.filename)\"",
                .cacheControl: "private, no-store",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: pdf)))
    }
}
