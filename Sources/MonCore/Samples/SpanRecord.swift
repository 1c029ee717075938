/// One finished span of a distributed trace (OpenTelemetry's data model), as the agent received
/// it over OTLP and redacted it; stored in the `spans` table (partitioned by day of `startNs`).
///
/// Identifiers are lowercase hex (32 digits for a trace, 16 for a span), the spelling OTLP/JSON,
/// W3C `traceparent` and structlog's `trace_id` field share, so a log line's `trace_id` finds
/// its trace without conversion.
public struct SpanRecord: Sendable, Hashable {
    /// 32 lowercase hex digits, never all zero.
    public var traceID: String
    /// 16 lowercase hex digits, never all zero.
    public var spanID: String
    /// The parent's span id; nil for a root span (OTLP sends it empty).
    public var parentSpanID: String?
    /// The resource's `service.name` (else the agent's configured default).
    public var service: String
    /// The span's name (`GET /api/v1/search`, `SELECT`, `GET` for a Redis command…).
    public var name: String
    public var kind: SpanKind
    /// Start, nanoseconds since the epoch.
    public var startNs: Int64
    /// End minus start, nanoseconds (never negative).
    public var durationNs: Int64
    public var status: SpanStatus
    /// The status message (set with `error`), empty otherwise.
    public var statusMessage: String
    /// The span's attributes as a JSON object text (redacted; the resource's attributes other
    /// than `service.name` under `resource.` keys).
    public var attributes: String
    /// The span's events as a JSON array text of `{"name", "time_unix_nano", "attributes"}`
    /// (trimmed: at most a few, attributes redacted).
    public var events: String

    public init(
        traceID: String, spanID: String, parentSpanID: String? = nil, service: String, name: String,
        kind: SpanKind = .internal, startNs: Int64, durationNs: Int64, status: SpanStatus = .unset,
        statusMessage: String = "", attributes: String = "{}", events: String = "[]"
    ) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.service = service
        self.name = name
        self.kind = kind
        self.startNs = startNs
        self.durationNs = durationNs
        self.status = status
        self.statusMessage = statusMessage
        self.attributes = attributes
        self.events = events
    }
}

/// OTLP's `Span.SpanKind`, with its numbers.
public enum SpanKind: UInt8, Sendable, Hashable, CaseIterable {
    case unspecified = 0
    case `internal` = 1
    case server = 2
    case client = 3
    case producer = 4
    case consumer = 5

    /// The name the API and the `spans` table use.
    public var name: String {
        switch self {
        case .unspecified: return "unspecified"
        case .internal: return "internal"
        case .server: return "server"
        case .client: return "client"
        case .producer: return "producer"
        case .consumer: return "consumer"
        }
    }

    public init?(name: String) {
        guard let kind = SpanKind.allCases.first(where: { $0.name == name }) else { return nil }
        self = kind
    }
}

/// OTLP's `Status.StatusCode`, with its numbers.
public enum SpanStatus: UInt8, Sendable, Hashable, CaseIterable {
    case unset = 0
    case ok = 1
    case error = 2

    public var name: String {
        switch self {
        case .unset: return "unset"
        case .ok: return "ok"
        case .error: return "error"
        }
    }

    public init?(name: String) {
        guard let status = SpanStatus.allCases.first(where: { $0.name == name }) else { return nil }
        self = status
    }
}

extension SpanRecord {
    /// True for 32 (trace) or 16 (span) lowercase hex digits that are not all zero.
    public static func isValidID(_ text: String, hexDigits: Int) -> Bool {
        var count = 0
        var nonZero = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0"): break
            case UInt8(ascii: "1")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"): nonZero = true
            default: return false
            }
            count += 1
        }
        return count == hexDigits && nonZero
    }
}
