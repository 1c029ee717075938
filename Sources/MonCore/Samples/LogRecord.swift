/// One application log line, parsed and redacted by the agent.
///
/// Stored in the `logs` table (partitioned by day, full-text indexed). `source` and
/// `offset` identify the line in its file, so a line re-read after an agent restart is
/// stored once.
public struct LogRecord: Sendable, Hashable {
    /// Milliseconds since the epoch: the line's own timestamp, else when it was read.
    public var timestampMs: Int64
    /// Normalized level: `debug`, `info`, `warning`, `error` or `critical`.
    public var level: LogLevel
    /// The service that wrote it (`service` field, else the configured default).
    public var service: String
    /// structlog's `event` (or `msg` / `message`); the whole line for non-JSON lines.
    public var event: String
    /// Logger name, when the line carries one.
    public var logger: String?
    /// `trace_id` / `request_id`, when present.
    public var traceID: String?
    /// Every other field, as a JSON object text.
    public var fields: String
    /// The file the line came from (`path@device:inode`), empty for other inputs.
    public var source: String
    /// Byte offset of the line in that file.
    public var offset: Int64

    public init(
        timestampMs: Int64, level: LogLevel, service: String, event: String, logger: String? = nil,
        traceID: String? = nil, fields: String = "{}", source: String = "", offset: Int64 = 0
    ) {
        self.timestampMs = timestampMs
        self.level = level
        self.service = service
        self.event = event
        self.logger = logger
        self.traceID = traceID
        self.fields = fields
        self.source = source
        self.offset = offset
    }
}

/// Log levels, ordered, with the numbers Python's logging uses.
public enum LogLevel: Int, Sendable, Hashable, Comparable, CaseIterable {
    case debug = 10
    case info = 20
    case warning = 30
    case error = 40
    case critical = 50

    public var name: String {
        switch self {
        case .debug: return "debug"
        case .info: return "info"
        case .warning: return "warning"
        case .error: return "error"
        case .critical: return "critical"
        }
    }

    /// Parses the spellings of Python, structlog, Go, Java and syslog (case-insensitive).
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "trace", "debug", "dbg", "verbose": self = .debug
        case "info", "information", "notice", "informational": self = .info
        case "warn", "warning": self = .warning
        case "error", "err", "exception", "fail", "failure": self = .error
        case "critical", "crit", "fatal", "panic", "alert", "emerg", "emergency", "severe": self = .critical
        default: return nil
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}
