import Foundation
import MonCore
import SwiftProtobuf

/// One answer of the OTLP/HTTP intake.
public struct OTLPResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    /// `Retry-After` seconds (503).
    public var retryAfterSeconds: Int?

    public init(status: Int, contentType: String, body: [UInt8], retryAfterSeconds: Int? = nil) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// A plain-text answer (when the request's encoding is unknown).
    static func text(_ status: Int, _ message: String) -> OTLPResponse {
        OTLPResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array((message + "\n").utf8))
    }

    /// The specification's error body: a `google.rpc.Status` in the request's encoding.
    static func rpcStatus(_ status: Int, code: Int32, _ message: String, _ encoding: OTLPEncoding) -> OTLPResponse {
        var rpc = Google_Rpc_Status()
        rpc.code = code
        rpc.message = message
        return OTLPResponse(status: status, contentType: encoding.contentType, body: encode(rpc, encoding))
    }

    static func encode(_ message: some SwiftProtobuf.Message, _ encoding: OTLPEncoding) -> [UInt8] {
        switch encoding {
        case .protobuf: return (try? message.serializedBytes()) ?? []
        case .json: return Array(((try? message.jsonString()) ?? "{}").utf8)
        }
    }
}

/// What one request resulted in (the `result` label of `mon_agent_traces_requests_total`).
public enum OTLPRequestResult: String, Sendable, CaseIterable {
    case accepted
    case partial
    case badRequest = "bad_request"
    case tooLarge = "too_large"
    case unsupportedMediaType = "unsupported_media_type"
    case notFound = "not_found"
    case methodNotAllowed = "method_not_allowed"
    case overloaded
}

/// The OTLP/HTTP trace intake without the network: a request's method, path, headers and
/// body in, the answer out; accepted spans queued for the daemon as one batch (the queue's
/// shaper splits it at `ingest.max_batch_bytes`). Everything is counted through `counters`.
///
/// Back-pressure: the spans queued and not acked yet are tracked (`SpanBacklog`); a request
/// that would take them past `traces.max_pending_spans` is answered 503 with `Retry-After`
/// and its spans are not taken (the SDK retries them), so neither memory nor the spool grow
/// without bound while the daemon is away.
public final class OTLPIntake: Sendable {
    public static let path = "/v1/traces"
    static let retryAfterSeconds = 5

    let config: TracesConfig
    let converter: SpanConverter
    let queue: any BatchQueue
    let counters: AppAggregator?
    let backlog: SpanBacklog

    public init(config: TracesConfig, converter: SpanConverter, queue: any BatchQueue, counters: AppAggregator?) {
        self.config = config
        self.converter = converter
        self.queue = queue
        self.counters = counters
        backlog = SpanBacklog(maxSpans: config.maxPendingSpans)
    }

    /// The answer to a request line and headers alone, when they already decide it (wrong
    /// path, method, type, or a declared length above the limit): nil to read the body.
    public func early(method: String, path: String, contentType: String?, contentLength: Int?) -> OTLPResponse? {
        let route = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard route == Self.path else {
            return refuse(.notFound, .text(404, "not found: only POST \(Self.path) is served"))
        }
        guard method == "POST" else {
            return refuse(.methodNotAllowed, .text(405, "method not allowed: \(Self.path) takes POST"))
        }
        guard OTLPEncoding(contentType: contentType) != nil else {
            return refuse(
                .unsupportedMediaType,
                .text(415, "unsupported Content-Type: use application/x-protobuf or application/json"))
        }
        if let contentLength, contentLength > config.maxBodyBytes {
            return tooLarge(OTLPEncoding(contentType: contentType))
        }
        return nil
    }

    /// The answer for a body larger than `traces.max_body_bytes` (seen while reading it).
    public func tooLarge(_ encoding: OTLPEncoding?) -> OTLPResponse {
        let message = "request body larger than traces.max_body_bytes (\(config.maxBodyBytes) bytes)"
        return refuse(.tooLarge, encoding.map { .rpcStatus(413, code: 8, message, $0) } ?? .text(413, message))
    }

