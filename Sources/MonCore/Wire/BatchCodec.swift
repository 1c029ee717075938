import NIOCore

/// Binary layout of a BATCH payload.
///
/// ```
/// u64 seq, i64 created_ms, u32 sample_count,
///   sample*: string name, u8 kind, u8 label_count, (string name, string value)*, i64 ts_ms, f64 value
/// section*: u8 tag, u32 length, bytes     (tags unknown to the reader are skipped)
///   tag 1, events: u32 count, event*: string kind, string key, i64 ts_ms, long-string payload (JSON)
///   tag 2, histograms: u32 count, histogram*: string name, u8 label_count, labels, i64 ts_ms,
///          f64 sum, f64 min, f64 max, u64 zero_count, u32 bucket_count, (i32 index, u64 count)*
///   tag 3, logs: u32 count, log*: i64 ts_ms, u8 level, string service, long-string event,
///          string logger, string trace_id (empty = none), long-string fields (JSON), string source, i64 offset
///   tag 4, spans: u32 count, span*: string trace_id, string span_id, string parent_span_id (empty = root),
///          string service, string name, u8 kind, i64 start_ns, i64 duration_ns, u8 status,
///          string status_message, long-string attributes (JSON object), long-string events (JSON array)
/// ```
/// Counts are checked against the bytes actually present before anything is reserved.
public enum BatchCodec {
    /// Smallest possible encoded sample: empty name, kind, no labels, ts, value.
    static let minSampleBytes = 4 + 1 + 1 + 8 + 8
    static let minEventBytes = 4 + 4 + 8 + 4
    static let minHistogramBytes = 4 + 1 + 8 + 8 + 8 + 8 + 8 + 4
    static let minBucketBytes = 4 + 8
    static let minLogBytes = 8 + 1 + 4 + 4 + 4 + 4 + 4 + 4 + 8
    static let minSpanBytes = 4 * 5 + 1 + 8 + 8 + 1 + 4 * 3
    /// Section tags.
    static let eventsTag: UInt8 = 1
    static let histogramsTag: UInt8 = 2
    static let logsTag: UInt8 = 3
    static let spansTag: UInt8 = 4
    /// Largest event payload (a query plan can be large).
    public static let maxPayloadBytes = 4 * 1024 * 1024

    public static func encode(_ batch: Batch, into out: inout ByteBuffer) {
        out.reserveCapacity(minimumWritableBytes: 24 + batch.samples.count * 64)
        out.writeInteger(batch.seq)
        out.writeInteger(batch.createdMs)
        out.writeInteger(UInt32(batch.samples.count))
        for sample in batch.samples {
            out.writeWireString(sample.name)
            out.writeInteger(sample.kind.rawValue)
            writeLabels(sample.labels, into: &out)
            out.writeInteger(sample.timestampMs)
            out.writeInteger(sample.value.bitPattern)
        }
        writeSection(eventsTag, batch.events, into: &out) { event, out in
            out.writeWireString(event.kind)
            out.writeWireString(event.key)
            out.writeInteger(event.timestampMs)
            out.writeWireString(event.payload)
        }
        writeSection(histogramsTag, batch.histograms, into: &out) { sample, out in
            out.writeWireString(sample.name)
            writeLabels(sample.labels, into: &out)
            out.writeInteger(sample.timestampMs)
            let histogram = sample.histogram
            out.writeInteger(histogram.sum.bitPattern)
            out.writeInteger(histogram.min.bitPattern)
            out.writeInteger(histogram.max.bitPattern)
            out.writeInteger(histogram.zeroCount)
            let buckets = histogram.sortedBuckets
            out.writeInteger(UInt32(buckets.count))
            for bucket in buckets {
                out.writeInteger(bucket.index)
                out.writeInteger(bucket.count)
            }
        }
        writeSection(logsTag, batch.logs, into: &out) { log, out in
            out.writeInteger(log.timestampMs)
            out.writeInteger(UInt8(log.level.rawValue))
            out.writeWireString(log.service)
            out.writeWireString(log.event)
            out.writeWireString(log.logger ?? "")
            out.writeWireString(log.traceID ?? "")
            out.writeWireString(log.fields)
            out.writeWireString(log.source)
            out.writeInteger(log.offset)
        }
        writeSection(spansTag, batch.spans, into: &out) { span, out in
            out.writeWireString(span.traceID)
            out.writeWireString(span.spanID)
            out.writeWireString(span.parentSpanID ?? "")
            out.writeWireString(span.service)
            out.writeWireString(span.name)
            out.writeInteger(span.kind.rawValue)
            out.writeInteger(span.startNs)
            out.writeInteger(span.durationNs)
            out.writeInteger(span.status.rawValue)
            out.writeWireString(span.statusMessage)
            out.writeWireString(span.attributes)
            out.writeWireString(span.events)
        }
    }

