import Foundation
import Hummingbird
import MonCore
import MonQueryKit
import ServiceLifecycle

/// Limits export concurrency: each export holds a connection and a thread.
actor ExportSlots {
    let capacity: Int
    private var used = 0

    init(capacity: Int) { self.capacity = capacity }

    func acquire() -> Bool {
        guard used < capacity else { return false }
        used += 1
        return true
    }

    func release() { used = max(0, used - 1) }
}

extension API {
    static let logFilterParameters: Set<String> = ["level", "service", "q", "since", "trace_id", "host"]

    /// `GET /api/monitoring/logs?level=&service=&q=&since=1h&trace_id=&host=&limit=&cursor=`.
    func logs(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: Self.logFilterParameters.union(["limit", "cursor"]))
        let filter = try Self.logFilter(parameters)
        let range = try parameters.timeRange(nowMs: WallClock.nowMs(), retention: nil)
        let limit = try parameters.limit(default: 100, maximum: 1000)
        let cursor = try parameters["cursor"].map { text throws(ParameterError) in try LogCursor(parsing: text) }
        let page = try await store.logs(filter: filter, range: range, limit: limit, cursor: cursor)
        return .json(
            .object([
                ("since", .string(DurationText.format(seconds: range.periodSeconds))),
                ("period", .string(DurationText.format(seconds: range.periodSeconds))),
                ("from", .string(Timestamp.iso8601(ms: range.startMs))),
                ("to", .string(Timestamp.iso8601(ms: range.endMs))),
                ("count", .number(Double(page.logs.count))),
                ("next_cursor", page.next.map { .string($0.text) } ?? .null),
                ("logs", .array(page.logs.map(Self.logJSON))),
            ]))
    }

    /// `GET /api/monitoring/logs/{id}` (and the dashboard's `/ui/monitoring/logs/{id}`): one
    /// record whole, as `/logs` lists it: the dashboard's expanded row (its list cuts messages
    /// at 400 characters).
    func logRecord(_ request: Request) async throws -> Response {
        _ = try QueryParameters(request, allowed: [])
        let id = try Self.idSegment(fromPath: request.uri.path, naming: "a log record id")
        guard let log = try await store.log(id: id) else {
            throw APIError(
                status: .notFound, code: "log_not_found",
                message: "no stored log record has id \(id) (never stored, or past the retention)")
        }
        return .json(Self.logJSON(log))
    }

    /// `GET /api/monitoring/logs/stream` — Server-Sent Events of records as they are stored.
    ///
    /// `Last-Event-ID` (header, or `last_event_id` for clients that cannot set it) first
    /// replays what was stored after that id within `since` (default 24h), then goes live
    /// without a gap or a duplicate. A client too slow for its buffer gets `event: dropped`.
    /// With several ingest writers, ids are not in commit order: a reconnecting client can miss
    /// a record of a transaction still open when its last event was sent that took a lower id.
    /// Headers of a Server-Sent Events response (the log and alert streams).
    static var eventStreamHeaders: HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-cache"
        return headers
    }

    /// The event id a reconnecting SSE client resumes after: the `Last-Event-ID` header, or
    /// the `last_event_id` parameter (for clients that cannot set headers).
    static func lastEventID(_ request: Request, _ parameters: QueryParameters) throws(ParameterError) -> Int64? {
        let text =
            request.headers.first { $0.name.canonicalName == "last-event-id" }?.value ?? parameters["last_event_id"]
        return try text.map { text throws(ParameterError) in
            guard let id = Int64(text.trimmingCharacters(in: .whitespaces)), id >= 0 else {
                throw ParameterError("Last-Event-ID", "'\(text.prefix(40))' is not an event id")
            }
            return id
        }
    }

    func logStream(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: Self.logFilterParameters.union(["last_event_id"]))
        let filter = try Self.logFilter(parameters)
        if let to = parameters["to"] {
            throw ParameterError(
                "to", "'\(to.prefix(40))': a live stream has no end (from sets where its replay starts)")
        }
        let range = try parameters.timeRange(nowMs: WallClock.nowMs(), retention: nil, defaultPeriod: "24h")
        let lastID = try Self.lastEventID(request, parameters)
        let slot = try StreamSlot.acquire(limitStats, limit: settings.maxStreamSubscribers)
        let subscription = broadcaster.subscribe(filter: filter, bufferSize: settings.logStreamBuffer)
        var backlog: [StoredLog] = []
        do {
            if let lastID {
                backlog = try await store.logs(after: lastID, filter: filter, range: range, limit: Self.maxReplay)
            }
        } catch {
            broadcaster.unsubscribe(subscription.id)
            throw error
        }
        let replay = backlog
        // Records already replayed, to skip when the live stream brings them too. Not "every id
        // up to the last sent": with several ingest writers, ids are not in commit order (a
        // writer's transaction may commit after another's that took later ids).
        let replayed = Set(backlog.map(\.id))
        let broadcaster = broadcaster
        let keepaliveSeconds = settings.logStreamKeepalive
        return Response(
            status: .ok, headers: Self.eventStreamHeaders,
            body: ResponseBody { writer in
                let keepalive = Task {
                    while !Task.isCancelled {
                        try await Task.sleep(for: .milliseconds(Int(keepaliveSeconds * 1000)))
                        broadcaster.keepalive(subscription.id)
                    }
                }
                defer {
                    keepalive.cancel()
                    broadcaster.unsubscribe(subscription.id)
                    withExtendedLifetime(slot) {}
                }
                var sent = lastID ?? 0
                try await writer.write(ByteBuffer(string: "retry: 2000\n: connected\n\n"))
                if replay.count == Self.maxReplay {
                    try await writer.write(
                        ByteBuffer(string: "event: truncated\ndata: {\"replayed\":\(Self.maxReplay)}\n\n"))
                }
                for log in replay {
                    try await writer.write(ByteBuffer(string: Self.sseEvent(log)))
                    sent = max(sent, log.id)
                }
                // The stream ends when the daemon shuts down (graceful shutdown must not wait on it).
                try await withGracefulShutdownHandler {
                    for await item in subscription.stream {
                        switch item {
                        case .log(let log):
                            guard !replayed.contains(log.id) else { continue }
                            try await writer.write(ByteBuffer(string: Self.sseEvent(log)))
                            sent = max(sent, log.id)
                        case .keepalive:
                            try await writer.write(ByteBuffer(string: ": keepalive\n\n"))
                        }
                        let dropped = broadcaster.takeDropped(subscription.id)
                        if dropped > 0 {
                            try await writer.write(
                                ByteBuffer(
                                    string: "event: dropped\ndata: {\"count\":\(dropped),\"last_id\":\(sent)}\n\n"))
                        }
                    }
                } onGracefulShutdown: {
                    broadcaster.unsubscribe(subscription.id)
                }
                try await writer.finish(nil)
            })
    }

    /// Most records replayed after a `Last-Event-ID`.
    static let maxReplay = 10_000

    static func sseEvent(_ log: StoredLog) -> String {
        "id: \(log.id)\nevent: log\ndata: \(logJSON(log).encoded())\n\n"
    }

    static func logFilter(_ parameters: QueryParameters) throws(ParameterError) -> LogFilter {
        var filter = LogFilter()
        if let level = parameters["level"] {
            guard LogLevel.parameterNames.contains(level), let parsed = LogLevel(parsing: level) else {
                throw ParameterError(
                    "level", "'\(level.prefix(40))' is not one of debug, info, warning, error, critical")
            }
            filter.level = parsed
        }
        filter.service = try text(parameters, "service", maxBytes: 200)
        filter.traceID = try text(parameters, "trace_id", maxBytes: 200)
        filter.query = try text(parameters, "q", maxBytes: 500)
        filter.host = try parameters.host()
        return filter
    }

    /// A non-empty parameter of at most `maxBytes` without control characters.
    static func text(_ parameters: QueryParameters, _ name: String, maxBytes: Int) throws(ParameterError) -> String? {
        guard let value = parameters[name] else { return nil }
        guard !value.isEmpty, value.utf8.count <= maxBytes,
            !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else {
            throw ParameterError(name, "must be 1 to \(maxBytes) bytes of text without control characters")
        }
        return value
    }

    static func logJSON(_ log: StoredLog) -> JSONValue {
        let record = log.record
        let fields = (try? JSONParser.parse(record.fields.utf8)) ?? .object([])
        return .object([
            ("id", .number(Double(log.id))),
            ("timestamp", .string(Timestamp.iso8601(ms: record.timestampMs))),
            ("host", .string(log.host)),
            ("service", .string(record.service)),
            ("level", .string(record.level.name)),
            ("event", .string(record.event)),
            ("logger", record.logger.map { .string($0) } ?? .null),
            ("trace_id", record.traceID.map { .string($0) } ?? .null),
            ("fields", fields),
        ])
    }

    /// `GET /api/monitoring/export?format=csv|json&period=24h[&type=][&host=]` — streamed (chunked).
    func export(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["format", "period", "type", "host"])
        let format = parameters["format"] ?? "json"
        guard format == "csv" || format == "json" else {
            throw ParameterError("format", "'\(format.prefix(40))' is not csv or json")
        }
        let typeText = parameters["type"] ?? "metrics"
        guard let kind = ExportKind(rawValue: typeText) else {
            let known = ExportKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw ParameterError("type", "'\(typeText.prefix(40))' is not one of \(known)")
        }
        let range = try parameters.timeRange(nowMs: WallClock.nowMs(), retention: nil, defaultPeriod: "24h")
        let host = try parameters.host()
        let slots = exportSlots
        guard await slots.acquire() else {
            throw APIError(
                status: .tooManyRequests, code: "too_many_exports",
                message: "\(slots.capacity) exports are already running; retry when one finishes")
        }
        let cursor = ExportCursor(kind: kind, databaseURL: settings.databaseURL, password: settings.databasePassword)
        do {
            try await cursor.start(range: range, host: host)
        } catch {
            await cursor.finish()
            await slots.release()
            throw error
        }
        var headers = HTTPFields()
        headers[.contentType] = format == "csv" ? "text/csv; charset=utf-8; header=present" : "application/json"
        headers[.contentDisposition] = "attachment; filename=\"mon-\(kind.rawValue)-\(range.periodSeconds)s.\(format)\""
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                defer {
                    Task {
                        await cursor.finish()
                        await slots.release()
                    }
                }
                let columns = kind.columns
                var first = true
                try await writer.write(
                    ByteBuffer(string: format == "csv" ? ExportFormat.csvLine(columns) : "["))
                while true {
                    let rows = try await cursor.next(2000)
                    if rows.isEmpty { break }
                    var chunk = ""
                    for row in rows {
                        if format == "csv" {
                            chunk += ExportFormat.csvLine(row)
                        } else {
                            chunk += first ? "\n" : ",\n"
                            first = false
                            ExportFormat.jsonObject(row, kind: kind).write(to: &chunk)
                        }
                    }
                    try await writer.write(ByteBuffer(string: chunk))
                }
                if format == "json" { try await writer.write(ByteBuffer(string: "\n]\n")) }
                try await writer.finish(nil)
            })
    }
}

/// Row encodings of `/export`.
enum ExportFormat {
    /// One RFC 4180 record ending in CRLF; NULL is an empty field.
    static func csvLine(_ fields: [String?]) -> String {
        var line = ""
        for (index, field) in fields.enumerated() {
            if index > 0 { line += "," }
            guard let field else { continue }
            if field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
                line += "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            } else {
                line += field
            }
        }
        return line + "\r\n"
    }

    static func jsonObject(_ row: [String?], kind: ExportKind) -> JSONValue {
        .object(
            zip(kind.columns, row).map { column, value in
                guard let value else { return (column, .null) }
                if kind.jsonColumns.contains(column) { return (column, (try? JSONParser.parse(value.utf8)) ?? .null) }
                if kind.numberColumns.contains(column) { return (column, .number(Double(value))) }
                return (column, .string(value))
            })
    }
}
