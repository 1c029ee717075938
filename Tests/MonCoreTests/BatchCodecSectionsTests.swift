import MonTestSupport
import NIOCore
import Testing

@testable import MonCore

/// The tagged sections of a BATCH payload: events (1), histograms (2), logs (3).
@Suite struct BatchCodecSectionsTests {
    static func histogram(_ values: [Double]) -> Histogram {
        var histogram = Histogram()
        for value in values { histogram.record(value) }
        return histogram
    }

    static let samples = [
        Sample("mon_host_load1", value: 0.5, timestampMs: 1_795_927_345_000),
        Sample("app_jobs_total", ["queue": "mail"], value: 12, kind: .counter, timestampMs: 1_795_927_345_000),
    ]

    static let events = [
        Event(kind: "redis_slowlog", key: "17", timestampMs: 1_795_927_340_000, payload: #"{"command":"KEYS *"}"#),
        Event(kind: "pg_plan", key: "q1", timestampMs: -1, payload: "{}"),
    ]

    static let histograms = [
        HistogramSample(
            MetricNames.requestDuration, ["endpoint": "/v1/memories/{id}", "method": "GET", "status": "200"],
            timestampMs: 1_795_927_345_000, histogram: histogram([0.012, 0.013, 0.25, 0, -1, 3.5])),
        HistogramSample("app_lat_seconds", [:], timestampMs: 1_795_927_345_000, histogram: histogram([1e-6, 1e6])),
        HistogramSample("app_empty", ["k": "é"], timestampMs: 0, histogram: Histogram()),
    ]

    static let logs = [
        LogRecord(
            timestampMs: 1_795_927_345_123, level: .info, service: "mnemolite", event: "search done",
            logger: "api", traceID: "r-1", fields: #"{"path":"/v1/search/7","user":"bob"}"#,
            source: "/var/log/app.log@2049:1234", offset: 4096),
        LogRecord(timestampMs: 0, level: .critical, service: "", event: "plain line with é and \n", offset: -1),
        LogRecord(
            timestampMs: -5, level: .debug, service: "worker", event: "", logger: nil, traceID: "t",
            fields: "{}", source: "s", offset: .max),
    ]

    static let fullBatch = Batch(
        seq: 9, createdMs: 1_795_927_346_000, samples: samples, events: events, histograms: histograms, logs: logs)

    static func encode(_ batch: Batch) -> ByteBuffer {
        var buffer = ByteBuffer()
        BatchCodec.encode(batch, into: &buffer)
        return buffer
    }

    static func decode(_ bytes: [UInt8]) throws(WireError) -> Batch {
        var buffer = ByteBuffer(bytes: bytes)
        return try BatchCodec.decode(&buffer)
    }

    // MARK: Round trips

    @Test func batchWithEverySectionRoundTrips() throws {
        var buffer = Self.encode(Self.fullBatch)
        let decoded = try BatchCodec.decode(&buffer)
        #expect(buffer.readableBytes == 0)
        #expect(decoded == Self.fullBatch)
        #expect(decoded.histograms.map(\.name) == Self.histograms.map(\.name))
        let request = decoded.histograms[0]
        #expect(request.labels["endpoint"] == "/v1/memories/{id}")
        #expect(request.histogram.count == 6)
        #expect(request.histogram.zeroCount == 2)
        #expect(request.histogram.quantile(0.99) == Self.histograms[0].histogram.quantile(0.99))
        #expect(decoded.histograms[2].histogram.isEmpty)
        #expect(decoded.logs[0].traceID == "r-1")
        #expect(decoded.logs[1].logger == nil)
        #expect(decoded.logs[1].traceID == nil)
        #expect(decoded.logs[2].offset == .max)
        #expect(decoded.logs.map(\.level) == [.info, .critical, .debug])
    }

    @Test func eachSectionAloneRoundTrips() throws {
        let batches = [
            Batch(seq: 1, createdMs: 0, samples: [], histograms: Self.histograms),
            Batch(seq: 2, createdMs: 0, samples: [], logs: Self.logs),
            Batch(seq: 3, createdMs: 0, samples: Self.samples, logs: [Self.logs[0]]),
            Batch(seq: 4, createdMs: 0, samples: [], events: Self.events, logs: Self.logs),
        ]
        for batch in batches {
            var buffer = Self.encode(batch)
            #expect(try BatchCodec.decode(&buffer) == batch, "batch \(batch.seq)")
        }
    }

    @Test func emptySectionsAreNotWritten() {
        let empty = Self.encode(Batch(seq: 1, createdMs: 2, samples: []))
        #expect(empty.readableBytes == 8 + 8 + 4)
        let withLog = Self.encode(Batch(seq: 1, createdMs: 2, samples: [], logs: [Self.logs[2]]))
        #expect(withLog.getInteger(at: 20, as: UInt8.self) == BatchCodec.logsTag)
    }

    @Test func eventAndLogTextsLongerThan64KiBRoundTrip() throws {
        let long = String(repeating: "x", count: 200_000)
        let batch = Batch(
            seq: 1, createdMs: 0, samples: [],
            events: [Event(kind: "pg_plan", key: "k", timestampMs: 0, payload: long)],
            logs: [LogRecord(timestampMs: 0, level: .error, service: "s", event: long, fields: long)])
        var buffer = Self.encode(batch)
        #expect(try BatchCodec.decode(&buffer) == batch)
    }

    @Test func unknownSectionsBetweenKnownOnesAreSkipped() throws {
        var payload = Self.encode(Batch(seq: 5, createdMs: 0, samples: Self.samples))
        payload.writeInteger(UInt8(0x42))
        payload.writeInteger(UInt32(3))
        payload.writeBytes([9, 9, 9])
        var logsOnly = Self.encode(Batch(seq: 5, createdMs: 0, samples: [], logs: Self.logs))
        logsOnly.moveReaderIndex(forwardBy: 20)
        payload.writeBuffer(&logsOnly)
        #expect(
            try BatchCodec.decode(&payload) == Batch(seq: 5, createdMs: 0, samples: Self.samples, logs: Self.logs))
    }

