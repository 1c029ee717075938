// Fuzz target: the HTTP API's query-parameter parsing that lives in MonCore.
//
// The input is a URL query string (`period=1h&step=5m&since=...`). It is split on '&'
// and '=' and percent-decoded here (the real splitting is Hummingbird's, in MonQuery),
// then each value is handed to the MonCore functions the handlers call:
// DurationText.seconds (period, step, since, window), TimeRange(period:step:nowMs:),
// LogCursor(parsing:) (cursor), LogLevel(parsing:) (level), ExportKind(rawValue:) (type),
// LogFilter.matches on the resulting filter, and the Authorization header check
// (Authenticator.role) on the value of `authorization`; the trace routes' parts:
// TraceCursor(parsing:) (their cursor), InstantText and the absolute TimeRange (from/to),
// and what a viewer sees of a span (SpanDisclosure) on each value read as JSON.
// Invariants:
//  - DurationText: the result is in 1...400 days, `format` of it parses back to it;
//  - TimeRange: 0 < step ≤ period, period/step ≤ 2000 points, end − start = period;
//    Timestamp.iso8601 of both ends does not trap;
//  - LogCursor, TraceCursor: `text` of a parsed cursor parses back to it;
//  - from/to: an accepted range has from < to, to ≤ now + 1 h, within the span limits;
//  - SpanDisclosure: it shows no key outside its list, and shown + hidden = what there was;
//  - parameter errors name a parameter and have a message.
import FuzzMain
import FuzzSupport
import MonAgentKit
import MonCore
import MonQueryKit

let nowMs: Int64 = 1_795_927_350_123

func percentDecode(_ part: Substring) -> String {
    String(decoding: percentDecoded(part.utf8, plusAsSpace: true), as: UTF8.self)
}

func checkError(_ error: ParameterError) {
    invariant(!error.parameter.isEmpty && !error.message.isEmpty, "empty ParameterError \(error)")
}

func checkDuration(_ text: String, _ parameter: String) {
    do {
        let seconds = try DurationText.seconds(text, parameter: parameter)
        invariant(seconds >= 1 && seconds <= DurationText.maximumSeconds, "duration \(seconds) out of range")
        let formatted = DurationText.format(seconds: seconds)
        let again = try? DurationText.seconds(formatted, parameter: parameter)
        invariant(again == seconds, "'\(formatted)' (format of '\(text)') does not parse back to \(seconds)")
    } catch {
        invariant(error.parameter == parameter, "error names '\(error.parameter)', not '\(parameter)'")
        checkError(error)
    }
}

func checkRange(period: String?, step: String?) {
    do {
        let range = try TimeRange(period: period, step: step, nowMs: nowMs)
        invariant(range.stepSeconds > 0 && range.stepSeconds <= range.periodSeconds, "bad step in \(range)")
        invariant(range.periodSeconds / range.stepSeconds <= TimeRange.maximumPoints, "too many points in \(range)")
        invariant(range.endMs - range.startMs == range.periodSeconds * 1000 && range.endMs == nowMs, "bad window")
        _ = Timestamp.iso8601(ms: range.startMs)
        _ = Timestamp.iso8601(ms: range.endMs)
        _ = DurationText.format(seconds: range.stepSeconds)
    } catch {
        checkError(error)
    }
}

func checkAbsolute(from: String?, to: String?, period: String?) {
    guard from != nil || to != nil else { return }
    do {
        let range = try TimeRange(period: period, from: from, to: to, step: nil, nowMs: nowMs)
        invariant(period == nil && from != nil, "from/to accepted with a period or without from")
        invariant(range.startMs < range.endMs, "empty range \(range)")
        invariant(range.endMs <= nowMs + TimeRange.maximumAheadMs, "to too far ahead in \(range)")
        invariant(range.stepSeconds > 0 && range.periodSeconds / range.stepSeconds <= TimeRange.maximumPoints, "step")
        _ = Timestamp.iso8601(ms: range.startMs)
        _ = Timestamp.iso8601(ms: range.endMs)
    } catch {
        checkError(error)
    }
}

func checkDisclosure(_ json: JSONValue) {
    let (shown, hidden) = SpanDisclosure.viewerAttributes(json)
    if case .object(let pairs) = json, case .object(let kept) = shown {
        invariant(kept.allSatisfy { SpanDisclosure.viewerKeys.contains($0.0) }, "a key outside the list shown")
        invariant(kept.count + hidden == pairs.count, "shown + hidden != attributes")
    }
    let (events, _) = SpanDisclosure.viewerEvents(json)
    if case .array(let list) = events {
        for case .object(let pairs) in list {
            if case .object(let kept)? = pairs.first(where: { $0.0 == "attributes" })?.1 {
                invariant(kept.allSatisfy { SpanDisclosure.viewerKeys.contains($0.0) }, "an event key outside the list")
            }
        }
    }
    _ = shown.encoded()
    _ = events.encoded()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    let query = String(decoding: input, as: UTF8.self)
    var parameters: [String: String] = [:]
    for pair in query.split(separator: "&", omittingEmptySubsequences: true).prefix(32) {
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let name = percentDecode(parts[0])
        let value = parts.count > 1 ? percentDecode(parts[1]) : ""
        parameters[name] = value

        // Every value is tried as each kind of parameter, whatever its name.
        checkDuration(value, name.isEmpty ? "period" : name)
        if let cursor = try? LogCursor(parsing: value) {
            invariant(cursor.timestampUs >= 0 && cursor.id >= 0, "negative cursor \(cursor)")
            invariant((try? LogCursor(parsing: cursor.text)) == cursor, "cursor text does not parse back")
        }
        if let cursor = try? TraceCursor(parsing: value) {
            invariant(cursor.startUs >= 0 && cursor.traceID.utf8.count == 32, "bad trace cursor \(cursor)")
            invariant((try? TraceCursor(parsing: cursor.text)) == cursor, "trace cursor text does not parse back")
        }
        if let ms = try? InstantText.milliseconds(value, parameter: "from") {
            invariant(ms >= 0 && ms < InstantText.endMs, "instant \(ms) out of range from '\(value)'")
        }
        _ = LogLevel(parsing: value)
        _ = ExportKind(rawValue: value)
        if let json = try? JSONParser.parse(value.utf8) { checkDisclosure(json) }
    }
    checkAbsolute(from: parameters["from"], to: parameters["to"], period: parameters["period"])
    checkRange(period: parameters["period"], step: parameters["step"])
    checkRange(period: parameters["since"] ?? "24h", step: nil)
    if let window = parameters["window"] { checkDuration(window, "window") }

    var filter = LogFilter()
    filter.level = parameters["level"].flatMap(LogLevel.init(parsing:))
    filter.service = parameters["service"]
    filter.host = parameters["host"]
    filter.traceID = parameters["trace_id"]
    filter.query = parameters["q"]
    let log = StoredLog(
        id: 1, host: parameters["host"] ?? "web-1",
        record: LogRecord(
            timestampMs: nowMs, level: .error, service: parameters["service"] ?? "api",
            event: "search failed: timeout after 30s", traceID: parameters["trace_id"],
            fields: #"{"path":"/v1/search","status":504}"#))
    _ = filter.matches(log)

    if let authorization = parameters["authorization"] {
        let authenticator = Authenticator(tokens: [
            .init(name: "ci", role: .admin, hash: Array(repeating: 0xAB, count: 32))
        ])
        _ = authenticator.role(authorization: authorization)
    }
    return 0
}

/// The entry point SwiftPM links this executable with; runs libFuzzer.
@_cdecl("FuzzQueryParams_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    mon_fuzz_main(argc, argv)
}