    private static func writeLabels(_ labels: Labels, into out: inout ByteBuffer) {
        out.writeInteger(UInt8(clamping: labels.count))
        for pair in labels.pairs.prefix(Int(UInt8.max)) {
            out.writeWireString(pair.name)
            out.writeWireString(pair.value)
        }
    }

    private static func readLabels(_ payload: inout ByteBuffer, _ field: WireField) throws(WireError) -> Labels {
        let labelCount = try payload.readWireInteger(UInt8.self, "\(field) label count")
        // No Dictionary: the encoder writes the pairs sorted, and Labels keeps them as they are then.
        var pairs: [Labels.Pair] = []
        pairs.reserveCapacity(Int(labelCount))
        for _ in 0..<labelCount {
            let labelName = try payload.readWireString("\(field) label name")
            pairs.append(Labels.Pair(name: labelName, value: try payload.readWireString("\(field) label value")))
        }
        return Labels(decodedPairs: pairs)
    }

    /// Names an item of a batch in a decoding error ("batch 7 sample 12"); formatted only when
    /// an error is thrown.
    struct WireField: CustomStringConvertible {
        var seq: UInt64
        var what: String
        var index: Int
        var description: String { "batch \(seq) \(what) \(index)" }
    }

    /// Writes `tag`, a length placeholder, the count and each item; omitted when empty.
    private static func writeSection<T>(
        _ tag: UInt8, _ items: [T], into out: inout ByteBuffer, _ write: (T, inout ByteBuffer) -> Void
    ) {
        guard !items.isEmpty else { return }
        out.writeInteger(tag)
        let lengthIndex = out.writerIndex
        out.writeInteger(UInt32(0))
        let start = out.writerIndex
        out.writeInteger(UInt32(items.count))
        for item in items { write(item, &out) }
        out.setInteger(UInt32(out.writerIndex - start), at: lengthIndex)
    }

