import Foundation
// Fuzz target: the agent's OTLP/HTTP trace intake, from body bytes to the daemon's decoder.
//
// The first byte picks how the rest is read: bit 0 the encoding (protobuf or OTLP/JSON),
// bit 1 whether it is inflated as gzip first (bounded at 1 MiB, as traces.max_body_bytes
// bounds the agent's). The body goes through OTLPDecoder.decode → SpanConverter.convert
// (default configuration, redaction on) → BatchShaper → the wire.
// Invariants:
//  - gzip output never exceeds its bound;
//  - a decoded protobuf request serialized again decodes and serializes to the same bytes;
//  - every converted span has lowercase hex ids of the right length (not all zero), a
//    parent that is nil or a valid id, a duration ≥ 0, strings the wire accepts, attributes
//    that parse as a JSON object whose secret keys are masked, and events as a JSON array;
//  - spans + rejections = the spans of the request;
//  - the shaped batches are accepted by the daemon's decoder, every span kept, in order.
import FuzzMain
import FuzzSupport
import MonAgentKit
import MonCore
import SwiftProtobuf

let logs = LogsConfig()
let converter = try! SpanConverter(config: TracesConfig(), logs: logs)
let redactor = try! Redactor(keys: logs.redactKeys, patterns: [])
let shaper = BatchShaper(maxBatchBytes: 256 << 10)

func checkMasked(_ value: JSONValue) {
    guard case .object(let pairs) = value else { return }
    for (key, value) in pairs where redactor.isSecretKey(key) && value != .null {
        invariant(
            value == .string(Redactor.mask), "secret attribute '\(key)' not masked: \(value.encoded().prefix(200))")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    guard let mode = input.first else { return 0 }
    var body = Array(input.dropFirst())
    let encoding: OTLPEncoding = mode & 1 == 0 ? .protobuf : .json
    if mode & 2 != 0 {
        do {
            body = try Gzip.decompress(body, maxBytes: 1 << 20)
            invariant(body.count <= 1 << 20, "inflated past the bound: \(body.count)")
        } catch {
            return 0
        }
    }
    guard let request = try? OTLPDecoder.decode(body, encoding: encoding) else { return 0 }
    if encoding == .protobuf {
        // Bytes, not messages, are compared: a NaN double never equals itself.
        let again = try! request.serializedBytes() as [UInt8]
        guard let decoded = try? OTLPDecoder.decode(again, encoding: .protobuf) else {
            invariant(false, "a re-serialized request does not decode")
            return 0
        }
        let reencoded: [UInt8]? = try? decoded.serializedBytes()
        invariant(reencoded == again, "protobuf round trip changed the request")
    }
    let result = converter.convert(request)
    let total = request.resourceSpans.reduce(0) { $0 + $1.scopeSpans.reduce(0) { $0 + $1.spans.count } }
    invariant(
        result.spans.count + result.rejectedCount == total,
        "spans lost: \(result.spans.count) + \(result.rejectedCount) of \(total)")
    for span in result.spans {
        invariant(SpanRecord.isValidID(span.traceID, hexDigits: 32), "trace id \(span.traceID)")
        invariant(SpanRecord.isValidID(span.spanID, hexDigits: 16), "span id \(span.spanID)")
        invariant(span.parentSpanID.map { SpanRecord.isValidID($0, hexDigits: 16) } ?? true, "parent id")
        invariant(span.durationNs >= 0 && span.startNs > 0, "times \(span.startNs) \(span.durationNs)")
        invariant(BatchCodec.fitsWire(span), "span does not fit the wire")
        guard let attributes = try? JSONParser.parse(span.attributes), case .object = attributes else {
            invariant(false, "attributes are not a JSON object: \(span.attributes.prefix(200))")
            return 0
        }
        checkMasked(attributes)
        guard let events = try? JSONParser.parse(span.events), case .array = events else {
            invariant(false, "events are not a JSON array: \(span.events.prefix(200))")
            return 0
        }
    }
    let parts = shaper.shape(Batch(seq: 1, createdMs: 1, samples: [], spans: result.spans))
    var received: [SpanRecord] = []
    for part in parts { received += checkBatchAcceptedByDaemon(part, "OTLP spans").spans }
    invariant(received == result.spans, "spans changed or lost on the way to the daemon")
    return 0
}

/// The entry point SwiftPM links this executable with; runs libFuzzer.
@_cdecl("FuzzOTLP_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    mon_fuzz_main(argc, argv)
}
