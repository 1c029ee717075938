import NIOCore
import Testing

@testable import MonCore

/// The spans section (tag 4) of a BATCH payload.
@Suite struct BatchCodecSpansTests {
    static let root = SpanRecord(
        traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "00f067aa0ba902b7", service: "mnemolite",
        name: "GET /v1/search", kind: .server, startNs: 1_795_927_345_000_000_000, durationNs: 12_500_000,
        status: .error, statusMessage: "boom é", attributes: #"{"http.route":"/v1/search"}"#,
        events: #"[{"name":"exception","time_unix_nano":1795927345001000000,"attributes":{}}]"#)
    static let child = SpanRecord(
        traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "a000000000000001", parentSpanID: "00f067aa0ba902b7",
        service: "mnemolite", name: "SELECT", kind: .client, startNs: 1_795_927_345_001_000_000, durationNs: 0)

    static func encode(_ batch: Batch) -> ByteBuffer {
        var buffer = ByteBuffer()
        BatchCodec.encode(batch, into: &buffer)
        return buffer
    }

    @Test func spansRoundTripAndTheirSizeIsExact() throws {
        let batch = Batch(
            seq: 3, createdMs: 1_795_927_346_000, samples: [Sample("x", value: 1, timestampMs: 1)],
            logs: [LogRecord(timestampMs: 1, level: .info, service: "s", event: "e")], spans: [Self.root, Self.child])
        var buffer = Self.encode(batch)
        #expect(buffer.readableBytes == BatchCodec.encodedSize(of: batch))
        let decoded = try BatchCodec.decode(&buffer)
        #expect(decoded == batch)
        #expect(decoded.spans[0].parentSpanID == nil)
        #expect(decoded.spans[1].parentSpanID == "00f067aa0ba902b7")
        #expect(!Batch(seq: 1, createdMs: 0, samples: [], spans: [Self.child]).isEmpty)
    }

    @Test(arguments: [
        ("trace id too short", { @Sendable (span: inout SpanRecord) in span.traceID = "4bf92f" }),
        ("trace id upper case", { @Sendable (span: inout SpanRecord) in span.traceID = "4BF92F3577B34DA6A3CE929D0E0E4736" }),
        ("trace id all zero", { @Sendable (span: inout SpanRecord) in span.traceID = String(repeating: "0", count: 32) }),
        ("span id not hex", { @Sendable (span: inout SpanRecord) in span.spanID = "00f067aa0ba902bz" }),
        ("parent id too long", { @Sendable (span: inout SpanRecord) in span.parentSpanID = "00f067aa0ba902b700" }),
        ("negative duration", { @Sendable (span: inout SpanRecord) in span.durationNs = -1 }),
    ] as [(String, @Sendable (inout SpanRecord) -> Void)])
    func badSpansRefuseTheBatch(_ input: (String, @Sendable (inout SpanRecord) -> Void)) {
        var span = Self.child
        input.1(&span)
        var buffer = Self.encode(Batch(seq: 5, createdMs: 0, samples: [], spans: [span]))
        #expect(throws: WireError.self, "\(input.0)") { try BatchCodec.decode(&buffer) }
    }

    @Test func unknownKindOrStatusRefuseTheBatch() throws {
        let good = Self.encode(Batch(seq: 5, createdMs: 0, samples: [], spans: [Self.child]))
        let bytes = Array(good.readableBytesView)
        // header 20 + tag 1 + length 4 + count 4, then five strings: trace (4+32), span (4+16),
        // parent (4+16), service (4+9), name (4+6): the kind byte follows.
        let kindAt = 20 + 1 + 4 + 4 + 36 + 20 + 20 + 13 + 10
        #expect(bytes[kindAt] == SpanKind.client.rawValue)
        for (offset, value) in [(kindAt, UInt8(6)), (kindAt + 1 + 16, UInt8(3))] {
            var corrupt = bytes
            corrupt[offset] = value
            var buffer = ByteBuffer(bytes: corrupt)
            #expect(throws: WireError.self) { try BatchCodec.decode(&buffer) }
        }
    }

    @Test func identifierCheck() {
        #expect(SpanRecord.isValidID("00f067aa0ba902b7", hexDigits: 16))
        #expect(!SpanRecord.isValidID("0000000000000000", hexDigits: 16))
        #expect(!SpanRecord.isValidID("", hexDigits: 16))
        #expect(!SpanRecord.isValidID("00f067aa0ba902b7", hexDigits: 32))
    }

    @Test func spanKindAndStatusNamesRoundTrip() {
        for kind in SpanKind.allCases { #expect(SpanKind(name: kind.name) == kind) }
        for status in SpanStatus.allCases { #expect(SpanStatus(name: status.name) == status) }
        #expect(SpanKind(name: "SERVER") == nil)
    }
}
