import Foundation
import MonCore

/// Turns an `ExportTraceServiceRequest` into redacted `SpanRecord`s the wire accepts.
///
/// - service: the resource's `service.name`, else `defaultService`;
/// - attributes: one JSON object of the span's attributes, then the resource's other
///   attributes under `resource.` keys and the instrumentation scope as `otel.scope.name` /
///   `otel.scope.version` (a span's own key wins over neither: they cannot collide);
///   values keep their JSON type (ints as numbers, bytes as base64 strings), strings are cut
///   at `maxAttributeBytes`, and the whole object at `maxAttributesBytes` (the rest counted
///   in `otel.dropped_attributes_count`);
/// - events: a JSON array of at most `maxEvents` `{"name","time_unix_nano","attributes"}`
///   (the rest counted in `otel.dropped_events_count`);
/// - redaction with the log rules (`logs.redact_keys`, `logs.redact_patterns`): an attribute
///   whose key names a secret (`http.request.header.authorization`, `…cookie`) is masked
///   whole; patterns mask tokens in every string; besides, `db.statement` / `db.query.text`
///   have their literals replaced by `?` and URL attributes (`url.full`, `http.url`,
///   `url.query`, `http.target`) the values of query parameters with a secret name.
///
/// A span with an invalid trace or span id, an invalid parent id, no start time, or an end
/// before its start is refused, counted by reason, and reported in the partial success.
public struct SpanConverter: Sendable {
    let redactor: Redactor
    let defaultService: String
    let maxEvents: Int
    let maxAttributeBytes: Int
    /// The attributes' (and the events') JSON text at most (well under the wire's 4 MiB).
    let maxAttributesBytes: Int

    /// The longest service, name or status message the wire takes (`WireMessage.maxStringBytes`,
    /// internal to MonCore; `BatchCodec.fitsWire` checks every span against it in the tests).
    static let maxShortBytes = 64 * 1024

    public init(
        redactor: Redactor, defaultService: String, maxEvents: Int = 16, maxAttributeBytes: Int = 4096,
        maxAttributesBytes: Int = 256 << 10
    ) {
        self.redactor = redactor
        self.defaultService = defaultService
        self.maxEvents = maxEvents
        self.maxAttributeBytes = maxAttributeBytes
        self.maxAttributesBytes = maxAttributesBytes
    }

    public init(config: TracesConfig, logs: LogsConfig) throws {
        self.init(
            redactor: try Redactor(keys: logs.redactKeys, patterns: logs.redactPatterns),
            defaultService: config.defaultService, maxEvents: config.maxEventsPerSpan,
            maxAttributeBytes: config.maxAttributeBytes)
    }

    /// Why a span was refused (the `reason` label of `mon_agent_traces_spans_rejected_total`).
    public enum Rejection: String, Error, Sendable, CaseIterable {
        case invalidTraceID = "invalid_trace_id"
        case invalidSpanID = "invalid_span_id"
        case invalidParentSpanID = "invalid_parent_span_id"
        case invalidTime = "invalid_time"
        case endBeforeStart = "end_before_start"

        var message: String {
            switch self {
            case .invalidTraceID: return "trace_id is not 16 bytes, or is all zero"
            case .invalidSpanID: return "span_id is not 8 bytes, or is all zero"
            case .invalidParentSpanID: return "parent_span_id is not empty or 8 bytes"
            case .invalidTime: return "start_time_unix_nano is 0 or beyond 2262"
            case .endBeforeStart: return "end_time_unix_nano is before start_time_unix_nano"
            }
        }
    }

    public struct Result: Sendable {
        public var spans: [SpanRecord] = []
        public var rejected: [Rejection: Int] = [:]
        /// Values masked.
        public var redactions = 0
        /// Strings, attributes or events cut or left out to stay within the bounds.
        public var truncations = 0

        public var rejectedCount: Int { rejected.values.reduce(0, +) }

        /// The partial success's `error_message`: each reason with its count.
        public var rejectionMessage: String {
            rejected.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($1) span(s) refused: \($0.message)" }
                .joined(separator: "; ")
        }
    }