    // MARK: Malformed sections

    /// A header without samples, then one section holding `body`.
    static func payload(tag: UInt8, _ body: (inout ByteBuffer) -> Void) -> [UInt8] {
        var section = ByteBuffer()
        body(&section)
        var out = ByteBuffer()
        out.writeInteger(UInt64(77))
        out.writeInteger(Int64(0))
        out.writeInteger(UInt32(0))
        out.writeInteger(tag)
        out.writeInteger(UInt32(section.readableBytes))
        out.writeBuffer(&section)
        return Array(out.readableBytesView)
    }

    /// One histogram with the given buckets (index, count) and announced bucket count.
    static func histogramPayload(
        announced: UInt32? = nil, buckets: [(Int32, UInt64)], zeroCount: UInt64 = 0, sum: Double = 1,
        min: Double = 0.5, max: Double = 0.5, extra: [UInt8] = []
    ) -> [UInt8] {
        payload(tag: BatchCodec.histogramsTag) { out in
            out.writeInteger(UInt32(1))
            out.writeWireString("h")
            out.writeInteger(UInt8(1))
            out.writeWireString("k")
            out.writeWireString("v")
            out.writeInteger(Int64(1000))
            out.writeInteger(sum.bitPattern)
            out.writeInteger(min.bitPattern)
            out.writeInteger(max.bitPattern)
            out.writeInteger(zeroCount)
            out.writeInteger(announced ?? UInt32(buckets.count))
            for (index, count) in buckets {
                out.writeInteger(index)
                out.writeInteger(count)
            }
            out.writeBytes(extra)
        }
    }

    /// One log with the given raw level byte.
    static func logPayload(level: UInt8, count: UInt32 = 1) -> [UInt8] {
        payload(tag: BatchCodec.logsTag) { out in
            out.writeInteger(count)
            out.writeInteger(Int64(1))
            out.writeInteger(level)
            for text in ["svc", "an event text long enough for two minimal logs", "logger", "", "{}", "src"] {
                out.writeWireString(text)
            }
            out.writeInteger(Int64(0))
        }
    }

    @Test func handBuiltSectionsDecode() throws {
        let batch = try Self.decode(Self.histogramPayload(buckets: [(Histogram.index(of: 0.5), 2)], sum: 1))
        #expect(batch.histograms.count == 1)
        #expect(batch.histograms[0].labels == ["k": "v"])
        #expect(batch.histograms[0].histogram.count == 2)
        let logs = try Self.decode(Self.logPayload(level: 40))
        #expect(logs.logs.map(\.level) == [.error])
        #expect(logs.logs[0].traceID == nil)
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var expected: String
        var testDescription: String { name }
    }