    /// Reads a section's count, checks it against the bytes present, then each item.
    private static func readSection<T>(
        _ section: inout ByteBuffer, seq: UInt64, what: String, minBytes: Int,
        _ read: (inout ByteBuffer, WireField) throws(WireError) -> T
    ) throws(WireError) -> [T] {
        let count = try section.readWireInteger(UInt32.self, "batch \(seq) \(what) count")
        guard UInt64(count) * UInt64(minBytes) <= UInt64(section.readableBytes) else {
            throw WireError(
                .malformed,
                "batch \(seq): announces \(count) \(what)s but only \(section.readableBytes) bytes follow")
        }
        var items: [T] = []
        items.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            items.append(try read(&section, WireField(seq: seq, what: what, index: index)))
        }
        guard section.readableBytes == 0 else {
            throw WireError(.malformed, "batch \(seq): \(section.readableBytes) bytes after the \(what)s")
        }
        return items
    }

    public static func decode(_ payload: inout ByteBuffer) throws(WireError) -> Batch {
        let seq = try payload.readWireInteger(UInt64.self, "batch.seq")
        let created = try payload.readWireInteger(Int64.self, "batch.created_ms")
        let count = try payload.readWireInteger(UInt32.self, "batch.sample_count")
        guard UInt64(count) * UInt64(minSampleBytes) <= UInt64(payload.readableBytes) else {
            throw WireError(
                .malformed,
                "batch \(seq): announces \(count) samples but only \(payload.readableBytes) bytes follow"
            )
        }
        var samples: [Sample] = []
        samples.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            let field = WireField(seq: seq, what: "sample", index: index)
            let name = try payload.readWireString("\(field) name")
            let rawKind = try payload.readWireInteger(UInt8.self, "\(field) kind")
            guard let kind = MetricKind(rawValue: rawKind) else {
                throw WireError(.malformed, "\(field): unknown metric kind \(rawKind)")
            }
            let labels = try readLabels(&payload, field)
            let timestamp = try payload.readWireInteger(Int64.self, "\(field) timestamp")
            let bits = try payload.readWireInteger(UInt64.self, "\(field) value")
            samples.append(
                Sample(name, labels, value: Double(bitPattern: bits), kind: kind, timestampMs: timestamp)
            )
        }
        var batch = Batch(seq: seq, createdMs: created, samples: samples)
        // Sections: events, histograms, logs, spans, and those of later protocol revisions, skipped when unknown.
        while payload.readableBytes > 0 {
            let tag = try payload.readWireInteger(UInt8.self, "batch \(seq) section tag")
            let length = try payload.readWireInteger(UInt32.self, "batch \(seq) section length")
            guard var section = payload.readSlice(length: Int(length)) else {
                throw WireError(.malformed, "batch \(seq): section of \(length) bytes truncated")
            }
            switch tag {
            case eventsTag: batch.events = try decodeEvents(&section, seq: seq)
            case histogramsTag:
                let decoded = try decodeHistograms(&section, seq: seq)
                batch.histograms = decoded.compactMap { $0 }
                batch.droppedOnDecode += decoded.count - batch.histograms.count
            case logsTag: batch.logs = try decodeLogs(&section, seq: seq)
            case spansTag: batch.spans = try decodeSpans(&section, seq: seq)
            default: continue
            }
        }
        return batch
    }

    static func decodeEvents(_ section: inout ByteBuffer, seq: UInt64) throws(WireError) -> [Event] {
        try readSection(&section, seq: seq, what: "event", minBytes: minEventBytes) {
            (section: inout ByteBuffer, field: WireField) throws(WireError) in
            let kind = try section.readWireString("\(field) kind")
            let key = try section.readWireString("\(field) key")
            let timestamp = try section.readWireInteger(Int64.self, "\(field) timestamp")
            let payload = try section.readWireString("\(field) payload", maxBytes: maxPayloadBytes)
            return Event(kind: kind, key: key, timestampMs: timestamp, payload: payload)
        }
    }

    /// Nil for a well-framed histogram whose contents disagree (counts, bounds or sum): that one
    /// is left out and counted (`Batch.droppedOnDecode`), the rest of the batch is stored.
    /// A framing error still refuses the whole batch: nothing after it could be trusted.
    static func decodeHistograms(_ section: inout ByteBuffer, seq: UInt64) throws(WireError) -> [HistogramSample?] {
        try readSection(&section, seq: seq, what: "histogram", minBytes: minHistogramBytes) {
            (section: inout ByteBuffer, field: WireField) throws(WireError) in
            let name = try section.readWireString("\(field) name")
            let labels = try readLabels(&section, field)
            let timestamp = try section.readWireInteger(Int64.self, "\(field) timestamp")
            let sum = Double(bitPattern: try section.readWireInteger(UInt64.self, "\(field) sum"))
            let min = Double(bitPattern: try section.readWireInteger(UInt64.self, "\(field) min"))
            let max = Double(bitPattern: try section.readWireInteger(UInt64.self, "\(field) max"))
            let zeroCount = try section.readWireInteger(UInt64.self, "\(field) zero count")
            let bucketCount = try section.readWireInteger(UInt32.self, "\(field) bucket count")
            guard UInt64(bucketCount) * UInt64(minBucketBytes) <= UInt64(section.readableBytes) else {
                throw WireError(.malformed, "\(field): announces \(bucketCount) buckets, bytes missing")
            }
            var buckets: [Int32: UInt64] = [:]
            buckets.reserveCapacity(Int(bucketCount))
            for _ in 0..<bucketCount {
                let index = try section.readWireInteger(Int32.self, "\(field) bucket index")
                let count = try section.readWireInteger(UInt64.self, "\(field) bucket count")
                guard buckets.updateValue(count, forKey: index) == nil else {
                    throw WireError(.malformed, "\(field): bucket \(index) appears twice")
                }
            }
            guard
                let histogram = Histogram(buckets: buckets, zeroCount: zeroCount, sum: sum, min: min, max: max)
            else { return nil }
            return HistogramSample(name, labels, timestampMs: timestamp, histogram: histogram)
        }
    }

    static func decodeLogs(_ section: inout ByteBuffer, seq: UInt64) throws(WireError) -> [LogRecord] {
        try readSection(&section, seq: seq, what: "log", minBytes: minLogBytes) {
            (section: inout ByteBuffer, field: WireField) throws(WireError) in
            let timestamp = try section.readWireInteger(Int64.self, "\(field) timestamp")
            let rawLevel = try section.readWireInteger(UInt8.self, "\(field) level")
            guard let level = LogLevel(rawValue: Int(rawLevel)) else {
                throw WireError(.malformed, "\(field): unknown level \(rawLevel)")
            }
            let service = try section.readWireString("\(field) service")
            let event = try section.readWireString("\(field) event", maxBytes: maxPayloadBytes)
            let logger = try section.readWireString("\(field) logger")
            let traceID = try section.readWireString("\(field) trace_id")
            let fields = try section.readWireString("\(field) fields", maxBytes: maxPayloadBytes)
            let source = try section.readWireString("\(field) source")
            let offset = try section.readWireInteger(Int64.self, "\(field) offset")
            return LogRecord(
                timestampMs: timestamp, level: level, service: service, event: event,
                logger: logger.isEmpty ? nil : logger, traceID: traceID.isEmpty ? nil : traceID,
                fields: fields, source: source, offset: offset)
        }
    }

    /// A span whose identifiers are not hex of the right length, or whose duration is negative,
    /// refuses the batch: the agent never sends one (its OTLP intake refuses them first).
    static func decodeSpans(_ section: inout ByteBuffer, seq: UInt64) throws(WireError) -> [SpanRecord] {
        try readSection(&section, seq: seq, what: "span", minBytes: minSpanBytes) {
            (section: inout ByteBuffer, field: WireField) throws(WireError) in
            let traceID = try section.readWireString("\(field) trace_id")
            let spanID = try section.readWireString("\(field) span_id")
            let parent = try section.readWireString("\(field) parent_span_id")
            guard SpanRecord.isValidID(traceID, hexDigits: 32), SpanRecord.isValidID(spanID, hexDigits: 16),
                parent.isEmpty || SpanRecord.isValidID(parent, hexDigits: 16)
            else { throw WireError(.malformed, "\(field): trace, span or parent id is not lowercase hex") }
            let service = try section.readWireString("\(field) service")
            let name = try section.readWireString("\(field) name")
            let rawKind = try section.readWireInteger(UInt8.self, "\(field) kind")
            guard let kind = SpanKind(rawValue: rawKind) else {
                throw WireError(.malformed, "\(field): unknown span kind \(rawKind)")
            }
            let start = try section.readWireInteger(Int64.self, "\(field) start")
            let duration = try section.readWireInteger(Int64.self, "\(field) duration")
            guard duration >= 0 else { throw WireError(.malformed, "\(field): negative duration \(duration)") }
            let rawStatus = try section.readWireInteger(UInt8.self, "\(field) status")
            guard let status = SpanStatus(rawValue: rawStatus) else {
                throw WireError(.malformed, "\(field): unknown span status \(rawStatus)")
            }
            let message = try section.readWireString("\(field) status message")
            let attributes = try section.readWireString("\(field) attributes", maxBytes: maxPayloadBytes)
            let events = try section.readWireString("\(field) events", maxBytes: maxPayloadBytes)
            return SpanRecord(
                traceID: traceID, spanID: spanID, parentSpanID: parent.isEmpty ? nil : parent, service: service,
                name: name, kind: kind, startNs: start, durationNs: duration, status: status,
                statusMessage: message, attributes: attributes, events: events)
        }
    }
}