    public func convert(_ request: OTLPExportRequest) -> Result {
        var result = Result()
        for resourceSpans in request.resourceSpans {
            var service = defaultService
            var resourcePairs: [(String, JSONValue)] = []
            for pair in resourceSpans.resource.attributes {
                if pair.key == "service.name", case .stringValue(let name)? = pair.value.value, !name.isEmpty {
                    service = name
                } else {
                    resourcePairs.append(("resource." + pair.key, json(pair.value, &result, depth: 0)))
                }
            }
            service = cut(service, Self.maxShortBytes, &result)
            for scopeSpans in resourceSpans.scopeSpans {
                var scopePairs = resourcePairs
                if !scopeSpans.scope.name.isEmpty {
                    scopePairs.append(
                        ("otel.scope.name", .string(cut(scopeSpans.scope.name, maxAttributeBytes, &result))))
                }
                if !scopeSpans.scope.version.isEmpty {
                    scopePairs.append(
                        ("otel.scope.version", .string(cut(scopeSpans.scope.version, maxAttributeBytes, &result))))
                }
                for span in scopeSpans.spans {
                    switch record(span, service: service, extra: scopePairs, &result) {
                    case .success(let record): result.spans.append(record)
                    case .failure(let rejection): result.rejected[rejection, default: 0] += 1
                    }
                }
            }
        }
        return result
    }

    private func record(
        _ span: OTLPSpan, service: String, extra: [(String, JSONValue)], _ result: inout Result
    ) -> Swift.Result<SpanRecord, Rejection> {
        guard let traceID = Self.hexID(span.traceID, bytes: 16) else { return .failure(.invalidTraceID) }
        guard let spanID = Self.hexID(span.spanID, bytes: 8) else { return .failure(.invalidSpanID) }
        var parent: String? = nil
        if !span.parentSpanID.isEmpty {
            guard let id = Self.hexID(span.parentSpanID, bytes: 8) else { return .failure(.invalidParentSpanID) }
            parent = id
        }
        guard span.startTimeUnixNano > 0, span.startTimeUnixNano <= UInt64(Int64.max) else {
            return .failure(.invalidTime)
        }
        guard span.endTimeUnixNano >= span.startTimeUnixNano else { return .failure(.endBeforeStart) }
        let start = Int64(span.startTimeUnixNano)
        let duration = Int64(clamping: span.endTimeUnixNano - span.startTimeUnixNano)

        var pairs: [(String, JSONValue)] = []
        pairs.reserveCapacity(span.attributes.count + extra.count)
        for pair in span.attributes { pairs.append((pair.key, json(pair.value, &result, depth: 0))) }
        pairs.append(contentsOf: extra)
        var dropped = Int(span.droppedAttributesCount)
        let attributes = boundedObject(redact(pairs, &result), dropped: &dropped, &result)

        var events: [JSONValue] = []
        var droppedEvents = Int(span.droppedEventsCount)
        for event in span.events.prefix(maxEvents) {
            var eventPairs: [(String, JSONValue)] = []
            for pair in event.attributes { eventPairs.append((pair.key, json(pair.value, &result, depth: 0))) }
            events.append(
                .object([
                    ("name", .string(cut(event.name, maxAttributeBytes, &result))),
                    ("time_unix_nano", .number(Double(event.timeUnixNano))),
                    ("attributes", .object(redact(eventPairs, &result))),
                ]))
        }
        if span.events.count > maxEvents {
            droppedEvents += span.events.count - maxEvents
            result.truncations += 1
        }
        var eventsText = JSONValue.array(events).encoded()
        while eventsText.utf8.count > maxAttributesBytes, !events.isEmpty {
            events.removeLast()
            droppedEvents += 1
            result.truncations += 1
            eventsText = JSONValue.array(events).encoded()
        }
        var attributesText = attributes
        if droppedEvents > 0 || dropped > 0 {
            // Appended to the object text: `{…}` → `{…,"otel.dropped_…":n}`.
            var suffix: [(String, JSONValue)] = []
            if dropped > 0 { suffix.append(("otel.dropped_attributes_count", .number(Double(dropped)))) }
            if droppedEvents > 0 { suffix.append(("otel.dropped_events_count", .number(Double(droppedEvents)))) }
            let tail = JSONValue.object(suffix).encoded().dropFirst()
            attributesText = String(attributesText.dropLast()) + (attributesText == "{}" ? "" : ",") + tail
        }
        var statusMessage = ""
        if span.status.code == .error {
            var count = 0
            statusMessage = cut(redactor.redact(span.status.message, count: &count), maxAttributeBytes, &result)
            result.redactions += count
        }
        let status: SpanStatus
        switch span.status.code {
        case .ok: status = .ok
        case .error: status = .error
        default: status = .unset
        }
        return .success(
            SpanRecord(
                traceID: traceID, spanID: spanID, parentSpanID: parent, service: service,
                name: cut(span.name, min(maxAttributeBytes, Self.maxShortBytes), &result),
                kind: SpanKind(rawValue: UInt8(clamping: max(0, span.kind.rawValue))) ?? .unspecified, startNs: start,
                durationNs: duration, status: status, statusMessage: statusMessage, attributes: attributesText,
                events: eventsText))
    }

