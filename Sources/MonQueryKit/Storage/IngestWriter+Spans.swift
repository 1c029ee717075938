import MonCore

extension IngestLimits {
    /// A span's `service` and `name` (indexed together with its start).
    public static let maxSpanFieldBytes = 1024
    /// A span's status message, attributes and events together.
    public static let maxSpanTextBytes = 512 * 1024

    /// Why a span is left out, or nil: ids that are not lowercase hex (the wire checks them
    /// already), a negative duration, a service or name too long to index, too much text.
    public static func problem(_ span: SpanRecord) -> IngestDrop? {
        guard SpanRecord.isValidID(span.traceID, hexDigits: 32), SpanRecord.isValidID(span.spanID, hexDigits: 16),
            span.parentSpanID.map({ SpanRecord.isValidID($0, hexDigits: 16) }) ?? true, span.durationNs >= 0,
            span.service.utf8.count <= maxSpanFieldBytes, span.name.utf8.count <= maxSpanFieldBytes,
            span.statusMessage.utf8.count + span.attributes.utf8.count + span.events.utf8.count <= maxSpanTextBytes
        else { return .span }
        return nil
    }
}

/// Encodes rows of the `spans` table (`columns`), from spans as `IngestWriter.cleaned` gives them.
enum SpansCopyEncoder {
    static let columns =
        "start, host, trace_id, span_id, parent_span_id, service, name, kind, duration_ns, status, status_message, "
        + "attributes, events"

    static func encode(_ spans: [SpanRecord], host: String) -> [UInt8] {
        var writer = BinaryCopyWriter(
            capacity: spans.reduce(0) {
                $0 + 160 + $1.name.utf8.count + $1.attributes.utf8.count + $1.events.utf8.count
            })
        for span in spans {
            writer.row(fields: 13)
            // timestamptz: microseconds since 2000-01-01 (the nanoseconds below one are dropped).
            writer.int64(span.startNs.floorDiv(1000) - BinaryCopyWriter.postgresEpochOffsetMs * 1000)
            writer.text(host)
            writer.text(span.traceID)
            writer.text(span.spanID)
            writer.optionalText(span.parentSpanID)
            writer.text(span.service)
            writer.text(span.name)
            writer.text(span.kind.name)
            writer.int64(span.durationNs)
            writer.text(span.status.name)
            writer.text(span.statusMessage)
            writer.jsonb(span.attributes)
            writer.jsonb(span.events)
        }
        return writer.finish()
    }
}

extension Int64 {
    /// Division rounding toward negative infinity (a start before 1970 stays in its microsecond).
    fileprivate func floorDiv(_ divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

extension IngestWriter {
    /// The start of `span` in milliseconds (its partition's day), rounded down.
    static func startMs(_ span: SpanRecord) -> Int64 { span.startNs.floorDiv(1_000_000) }

    /// `span` as it is stored: NUL characters removed from its texts (PostgreSQL text cannot
    /// hold them), attributes that are not a JSON object as `{}`, events that are not a JSON
    /// array as `[]` (the same as logs' fields).
    static func cleaned(_ span: SpanRecord) -> SpanRecord {
        var record = span
        record.service = clean(span.service)
        record.name = clean(span.name)
        record.statusMessage = clean(span.statusMessage)
        if !isJSONObject(span.attributes) { record.attributes = "{}" }
        if !isJSONArray(span.events) { record.events = "[]" }
        return record
    }

    /// True when `text` parses as a JSON array that jsonb accepts.
    static func isJSONArray(_ text: String) -> Bool {
        guard text.first == "[" else { return false }
        // The object checker decides it as the value of a member.
        return isJSONObject("{\"a\":" + text + "}")
    }

    /// Stores a batch's spans (cleaned) by binary `COPY` under a savepoint; a span already
    /// stored (the same trace, span and start: an exporter retried, or the batch holds it
    /// twice) makes the `COPY` fail on `spans_id_idx`, and the spans then go through an
    /// `INSERT … ON CONFLICT DO NOTHING` that skips those already there. Returns the rows stored.
    func storeSpans(_ spans: [SpanRecord], host: String, _ connection: PostgresConnection) throws -> Int {
        let cleaned = spans.map(Self.cleaned)
        try connection.query("SAVEPOINT spans_copy")
        let alreadyStored: Bool
        do {
            try connection.copyIn(
                "COPY spans (\(SpansCopyEncoder.columns)) FROM STDIN (FORMAT binary)",
                data: SpansCopyEncoder.encode(cleaned, host: host))
            alreadyStored = false
        } catch {
            guard error.sqlState == "23505" else { throw error }  // unique_violation
            alreadyStored = true
        }
        guard alreadyStored else {
            try connection.query("RELEASE SAVEPOINT spans_copy")
            return cleaned.count
        }
        try connection.query("ROLLBACK TO SAVEPOINT spans_copy")
        spanCopyFallbacks += 1
        return try connection.query(
            """
            INSERT INTO spans (\(SpansCopyEncoder.columns))
            SELECT 'epoch'::timestamptz + r.start_us::bigint * interval '1 microsecond', $2, r.trace_id, r.span_id,
                   r.parent_span_id, r.service, r.name, r.kind, r.duration_ns::bigint, r.status, r.status_message,
                   r.attributes::jsonb, r.events::jsonb
            FROM jsonb_to_recordset($1::jsonb) AS r(
                start_us numeric, trace_id text, span_id text, parent_span_id text, service text, name text,
                kind text, duration_ns numeric, status text, status_message text, attributes text, events text)
            ON CONFLICT DO NOTHING
            """,
            [Self.spansJSON(cleaned), host]
        ).affectedRows
    }

    /// Cleaned spans for `jsonb_to_recordset`. Numbers come out as JSON numbers with a
    /// fraction (`1796508672232000.0`), so the record reads them as numeric, then bigint; the
    /// start is added to the epoch in whole microseconds, exactly as the COPY path stores it.
    static func spansJSON(_ spans: [SpanRecord]) -> String {
        JSONValue.array(
            spans.map { span in
                .object([
                    ("start_us", .number(Double(span.startNs.floorDiv(1000)))), ("trace_id", .string(span.traceID)),
                    ("span_id", .string(span.spanID)),
                    ("parent_span_id", span.parentSpanID.map { .string($0) } ?? .null),
                    ("service", .string(span.service)), ("name", .string(span.name)), ("kind", .string(span.kind.name)),
                    ("duration_ns", .number(Double(span.durationNs))), ("status", .string(span.status.name)),
                    ("status_message", .string(span.statusMessage)), ("attributes", .string(span.attributes)),
                    ("events", .string(span.events)),
                ])
            }
        ).encoded()
    }
}
