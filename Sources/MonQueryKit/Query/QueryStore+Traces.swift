import MonCore

/// Which traces `/traces` lists: those with at least one span in the period matching every
/// filter given (the same span: of this service, with this name, lasting at least this long,
/// with status error, from this host).
public struct TraceFilter: Sendable, Equatable {
    public var service: String?
    public var name: String?
    public var minDurationNs: Int64?
    public var errorsOnly = false
    public var host: String?

    public init(
        service: String? = nil, name: String? = nil, minDurationNs: Int64? = nil, errorsOnly: Bool = false,
        host: String? = nil
    ) {
        self.service = service
        self.name = name
        self.minDurationNs = minDurationNs
        self.errorsOnly = errorsOnly
        self.host = host
    }
}

/// A position in the newest-first trace listing: the last trace returned.
public struct TraceCursor: Sendable, Equatable {
    /// Its first matching span's start, microseconds since the epoch.
    public var startUs: Int64
    public var traceID: String

    public init(startUs: Int64, traceID: String) {
        self.startUs = startUs
        self.traceID = traceID
    }

    /// `<µs>-<trace id>`, opaque to clients.
    public var text: String { "\(startUs)-\(traceID)" }

    public init(parsing text: String) throws(ParameterError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count <= 19, let us = Int64(parts[0]), us >= 0, parts[1].utf8.count == 32,
            parts[1].utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
        else { throw ParameterError("cursor", "'\(text.prefix(60))' is not a cursor returned by this endpoint") }
        self.init(startUs: us, traceID: String(parts[1]))
    }
}

/// One trace of the listing.
public struct TraceSummary: Sendable, Equatable {
    public var traceID: String
    public var rootSpanID: String
    public var rootName: String
    public var rootService: String
    public var rootKind: String
    /// True when no span of the trace lacks a parent (the root was not received).
    public var rootMissing: Bool
    public var startUs: Int64
    public var durationNs: Int64
    public var spanCount: Int
    public var errorCount: Int
    public var services: [String]
    /// Where the page's cursor stands (the first matching span's start).
    var cursorUs: Int64
}

public struct TracePage: Sendable {
    public var traces: [TraceSummary]
    public var next: TraceCursor?
}

extension QueryStore {
    /// Spans read for one trace at most; beyond, the trace is reported truncated.
    public static let maxTraceSpans = 10_000

    /// Traces with a span matching `filter` in `range`, newest first (by their first matching
    /// span), `limit` per page, after `cursor` when given.
    public func traces(filter: TraceFilter, range: TimeRange, limit: Int, cursor: TraceCursor?) throws -> TracePage {
        try connector.withConnection { connection -> TracePage in
            let matched = try connection.query(
                """
                SELECT trace_id, (extract(epoch FROM min(start)) * 1000000)::bigint AS first_us
                FROM spans
                WHERE start > to_timestamp($1::double precision) AND start <= to_timestamp($2::double precision)
                  AND ($3::text IS NULL OR service = $3)
                  AND ($4::text IS NULL OR name = $4)
                  AND ($5::bigint IS NULL OR duration_ns >= $5)
                  AND (NOT $6::boolean OR status = 'error')
                  AND ($7::text IS NULL OR host = $7)
                GROUP BY trace_id
                HAVING $8::bigint IS NULL
                    OR ((extract(epoch FROM min(start)) * 1000000)::bigint, trace_id) < ($8::bigint, $9::text)
                ORDER BY first_us DESC, trace_id DESC
                LIMIT $10
                """,
                [
                    String(Double(range.startMs) / 1000), String(Double(range.endMs) / 1000), filter.service,
                    filter.name, filter.minDurationNs.map { String($0) }, filter.errorsOnly ? "true" : "false",
                    filter.host, cursor.map { String($0.startUs) }, cursor?.traceID, String(limit + 1),
                ])
            var ids: [(String, Int64)] = (0..<matched.rowCount).compactMap { row in
                guard let id = matched.string(row, 0), let us = matched.int(row, 1) else { return nil }
                return (id, us)
            }
            var next: TraceCursor?
            if ids.count > limit {
                ids.removeLast(ids.count - limit)
                next = ids.last.map { TraceCursor(startUs: $0.1, traceID: $0.0) }
            }
            guard !ids.isEmpty else { return TracePage(traces: [], next: nil) }
            let rows = try connection.query(
                """
                SELECT trace_id,
                       (array_agg(span_id ORDER BY parent_span_id IS NOT NULL, start, span_id))[1],
                       (array_agg(name ORDER BY parent_span_id IS NOT NULL, start, span_id))[1],
                       (array_agg(service ORDER BY parent_span_id IS NOT NULL, start, span_id))[1],
                       (array_agg(kind ORDER BY parent_span_id IS NOT NULL, start, span_id))[1],
                       bool_and(parent_span_id IS NOT NULL),
                       (extract(epoch FROM min(start)) * 1000000)::bigint,
                       least(max((extract(epoch FROM start) * 1000000)::numeric * 1000 + duration_ns)
                             - (extract(epoch FROM min(start)) * 1000000)::numeric * 1000,
                             9223372036854775807)::bigint,
                       count(*), count(*) FILTER (WHERE status = 'error'),
                       array_to_string(array_agg(DISTINCT service ORDER BY service), chr(31))
                FROM spans
                WHERE trace_id = ANY($1::text[])
                GROUP BY trace_id
                """,
                ["{" + ids.map(\.0).joined(separator: ",") + "}"])
            var byID: [String: TraceSummary] = [:]
            for row in 0..<rows.rowCount {
                guard let id = rows.string(row, 0), let start = rows.int(row, 6) else { continue }
                byID[id] = TraceSummary(
                    traceID: id, rootSpanID: rows.string(row, 1) ?? "", rootName: rows.string(row, 2) ?? "",
                    rootService: rows.string(row, 3) ?? "", rootKind: rows.string(row, 4) ?? "",
                    rootMissing: rows.string(row, 5) == "t", startUs: start, durationNs: rows.int(row, 7) ?? 0,
                    spanCount: Int(rows.int(row, 8) ?? 0), errorCount: Int(rows.int(row, 9) ?? 0),
                    services: (rows.string(row, 10) ?? "").split(separator: "\u{1F}").map(String.init), cursorUs: 0)
            }
            // In the listing's order; a trace whose spans all expired in between is left out.
            let traces = ids.compactMap { id, us in
                byID[id].map {
                    var t = $0
                    t.cursorUs = us
                    return t
                }
            }
            return TracePage(traces: traces, next: next)
        }
    }

