import NIOCore

/// Binary layout of a BATCH payload.
///
/// ```
/// u64 seq, i64 created_ms, u32 sample_count,
///   sample*: string name, u8 kind, u8 label_count, (string name, string value)*, i64 ts_ms, f64 value
/// section*: u8 tag, u32 length, bytes     (tags unknown to the reader are skipped)
///   tag 1, events: u32 count, event*: string kind, string key, i64 ts_ms, long-string payload (JSON)
/// ```
/// Counts are checked against the bytes actually present before anything is reserved.
public enum BatchCodec {
    /// Smallest possible encoded sample: empty name, kind, no labels, ts, value.
    static let minSampleBytes = 4 + 1 + 1 + 8 + 8
    static let minEventBytes = 4 + 4 + 8 + 4
    /// Section tags.
    static let eventsTag: UInt8 = 1
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
            out.writeInteger(UInt8(clamping: sample.labels.count))
            for pair in sample.labels.pairs.prefix(Int(UInt8.max)) {
                out.writeWireString(pair.name)
                out.writeWireString(pair.value)
            }
            out.writeInteger(sample.timestampMs)
            out.writeInteger(sample.value.bitPattern)
        }
        if !batch.events.isEmpty {
            out.writeInteger(eventsTag)
            let lengthIndex = out.writerIndex
            out.writeInteger(UInt32(0))
            let start = out.writerIndex
            out.writeInteger(UInt32(batch.events.count))
            for event in batch.events {
                out.writeWireString(event.kind)
                out.writeWireString(event.key)
                out.writeInteger(event.timestampMs)
                out.writeWireString(event.payload)
            }
            out.setInteger(UInt32(out.writerIndex - start), at: lengthIndex)
        }
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
            let field = "batch \(seq) sample \(index)"
            let name = try payload.readWireString("\(field) name")
            let rawKind = try payload.readWireInteger(UInt8.self, "\(field) kind")
            guard let kind = MetricKind(rawValue: rawKind) else {
                throw WireError(.malformed, "\(field): unknown metric kind \(rawKind)")
            }
            let labelCount = try payload.readWireInteger(UInt8.self, "\(field) label count")
            var labels: [String: String] = [:]
            for _ in 0..<labelCount {
                let labelName = try payload.readWireString("\(field) label name")
                labels[labelName] = try payload.readWireString("\(field) label value")
            }
            let timestamp = try payload.readWireInteger(Int64.self, "\(field) timestamp")
            let bits = try payload.readWireInteger(UInt64.self, "\(field) value")
            samples.append(
                Sample(name, Labels(labels), value: Double(bitPattern: bits), kind: kind, timestampMs: timestamp)
            )
        }
        var events: [Event] = []
        // Sections: events, and those of later protocol revisions, skipped when unknown.
        while payload.readableBytes > 0 {
            let tag = try payload.readWireInteger(UInt8.self, "batch \(seq) section tag")
            let length = try payload.readWireInteger(UInt32.self, "batch \(seq) section length")
            guard var section = payload.readSlice(length: Int(length)) else {
                throw WireError(.malformed, "batch \(seq): section of \(length) bytes truncated")
            }
            if tag == eventsTag {
                events = try decodeEvents(&section, seq: seq)
            }
        }
        return Batch(seq: seq, createdMs: created, samples: samples, events: events)
    }

    static func decodeEvents(_ section: inout ByteBuffer, seq: UInt64) throws(WireError) -> [Event] {
        let count = try section.readWireInteger(UInt32.self, "batch \(seq) event count")
        guard UInt64(count) * UInt64(minEventBytes) <= UInt64(section.readableBytes) else {
            throw WireError(
                .malformed, "batch \(seq): announces \(count) events but only \(section.readableBytes) bytes follow")
        }
        var events: [Event] = []
        events.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            let field = "batch \(seq) event \(index)"
            let kind = try section.readWireString("\(field) kind")
            let key = try section.readWireString("\(field) key")
            let timestamp = try section.readWireInteger(Int64.self, "\(field) timestamp")
            let payload = try section.readWireString("\(field) payload", maxBytes: maxPayloadBytes)
            events.append(Event(kind: kind, key: key, timestampMs: timestamp, payload: payload))
        }
        guard section.readableBytes == 0 else {
            throw WireError(.malformed, "batch \(seq): \(section.readableBytes) bytes after the events")
        }
        return events
    }
}