    /// The answer to a complete request (`early` returned nil for it).
    public func handle(contentType: String?, contentEncoding: String?, body: [UInt8]) async -> OTLPResponse {
        guard let encoding = OTLPEncoding(contentType: contentType) else {
            return refuse(
                .unsupportedMediaType,
                .text(415, "unsupported Content-Type: use application/x-protobuf or application/json"))
        }
        counters?.count("mon_agent_traces_bytes_total", by: Double(body.count))
        guard body.count <= config.maxBodyBytes else { return tooLarge(encoding) }
        var bytes = body
        switch contentEncoding?.trimmingCharacters(in: .whitespaces).lowercased() ?? "" {
        case "", "identity": break
        case "gzip", "x-gzip":
            do {
                bytes = try Gzip.decompress(body, maxBytes: config.maxBodyBytes)
            } catch .tooLarge {
                return tooLarge(encoding)
            } catch {
                return refuse(.badRequest, .rpcStatus(400, code: 3, "\(error)", encoding))
            }
        case let other:
            return refuse(
                .unsupportedMediaType,
                .rpcStatus(
                    415, code: 3, "unsupported Content-Encoding '\(other.prefix(40))': use gzip or none", encoding))
        }
        let request: OTLPExportRequest
        do {
            request = try OTLPDecoder.decode(bytes, encoding: encoding)
        } catch {
            return refuse(.badRequest, .rpcStatus(400, code: 3, error.reason, encoding))
        }
        let result = converter.convert(request)
        let total = result.spans.count + result.rejectedCount
        guard await backlog.admit(result.spans.count, queue: queue) else {
            counters?.count(
                "mon_agent_traces_requests_total", labels: ["result": OTLPRequestResult.overloaded.rawValue])
            var response = OTLPResponse.rpcStatus(
                503, code: 14,
                "too many spans waiting for the daemon (traces.max_pending_spans = \(config.maxPendingSpans)); retry later",
                encoding)
            response.retryAfterSeconds = Self.retryAfterSeconds
            return response
        }
        if !result.spans.isEmpty {
            let seq = await queue.enqueue(
                Batch(seq: 0, createdMs: WallClock.nowMs(), samples: [], spans: result.spans))
            await backlog.queued(seq: seq, spans: result.spans.count)
        }
        counters?.count("mon_agent_traces_spans_received_total", by: Double(total))
        for (reason, count) in result.rejected {
            counters?.count(
                "mon_agent_traces_spans_rejected_total", labels: ["reason": reason.rawValue], by: Double(count))
        }
        counters?.count("mon_agent_traces_redactions_total", by: Double(result.redactions))
        counters?.count("mon_agent_traces_truncations_total", by: Double(result.truncations))
        var answer = OTLPExportResponse()
        if result.rejectedCount > 0 {
            answer.partialSuccess.rejectedSpans = Int64(result.rejectedCount)
            answer.partialSuccess.errorMessage = result.rejectionMessage
        }
        let outcome: OTLPRequestResult = result.rejectedCount > 0 ? .partial : .accepted
        counters?.count("mon_agent_traces_requests_total", labels: ["result": outcome.rawValue])
        return OTLPResponse(status: 200, contentType: encoding.contentType, body: OTLPResponse.encode(answer, encoding))
    }

    private func refuse(_ result: OTLPRequestResult, _ response: OTLPResponse) -> OTLPResponse {
        counters?.count("mon_agent_traces_requests_total", labels: ["result": result.rawValue])
        return response
    }
}

/// The spans queued for the daemon and not acked yet, by batch seq (oldest first).
actor SpanBacklog {
    let maxSpans: Int
    private var entries: [(seq: UInt64, spans: Int)] = []
    private(set) var pending = 0

    init(maxSpans: Int) { self.maxSpans = maxSpans }

    /// True when `count` more spans may be queued: what was acked is forgotten first; a
    /// request is always admitted while nothing waits (so a large one is never refused for ever).
    func admit(_ count: Int, queue: any BatchQueue) async -> Bool {
        if !entries.isEmpty {
            let oldest = await queue.oldestUnackedSeq
            var acked = 0
            for entry in entries {
                if let oldest, oldest <= entry.seq { break }
                pending -= entry.spans
                acked += 1
            }
            entries.removeFirst(acked)
        }
        return pending == 0 || pending + count <= maxSpans
    }

    func queued(seq: UInt64, spans: Int) {
        entries.append((seq, spans))
        pending += spans
    }
}