    /// The spans of one trace (at most `maxTraceSpans`, earliest first), and whether more were stored.
    public func traceSpans(_ traceID: String) throws -> (spans: [TraceSpan], truncated: Bool) {
        try connector.withConnection { connection in
            let rows = try connection.query(
                """
                SELECT host, span_id, parent_span_id, service, name, kind,
                       (extract(epoch FROM start) * 1000000)::bigint, duration_ns, status, status_message,
                       attributes::text, events::text
                FROM spans WHERE trace_id = $1
                ORDER BY start, span_id
                LIMIT $2
                """,
                [traceID, String(Self.maxTraceSpans + 1)])
            var spans: [TraceSpan] = []
            spans.reserveCapacity(rows.rowCount)
            for row in 0..<rows.rowCount {
                guard let spanID = rows.string(row, 1), let us = rows.int(row, 6) else { continue }
                spans.append(
                    TraceSpan(
                        host: rows.string(row, 0) ?? "", spanID: spanID, parentSpanID: rows.string(row, 2),
                        service: rows.string(row, 3) ?? "", name: rows.string(row, 4) ?? "",
                        kind: rows.string(row, 5) ?? "", startNs: us &* 1000, durationNs: rows.int(row, 7) ?? 0,
                        status: rows.string(row, 8) ?? "", statusMessage: rows.string(row, 9) ?? "",
                        attributes: rows.string(row, 10) ?? "{}", events: rows.string(row, 11) ?? "[]"))
            }
            let truncated = spans.count > Self.maxTraceSpans
            if truncated { spans.removeLast(spans.count - Self.maxTraceSpans) }
            return (spans, truncated)
        }
    }
}

/// An example trace of an endpoint: its slowest server span in the period.
public struct SlowTrace: Sendable, Equatable {
    public var traceID: String
    public var durationNs: Int64

    public init(traceID: String, durationNs: Int64) {
        self.traceID = traceID
        self.durationNs = durationNs
    }

    /// The key an endpoint and a span are matched on: the method upper-cased, and the path
    /// after `EndpointNormalizer` with every `{…}` segment as `{id}` (an app's statsd endpoint
    /// `/v1/memories/{id}` matches the route template `/v1/memories/{memory_id}`).
    public static func key(method: String, path: String) -> String {
        let segments = EndpointNormalizer.normalize(path).split(separator: "/", omittingEmptySubsequences: false).map {
            $0.hasPrefix("{") && $0.hasSuffix("}") ? "{id}" : String($0)
        }
        return method.uppercased() + " " + segments.joined(separator: "/")
    }
}

extension QueryStore {
    /// The slowest server span per (method, route) in `range` (one query over the period's
    /// spans, by `spans_start_idx`), keyed by `SlowTrace.key`: the route is the span's
    /// `http.route`, else `url.path`, else `http.target`; the method `http.request.method`, else
    /// `http.method`. Several routes with one key keep the slowest.
    public func slowTraces(host: String?, range: TimeRange) throws -> [String: SlowTrace] {
        try connector.withConnection { connection in
            let rows = try connection.query(
                """
                SELECT DISTINCT ON (method, route) method, route, trace_id, duration_ns
                FROM (
                    SELECT coalesce(attributes->>'http.request.method', attributes->>'http.method') AS method,
                           coalesce(attributes->>'http.route', attributes->>'url.path', attributes->>'http.target')
                               AS route,
                           trace_id, duration_ns
                    FROM spans
                    WHERE kind = 'server'
                      AND start > to_timestamp($1::double precision) AND start <= to_timestamp($2::double precision)
                      AND ($3::text IS NULL OR host = $3)
                ) s
                WHERE method IS NOT NULL AND route IS NOT NULL
                ORDER BY method, route, duration_ns DESC, trace_id
                LIMIT 10000
                """,
                [String(Double(range.startMs) / 1000), String(Double(range.endMs) / 1000), host])
            var slowest: [String: SlowTrace] = [:]
            for row in 0..<rows.rowCount {
                guard let method = rows.string(row, 0), let route = rows.string(row, 1),
                    let traceID = rows.string(row, 2), let duration = rows.int(row, 3)
                else { continue }
                let key = SlowTrace.key(method: method, path: route)
                if duration > slowest[key]?.durationNs ?? -1 {
                    slowest[key] = SlowTrace(traceID: traceID, durationNs: duration)
                }
            }
            return slowest
        }
    }
}
