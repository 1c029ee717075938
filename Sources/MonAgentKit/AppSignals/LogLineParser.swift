import MonCore

/// An HTTP request a log event describes (fed to the same histogram as StatsD timers).
public struct RequestObservation: Sendable, Equatable {
    public var endpoint: String
    public var method: String
    public var status: String
    public var seconds: Double
}

/// What became of one line.
public struct ParsedLogLine: Sendable {
    public var record: LogRecord
    public var request: RequestObservation?
    /// False for a line that is not a JSON object (kept whole as the event).
    public var structured: Bool
    /// The line was not valid UTF-8 (kept with replacement characters).
    public var invalidUTF8: Bool
    /// Values masked by redaction.
    public var redactions: Int
}

/// Turns a log line (structlog JSON or plain text) into a redacted `LogRecord`.
public struct LogLineParser: Sendable {
    public let config: LogsConfig
    let redactor: Redactor

    static let timestampKeys = ["timestamp", "time", "ts", "@timestamp", "asctime", "datetime"]
    static let levelKeys = ["level", "levelname", "severity", "log.level", "lvl", "loglevel"]
    static let eventKeys = ["event", "msg", "message"]
    static let loggerKeys = ["logger", "logger_name", "name"]
    static let serviceKeys = ["service", "service_name", "app"]
    static let traceKeys = ["trace_id", "request_id", "traceId", "correlation_id", "x_request_id"]

    public init(config: LogsConfig) throws {
        self.config = config
        redactor = try Redactor(keys: config.redactKeys, patterns: config.redactPatterns)
    }

    /// Parses one line (without its newline). `readMs` stands in for a missing timestamp.
    public func parse(_ bytes: some Collection<UInt8>, source: String, offset: Int64, readMs: Int64) -> ParsedLogLine {
        var invalid = false
        var text: String
        if let valid = String(validating: bytes, as: UTF8.self) {
            text = valid
        } else {
            invalid = true
            text = String(decoding: bytes, as: UTF8.self)
        }
        if text.utf8.contains(0) { text = text.replacingOccurrences(of: "\u{0}", with: "") }
        var redactions = 0
        if !invalid, text.utf8.first == UInt8(ascii: "{"), case .object(let pairs)? = try? JSONParser.parse(text.utf8) {
            var parsed = structured(pairs, source: source, offset: offset, readMs: readMs, redactions: &redactions)
            parsed.redactions = redactions
            return parsed
        }
        let event = redactor.redact(text, count: &redactions)
        let record = LogRecord(
            timestampMs: readMs, level: Self.plainLevel(text) ?? .info, service: config.service, event: event,
            source: source, offset: offset)
        return ParsedLogLine(
            record: record, request: nil, structured: false, invalidUTF8: invalid, redactions: redactions)
    }

    private func structured(
        _ pairs: [(String, JSONValue)], source: String, offset: Int64, readMs: Int64, redactions: inout Int
    ) -> ParsedLogLine {
        var rest: [(String, JSONValue)] = []
        // At most six keys: an array, not a hashed set (hashing was 4 % of the agent's CPU per line).
        var taken: [String] = []
        taken.reserveCapacity(6)
        func take(_ keys: [String]) -> JSONValue? {
            for key in keys where !taken.contains(key) {
                if let value = pairs.first(where: { $0.0 == key })?.1, value != .null {
                    taken.append(key)
                    return value
                }
            }
            return nil
        }
        let timestamp = take(Self.timestampKeys).flatMap(Self.timestampMs)
        let level = take(Self.levelKeys).flatMap { $0.stringValue.flatMap(LogLevel.init(parsing:)) } ?? .info
        let event = take(Self.eventKeys).map(Self.text) ?? ""
        let logger = take(Self.loggerKeys).map(Self.text)
        let service = take(Self.serviceKeys).map(Self.text)
        let trace = take(Self.traceKeys).map(Self.text)
        for pair in pairs where !taken.contains(pair.0) { rest.append(pair) }
        let request = requestObservation(pairs)
        let fields = redactor.redact(.object(rest), count: &redactions)
        func clean(_ text: String?) -> String? {
            text.map { Self.cut(redactor.redact($0, count: &redactions), 200) }
        }
        let record = LogRecord(
            timestampMs: timestamp ?? readMs, level: level, service: clean(service) ?? config.service,
            event: redactor.redact(event, count: &redactions), logger: clean(logger), traceID: clean(trace),
            fields: fields.encoded(), source: source, offset: offset)
        return ParsedLogLine(record: record, request: request, structured: true, invalidUTF8: false, redactions: 0)
    }

    /// The request an access-log event describes, when it has a path, a status and a duration.
    func requestObservation(_ pairs: [(String, JSONValue)]) -> RequestObservation? {
        func first(_ keys: [String]) -> (key: String, value: JSONValue)? {
            for key in keys {
                if let value = pairs.first(where: { $0.0 == key })?.1, value != .null { return (key, value) }
            }
            return nil
        }
        guard let path = first(config.request.pathKeys)?.value.stringValue, path.hasPrefix("/") || path.contains("://"),
            let status = first(config.request.statusKeys).map({ Self.text($0.value) }),
            let duration = first(config.request.durationKeys)
        else { return nil }
        let raw: Double?
        switch duration.value {
        case .number(let number): raw = number
        case .string(let text): raw = Double(text)
        default: raw = nil
        }
        guard let value = raw, value.isFinite, value >= 0 else { return nil }
        let seconds: Double
        if duration.key.hasSuffix("_ms") {
            seconds = value / 1000
        } else if duration.key.hasSuffix("_s") || duration.key.hasSuffix("_seconds") {
            seconds = value
        } else {
            seconds = config.request.durationUnitSeconds ? value : value / 1000
        }
        let method = first(config.request.methodKeys).map { Self.text($0.value) } ?? ""
        return RequestObservation(endpoint: path, method: method, status: status, seconds: seconds)
    }

    static func text(_ value: JSONValue) -> String {
        if case .string(let text) = value { return text }
        return value.encoded()
    }

    static func cut(_ text: String, _ bytes: Int) -> String { text.prefix(utf8Bytes: bytes) }

    /// `INFO:     127.0.0.1 …` (uvicorn), `[ERROR] …`, `2026-… WARNING …`: the first level word.
    static func plainLevel(_ text: String) -> LogLevel? {
        for word in text.prefix(80).split(whereSeparator: { !$0.isLetter }).prefix(4) {
            guard word.count >= 4, word.allSatisfy(\.isUppercase) else { continue }
            if let level = LogLevel(parsing: String(word)) { return level }
        }
        return nil
    }

    /// Epoch seconds or milliseconds, or an ISO 8601 / RFC 3339 text (no zone = UTC).
    static func timestampMs(_ value: JSONValue) -> Int64? {
        switch value {
        case .number(let number):
            guard number.isFinite, number > 0 else { return nil }
            let ms = number > 1e11 ? number : number * 1000
            return ms < 1e14 ? Int64(ms) : nil
        case .string(let text):
            if let number = Double(text) { return timestampMs(.number(number)) }
            return ISO8601.parseMs(text)
        default:
            return nil
        }
    }
}
