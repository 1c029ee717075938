import Hummingbird
import MonCore
import MonQueryKit

extension API {
    static let traceListParameters: Set<String> = [
        "service", "name", "min_duration_ms", "status", "since", "host", "limit", "cursor",
    ]
    /// The largest `min_duration_ms` accepted (a day).
    static let maxTraceDurationMs = 86_400_000.0

    /// `GET /api/monitoring/traces?service=&name=&min_duration_ms=&status=error&since=1h&host=&limit=&cursor=`.
    func traces(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: Self.traceListParameters)
        let filter = try Self.traceFilter(parameters)
        // `period` (or its older name `since`), or an absolute `from`/`to` (RangeVocabulary).
        let range = try parameters.timeRange(nowMs: WallClock.nowMs(), retention: nil)
        let limit = try parameters.limit(default: 50, maximum: 500)
        let cursor = try parameters["cursor"].map { text throws(ParameterError) in try TraceCursor(parsing: text) }
        let page = try await store.traces(filter: filter, range: range, limit: limit, cursor: cursor)
        return .json(
            .object([
                ("since", .string(DurationText.format(seconds: range.periodSeconds))),
                ("period", .string(DurationText.format(seconds: range.periodSeconds))),
                ("from", .string(Timestamp.iso8601(ms: range.startMs))),
                ("to", .string(Timestamp.iso8601(ms: range.endMs))),
                ("count", .number(Double(page.traces.count))),
                ("next_cursor", page.next.map { .string($0.text) } ?? .null),
                ("traces", .array(page.traces.map(Self.traceSummaryJSON))),
            ]))
    }

    static func traceFilter(_ parameters: QueryParameters) throws(ParameterError) -> TraceFilter {
        var filter = TraceFilter()
        filter.service = try text(parameters, "service", maxBytes: 1024)
        filter.name = try text(parameters, "name", maxBytes: 1024)
        filter.host = try parameters.host()
        if let text = parameters["min_duration_ms"] {
            // Any JSON number spelling (an OpenAPI client may send `1e-05`); NaN and ±Inf are not finite.
            guard let value = Double(text), value.isFinite, value >= 0, value <= maxTraceDurationMs else {
                throw ParameterError(
                    "min_duration_ms", "'\(text.prefix(40))' is not a number of milliseconds between 0 and 86400000")
            }
            filter.minDurationNs = Int64((value * 1_000_000).rounded(.up))
        }
        if let status = parameters["status"] {
            guard status == "error" else { throw ParameterError("status", "'\(status.prefix(40))' is not error") }
            filter.errorsOnly = true
        }
        return filter
    }

    static func traceSummaryJSON(_ trace: TraceSummary) -> JSONValue {
        .object([
            ("trace_id", .string(trace.traceID)),
            (
                "root",
                .object([
                    ("span_id", .string(trace.rootSpanID)), ("name", .string(trace.rootName)),
                    ("service", .string(trace.rootService)), ("kind", .string(trace.rootKind)),
                    ("missing", .bool(trace.rootMissing)),
                ])
            ),
            ("start", .string(Timestamp.iso8601(ms: trace.startUs / 1000))),
            ("duration_ms", .number(Double(trace.durationNs) / 1e6)),
            ("span_count", .number(Double(trace.spanCount))),
            ("error_count", .number(Double(trace.errorCount))),
            ("services", .array(trace.services.map { .string($0) })),
        ])
    }

    /// The trace id at the end of `/…/traces/{trace_id}`: 32 hex digits, lowered (upper case is
    /// accepted, as W3C `traceparent` readers do). The all-zero id (invalid in W3C, never
    /// stored) passes, as the published pattern says, and is simply not found.
    static func traceID(fromPath path: String) throws(ParameterError) -> String {
        let last = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        let id = last.lowercased()
        guard id.utf8.count == 32, id.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw ParameterError("trace_id", "'\(last.prefix(40))' is not a trace id (32 hex digits)")
        }
        return id
    }

    /// `GET /api/monitoring/traces/{trace_id}`: the span tree with self times and the critical path.
    func trace(_ request: Request) async throws -> Response {
        _ = try QueryParameters(request, allowed: [])
        let traceID = try Self.traceID(fromPath: request.uri.path)
        let (spans, truncated) = try await store.traceSpans(traceID)
        guard !spans.isEmpty else {
            throw APIError(
                status: .notFound, code: "trace_not_found", message: "no stored span has trace id \(traceID)")
        }
        let full = role(request) == .admin
        return .json(Self.traceJSON(traceID, TraceTree(spans), truncated: truncated, full: full))
    }

    /// `full` (an admin) shows every stored attribute, event and status message; a viewer sees
    /// what `SpanDisclosure` lets through, with the count held back per span.
    static func traceJSON(_ traceID: String, _ tree: TraceTree, truncated: Bool, full: Bool = true) -> JSONValue {
        let nodes = tree.nodes
        let ms = { (ns: Int64) -> JSONValue in .number(Double(ns) / 1e6) }
        let root = tree.root.map { nodes[$0] }
        return .object([
            ("trace_id", .string(traceID)),
            ("start", .string(Timestamp.iso8601(ms: tree.startNs / 1_000_000))),
            ("duration_ms", ms(tree.durationNs)),
            ("span_count", .number(Double(nodes.count))),
            ("error_count", .number(Double(nodes.filter { $0.span.status == "error" }.count))),
            ("services", .array(Set(nodes.map(\.span.service)).sorted().map { .string($0) })),
            ("root_span_id", root.map { .string($0.span.spanID) } ?? .null),
            ("max_depth", .number(Double(tree.maxDepth))),
            ("duplicates", .number(Double(tree.duplicates))),
            ("truncated", .bool(truncated)),
            ("critical_path", .array(tree.criticalPath.map { .string($0) })),
            ("details", .string(full ? "full" : "viewer")),
            (
                "spans",
                .array(
                    nodes.map { node in
                        let span = node.span
                        var attributes = (try? JSONParser.parse(span.attributes.utf8)) ?? .object([])
                        var events = (try? JSONParser.parse(span.events.utf8)) ?? .array([])
                        var statusMessage = span.statusMessage
                        var hidden = 0
                        if !full {
                            let (shownAttributes, heldAttributes) = SpanDisclosure.viewerAttributes(attributes)
                            let (shownEvents, heldEvents) = SpanDisclosure.viewerEvents(events)
                            attributes = shownAttributes
                            events = shownEvents
                            hidden = heldAttributes + heldEvents + (statusMessage.isEmpty ? 0 : 1)
                            statusMessage = ""
                        }
                        return .object([
                            ("span_id", .string(span.spanID)),
                            ("parent_span_id", span.parentSpanID.map { .string($0) } ?? .null),
                            ("depth", .number(Double(node.depth))),
                            ("service", .string(span.service)), ("name", .string(span.name)),
                            ("kind", .string(span.kind)), ("host", .string(span.host)),
                            ("start", .string(Timestamp.iso8601(ms: span.startNs / 1_000_000))),
                            ("offset_ms", ms(span.startNs &- tree.startNs)),
                            ("duration_ms", ms(span.durationNs)), ("self_time_ms", ms(node.selfTimeNs)),
                            ("status", .string(span.status)), ("status_message", .string(statusMessage)),
                            ("critical", .bool(node.onCriticalPath)),
                            ("missing_parent", .bool(node.missingParent)), ("cycle", .bool(node.inCycle)),
                            ("children", .number(Double(node.children.count))),
                            ("attributes", attributes), ("events", events), ("hidden_details", .number(Double(hidden))),
                        ])
                    })
            ),
        ])
    }
}