    static let malformed: [Malformed] = [
        Malformed(
            name: "bucket count larger than the bytes",
            bytes: histogramPayload(announced: 1_000_000, buckets: [(1, 1)]), expected: "1000000 buckets"),
        Malformed(
            name: "bucket count UInt32.max", bytes: histogramPayload(announced: .max, buckets: []),
            expected: "buckets"),
        Malformed(
            name: "duplicated bucket index", bytes: histogramPayload(buckets: [(5, 1), (5, 1)], sum: 2),
            expected: "bucket 5 appears twice"),
        Malformed(
            name: "bytes after the histograms", bytes: histogramPayload(buckets: [(1, 1)], extra: [0]),
            expected: "1 bytes after the histograms"),
        Malformed(name: "log level 0", bytes: logPayload(level: 0), expected: "unknown level 0"),
        Malformed(name: "log level 25", bytes: logPayload(level: 25), expected: "unknown level 25"),
        Malformed(name: "log level 255", bytes: logPayload(level: 255), expected: "unknown level 255"),
        Malformed(
            name: "more logs announced than bytes", bytes: logPayload(level: 20, count: 4_000_000_000),
            expected: "announces 4000000000 logs"),
        Malformed(
            name: "two logs announced, one present", bytes: logPayload(level: 20, count: 2), expected: "truncated"),
        Malformed(
            name: "section longer than the payload",
            bytes: Array(histogramPayload(buckets: [(1, 1)]).dropLast(3)), expected: "truncated"),
        Malformed(
            name: "section length field cut", bytes: Array(logPayload(level: 20).prefix(23)),
            expected: "section length"),
        Malformed(
            name: "empty histograms section", bytes: payload(tag: BatchCodec.histogramsTag) { _ in },
            expected: "histogram count"),
    ]

    /// Well framed, but the contents disagree: that histogram is left out and counted, and the
    /// batch (its samples, its other histograms) is stored, so one bad entry never blocks an agent.
    static let inconsistent: [Malformed] = [
        Malformed(name: "bucket index out of range", bytes: histogramPayload(buckets: [(Int32.max, 1)]), expected: ""),
        Malformed(name: "bucket counts overflow", bytes: histogramPayload(buckets: [(1, .max), (2, 1)]), expected: ""),
        Malformed(name: "min above max", bytes: histogramPayload(buckets: [(1, 1)], min: 2, max: 1), expected: ""),
        Malformed(name: "NaN sum", bytes: histogramPayload(buckets: [(1, 1)], sum: .nan), expected: ""),
    ]

    @Test(arguments: inconsistent)
    func inconsistentHistogramsAreDroppedAndCounted(_ input: Malformed) throws {
        let batch = try Self.decode(input.bytes)
        #expect(batch.histograms.isEmpty)
        #expect(batch.droppedOnDecode == 1)
        #expect(batch.seq == 77)
    }

    @Test(arguments: malformed)
    func malformedSectionsThrow(_ input: Malformed) {
        let error = #expect(throws: WireError.self) { try Self.decode(input.bytes) }
        #expect(error?.code == WireError.Code.malformed.rawValue)
        #expect(error?.message.contains(input.expected) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("77") == true, "the batch seq is named: \(error?.message ?? "")")
    }

    @Test func everyCutThatIsNotASectionBoundaryThrows() throws {
        let full = Array(Self.encode(Self.fullBatch).readableBytesView)
        // Encodings of the batch with fewer sections are prefixes of the full one.
        let partial = [
            Batch(seq: 9, createdMs: Self.fullBatch.createdMs, samples: Self.samples),
            Batch(seq: 9, createdMs: Self.fullBatch.createdMs, samples: Self.samples, events: Self.events),
            Batch(
                seq: 9, createdMs: Self.fullBatch.createdMs, samples: Self.samples, events: Self.events,
                histograms: Self.histograms),
        ]
        var boundaries: [Int: Batch] = [:]
        for batch in partial {
            let bytes = Array(Self.encode(batch).readableBytesView)
            #expect(full.starts(with: bytes))
            boundaries[bytes.count] = batch
        }
        for length in 0..<full.count {
            let prefix = Array(full.prefix(length))
            if let expected = boundaries[length] {
                #expect(try Self.decode(prefix) == expected, "cut at \(length)")
            } else {
                let error = #expect(throws: WireError.self, "cut at \(length)") { try Self.decode(prefix) }
                #expect(error?.code == WireError.Code.malformed.rawValue)
            }
        }
    }

    @Test func randomCorruptionsThrowOrDecodeStably() {
        let full = Array(Self.encode(Self.fullBatch).readableBytesView)
        var decoded = 0
        var refused = 0
        for bytes in Corruptions.of(
            full, count: 5_000, seed: 20_240_601, alphabet: [0, 1, 2, 3, 0x0A, 0x14, 0x28, 0x7F, 0x80, 0xFE, 0xFF])
        {
            do throws(WireError) {
                let batch = try Self.decode(bytes)
                // Whatever decodes re-encodes to something that decodes to the same batch.
                var again = Self.encode(batch)
                let second = try BatchCodec.decode(&again)
                #expect(second.logs == batch.logs)
                #expect(second.histograms == batch.histograms)
                #expect(second.events == batch.events)
                #expect(second.samples.count == batch.samples.count)
                decoded += 1
            } catch {
                #expect(error.code == WireError.Code.malformed.rawValue)
                refused += 1
            }
        }
        #expect(refused > 0)
        #expect(decoded > 0)
    }
}
