// Fuzz target: the agent's application-log path (JSON log lines).
//
// The input is a piece of a log file. Each line (split on '\n', as the tailer does) goes
// through LogLineParser.parse with the default configuration (redaction on); request
// observations go to an AppAggregator; the records and the flushed histograms are shipped
// as a batch. The whole input also goes to JSONParser.parse and ISO8601.parseMs.
// Invariants:
//  - JSON: a parsed document, encoded by JSONValue.encoded(), parses to an equal value,
//    and encoding that again gives the same text;
//  - a structured line was valid UTF-8; `fields` is always a JSON object text;
//  - every value under a secret key (password, token, ...) in `fields` is masked;
//  - logger, trace id and service are at most 200 bytes; a request has a finite
//    duration ≥ 0 and a path;
//  - the aggregated request histograms have counts ≤ Histogram.maxCount and a finite sum
//    (each request is recorded 100 000 times as well: huge durations overflow the sum,
//    which must be refused, never shipped as infinity);
//  - the batch with the records and histograms is accepted by the daemon's decoder.
import FuzzMain
import FuzzSupport
import MonAgentKit
import MonCore
import MonQueryKit

let config = LogsConfig()
let parser = try! LogLineParser(config: config)
let redactor = try! Redactor(keys: config.redactKeys, patterns: [])

func checkRedacted(_ value: JSONValue) {
    switch value {
    case .array(let values): values.forEach(checkRedacted)
    case .object(let pairs):
        for (key, value) in pairs {
            if redactor.isSecretKey(key), value != .null {
                invariant(value == .string(Redactor.mask), "secret field '\(key)' not masked: \(value.encoded())")
            } else {
                checkRedacted(value)
            }
        }
    default: break
    }
}

func checkJSON(_ input: [UInt8]) {
    guard let value = try? JSONParser.parse(input) else { return }
    let text = value.encoded()
    let again: JSONValue
    do {
        again = try JSONParser.parse(text)
    } catch {
        invariant(false, "encoded JSON does not parse: \(error): \(text.prefix(200))")
        return
    }
    invariant(again == value, "JSON changed in a round trip: \(text.prefix(200))")
    invariant(again.encoded() == text, "JSON encoding is not stable: \(text.prefix(200))")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    checkJSON(input)
    _ = ISO8601.parseMs(String(decoding: input, as: UTF8.self))

    let aggregator = AppAggregator(config: StatsDConfig())
    var records: [LogRecord] = []
    var offset: Int64 = 0
    for line in input.split(separator: 0x0A, omittingEmptySubsequences: false).prefix(16) {
        defer { offset += Int64(line.count + 1) }
        let parsed = parser.parse(line, source: "/var/log/app.log@2049:1234", offset: offset, readMs: 1_795_927_350_000)
        let record = parsed.record
        invariant(!(parsed.structured && parsed.invalidUTF8), "structured line marked invalid UTF-8")
        guard case .object(_)? = try? JSONParser.parse(record.fields) else {
            invariant(false, "fields is not a JSON object: \(record.fields.prefix(200))")
            return 0
        }
        if parsed.structured, let fields = try? JSONParser.parse(record.fields) { checkRedacted(fields) }
        invariant((record.logger?.utf8.count ?? 0) <= 200, "logger longer than 200 bytes")
        invariant((record.traceID?.utf8.count ?? 0) <= 200, "trace id longer than 200 bytes")
        invariant(record.service.utf8.count <= 200, "service longer than 200 bytes")
        invariant(record.offset == offset, "offset changed")
        if let request = parsed.request {
            invariant(request.seconds.isFinite && request.seconds >= 0, "request duration \(request.seconds)")
            invariant(
                request.endpoint.hasPrefix("/") || request.endpoint.contains("://"), "request without a path")
            aggregator.recordRequest(
                endpoint: request.endpoint, method: request.method, status: request.status, seconds: request.seconds)
            aggregator.recordRequest(
                endpoint: request.endpoint, method: request.method, status: request.status, seconds: request.seconds,
                times: 100_000)
        }
        records.append(record)
    }
    let (samples, histograms) = aggregator.flush(timestampMs: 1_795_927_350_000)
    checkFlushedNumbers(samples, histograms, "flushed request histograms")
    checkBatchAcceptedByDaemon(
        Batch(
            seq: 7, createdMs: 1_795_927_350_000, samples: samples, histograms: withoutKnownBadHistograms(histograms),
            logs: records),
        "batch of log records")
    return 0
}

/// The entry point SwiftPM links this executable with; runs libFuzzer.
@_cdecl("FuzzLogLine_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    mon_fuzz_main(argc, argv)
}