    // MARK: Values

    /// An attribute value as JSON (strings cut at `maxAttributeBytes`).
    func json(_ value: OTLPAnyValue, _ result: inout Result, depth: Int) -> JSONValue {
        switch value.value {
        case nil: return .null
        case .stringValue(let text)?: return .string(cut(text, maxAttributeBytes, &result))
        case .boolValue(let flag)?: return .bool(flag)
        case .intValue(let number)?: return .number(Double(number))
        case .doubleValue(let number)?: return .number(number)
        case .bytesValue(let data)?:
            return .string(cut(data.prefix(maxAttributeBytes).base64EncodedString(), maxAttributeBytes * 2, &result))
        case .arrayValue(let array)?:
            guard depth < 16 else {
                result.truncations += 1
                return .null
            }
            return .array(array.values.map { json($0, &result, depth: depth + 1) })
        case .kvlistValue(let list)?:
            guard depth < 16 else {
                result.truncations += 1
                return .null
            }
            return .object(list.values.map { ($0.key, json($0.value, &result, depth: depth + 1)) })
        }
    }

    /// The pairs redacted: secret keys masked whole, SQL literals and URL query secrets
    /// replaced, patterns masked in every string.
    func redact(_ pairs: [(String, JSONValue)], _ result: inout Result) -> [(String, JSONValue)] {
        var count = 0
        let cleaned: [(String, JSONValue)] = pairs.map { key, value in
            guard case .string(let text) = value else { return (key, value) }
            if Self.statementKeys.contains(key) {
                let scrubbed = SQLLiterals.scrub(text)
                if scrubbed != text { count += 1 }
                return (key, .string(scrubbed))
            }
            if Self.urlKeys.contains(key) {
                let scrubbed = URLQuerySecrets.scrub(text, isSecret: redactor.isSecretKey)
                if scrubbed != text { count += 1 }
                return (key, .string(scrubbed))
            }
            return (key, value)
        }
        guard case .object(let out) = redactor.redact(.object(cleaned), count: &count) else { return cleaned }
        result.redactions += count
        return out
    }

    static let statementKeys: Set = ["db.statement", "db.query.text"]
    static let urlKeys: Set = ["url.full", "http.url", "url.query", "http.target", "url.original"]

    /// The object's text, with pairs left out from the end while it is above `maxAttributesBytes`.
    private func boundedObject(_ pairs: [(String, JSONValue)], dropped: inout Int, _ result: inout Result) -> String {
        var kept = pairs
        var text = JSONValue.object(kept).encoded()
        guard text.utf8.count > maxAttributesBytes else { return text }
        // Keep the longest prefix that fits: sizes per pair are additive (plus a comma).
        var size = 2
        var count = 0
        for (key, value) in pairs {
            let pairSize = JSONValue.object([(key, value)]).encoded().utf8.count - 2 + (count > 0 ? 1 : 0)
            guard size + pairSize <= maxAttributesBytes - 64 else { break }
            size += pairSize
            count += 1
        }
        dropped += pairs.count - count
        result.truncations += 1
        kept = Array(pairs.prefix(count))
        text = JSONValue.object(kept).encoded()
        return text
    }

    private func cut(_ text: String, _ bytes: Int, _ result: inout Result) -> String {
        guard text.utf8.count > bytes else { return text }
        result.truncations += 1
        return text.prefix(utf8Bytes: bytes)
    }

