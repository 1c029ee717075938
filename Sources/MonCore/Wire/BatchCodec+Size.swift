/// Encoded sizes, computed without encoding: the agent splits a batch that would not fit in
/// one frame before it numbers and spools it.
extension BatchCodec {
    /// seq, created_ms, sample count.
    public static let headerBytes = 8 + 8 + 4
    /// A section's tag, length and item count.
    public static let sectionBytes = 1 + 4 + 4

    /// The BATCH payload's size (the frame adds one type byte).
    public static func encodedSize(of batch: Batch) -> Int {
        var size = headerBytes
        for sample in batch.samples { size += encodedSize(of: sample) }
        if !batch.events.isEmpty { size += sectionBytes + batch.events.reduce(0) { $0 + encodedSize(of: $1) } }
        if !batch.histograms.isEmpty {
            size += sectionBytes + batch.histograms.reduce(0) { $0 + encodedSize(of: $1) }
        }
        if !batch.logs.isEmpty { size += sectionBytes + batch.logs.reduce(0) { $0 + encodedSize(of: $1) } }
        if !batch.spans.isEmpty { size += sectionBytes + batch.spans.reduce(0) { $0 + encodedSize(of: $1) } }
        return size
    }

    public static func encodedSize(of sample: Sample) -> Int {
        4 + sample.name.utf8.count + 1 + labelsSize(sample.labels) + 8 + 8
    }

    public static func encodedSize(of event: Event) -> Int {
        4 + event.kind.utf8.count + 4 + event.key.utf8.count + 8 + 4 + event.payload.utf8.count
    }

    public static func encodedSize(of sample: HistogramSample) -> Int {
        4 + sample.name.utf8.count + labelsSize(sample.labels) + 8 + 8 * 3 + 8 + 4
            + sample.histogram.buckets.count * minBucketBytes
    }

    public static func encodedSize(of log: LogRecord) -> Int {
        8 + 1 + 6 * 4 + log.service.utf8.count + log.event.utf8.count + (log.logger?.utf8.count ?? 0)
            + (log.traceID?.utf8.count ?? 0) + log.fields.utf8.count + log.source.utf8.count + 8
    }

    public static func encodedSize(of span: SpanRecord) -> Int {
        minSpanBytes + span.traceID.utf8.count + span.spanID.utf8.count + (span.parentSpanID?.utf8.count ?? 0)
            + span.service.utf8.count + span.name.utf8.count + span.statusMessage.utf8.count
            + span.attributes.utf8.count + span.events.utf8.count
    }

    private static func labelsSize(_ labels: Labels) -> Int {
        var size = 1
        for pair in labels.pairs.prefix(Int(UInt8.max)) { size += 8 + pair.name.utf8.count + pair.value.utf8.count }
        return size
    }

    /// True when the daemon's decoder accepts the event's strings (a longer one would make
    /// the whole batch malformed).
    public static func fitsWire(_ event: Event) -> Bool {
        event.kind.utf8.count <= WireMessage.maxStringBytes && event.key.utf8.count <= WireMessage.maxStringBytes
            && event.payload.utf8.count <= maxPayloadBytes
    }

    /// True when the daemon's decoder accepts the log record's strings.
    public static func fitsWire(_ log: LogRecord) -> Bool {
        let short = [log.service, log.logger ?? "", log.traceID ?? "", log.source]
        return short.allSatisfy { $0.utf8.count <= WireMessage.maxStringBytes }
            && log.event.utf8.count <= maxPayloadBytes && log.fields.utf8.count <= maxPayloadBytes
    }

    /// True when the daemon's decoder accepts the span's strings.
    public static func fitsWire(_ span: SpanRecord) -> Bool {
        let short = [span.traceID, span.spanID, span.parentSpanID ?? "", span.service, span.name, span.statusMessage]
        return short.allSatisfy { $0.utf8.count <= WireMessage.maxStringBytes }
            && span.attributes.utf8.count <= maxPayloadBytes && span.events.utf8.count <= maxPayloadBytes
    }

    /// True when the daemon's decoder accepts the sample's strings.
    public static func fitsWire(name: String, labels: Labels) -> Bool {
        name.utf8.count <= WireMessage.maxStringBytes && labels.count <= Int(UInt8.max)
            && labels.pairs.allSatisfy {
                $0.name.utf8.count <= WireMessage.maxStringBytes && $0.value.utf8.count <= WireMessage.maxStringBytes
            }
    }
}