    /// `data` as lowercase hex when it is `bytes` long and not all zero.
    static func hexID(_ data: Data, bytes: Int) -> String? {
        guard data.count == bytes, data.contains(where: { $0 != 0 }) else { return nil }
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes * 2)
        for byte in data {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Replaces the literals of an SQL statement by `?` (`WHERE email = 'a@b.c' AND id = 42` →
/// `WHERE email = ? AND id = ?`): quoted strings (with `''` escapes, and `E'…'` escapes),
/// dollar-quoted strings, and numbers not part of a name. Identifiers in double quotes,
/// `$1` placeholders and comments are kept.
public enum SQLLiterals {
    public static func scrub(_ sql: String) -> String {
        let bytes = Array(sql.utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var index = 0
        func isWord(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: "_") || byte >= 0x80
                || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "'"):
                // A string, to its closing quote ('' is an escaped quote; \' inside E'').
                let escapes =
                    index > 0 && (bytes[index - 1] | 0x20) == UInt8(ascii: "e")
                    && (index < 2 || !isWord(bytes[index - 2]))
                if escapes { out.removeLast() }
                index += 1
                while index < bytes.count {
                    if escapes, bytes[index] == UInt8(ascii: "\\") {
                        index += 2
                        continue
                    }
                    if bytes[index] == UInt8(ascii: "'") {
                        if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "'") {
                            index += 2
                            continue
                        }
                        break
                    }
                    index += 1
                }
                index += 1
                out.append(UInt8(ascii: "?"))
            case UInt8(ascii: "\""):
                // A quoted identifier: kept.
                let start = index
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") { index += 1 }
                index = min(index + 1, bytes.count)
                out.append(contentsOf: bytes[start..<index])
            case UInt8(ascii: "$"):
                // $1 (a placeholder) is kept; $tag$…$tag$ is a string.
                var end = index + 1
                while end < bytes.count, isWord(bytes[end]), bytes[end] != UInt8(ascii: "$") { end += 1 }
                if end < bytes.count, bytes[end] == UInt8(ascii: "$"),
                    !(index + 1 < end && bytes[index + 1...end - 1].allSatisfy { $0 >= 0x30 && $0 <= 0x39 })
                {
                    let tag = Array(bytes[index...end])
                    var search = end + 1
                    var close = bytes.count
                    while search + tag.count <= bytes.count {
                        if Array(bytes[search..<search + tag.count]) == tag {
                            close = search + tag.count
                            break
                        }
                        search += 1
                    }
                    out.append(UInt8(ascii: "?"))
                    index = close
                } else {
                    out.append(contentsOf: bytes[index..<end])
                    index = end
                }
            case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"):
                // A comment, to the end of the line: kept.
                let start = index
                while index < bytes.count, bytes[index] != 0x0A { index += 1 }
                out.append(contentsOf: bytes[start..<index])
            case UInt8(ascii: "0")...UInt8(ascii: "9") where index == 0 || !isWord(bytes[index - 1]):
                // A number (digits, a point, an exponent); part of a name when a letter precedes it.
                while index < bytes.count,
                    isWord(bytes[index]) || bytes[index] == UInt8(ascii: ".")
                        || ((bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-"))
                            && (bytes[index - 1] | 0x20) == UInt8(ascii: "e"))
                {
                    index += 1
                }
                out.append(UInt8(ascii: "?"))
            default:
                out.append(byte)
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Masks the values of URL query parameters whose name is a secret (`?token=…&page=2` →
/// `?token=[REDACTED]&page=2`), in a full URL or a query string.
public enum URLQuerySecrets {
    /// Names masked besides those `isSecret` recognises (signatures and one-time codes).
    static let extraNames: Set = [
        "sig", "signature", "code", "key", "auth", "session", "sessionid", "jwt", "x-amz-signature",
    ]

    public static func scrub(_ text: String, isSecret: (String) -> Bool) -> String {
        let queryStart: String.Index
        if let mark = text.firstIndex(of: "?") {
            queryStart = text.index(after: mark)
        } else if !text.contains("://"), !text.hasPrefix("/") {
            queryStart = text.startIndex
        } else {
            return text
        }
        let fragment = text[queryStart...].firstIndex(of: "#") ?? text.endIndex
        let query = text[queryStart..<fragment]
        var changed = false
        let parts = query.split(separator: "&", omittingEmptySubsequences: false).map { part -> String in
            guard let equals = part.firstIndex(of: "=") else { return String(part) }
            let name = String(part[..<equals])
            let decoded = (name.removingPercentEncoding ?? name).lowercased()
            guard isSecret(decoded) || extraNames.contains(decoded) else { return String(part) }
            changed = true
            return name + "=" + Redactor.mask
        }
        guard changed else { return text }
        return String(text[..<queryStart]) + parts.joined(separator: "&") + String(text[fragment...])
    }
}
