import MonCore

/// Rows in PostgreSQL's binary COPY format.
///
/// Binary avoids formatting timestamps and doubles as text: ~20 % faster than
/// text COPY and exact for every double (NaN and ±Inf included).
struct BinaryCopyWriter {
    /// Milliseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01).
    static let postgresEpochOffsetMs: Int64 = 946_684_800_000
    static let int4OID: UInt32 = 23
    static let int8OID: UInt32 = 20

    private(set) var bytes: [UInt8] = []

    init(capacity: Int) {
        bytes.reserveCapacity(capacity + 21)
        bytes.append(contentsOf: Array("PGCOPY\n".utf8))
        bytes.append(contentsOf: [0xFF, 0x0D, 0x0A, 0x00])
        append(UInt32(0))  // flags
        append(UInt32(0))  // header extension length
    }

    mutating func row(fields: UInt16) { append(fields) }

    mutating func timestamp(ms: Int64) {
        append(UInt32(8))
        append(UInt64(bitPattern: (ms - Self.postgresEpochOffsetMs) &* 1000))
    }

    mutating func int64(_ value: Int64) {
        append(UInt32(8))
        append(UInt64(bitPattern: value))
    }

    mutating func double(_ value: Double) {
        append(UInt32(8))
        append(value.bitPattern)
    }

    mutating func int16(_ value: Int16) {
        append(UInt32(2))
        append(UInt16(bitPattern: value))
    }

    /// `text`'s UTF-8 (PostgreSQL text holds no NUL: the caller removes them).
    mutating func text(_ value: String) {
        append(UInt32(value.utf8.count))
        bytes.append(contentsOf: value.utf8)
    }

    /// `text`, or NULL.
    mutating func optionalText(_ value: String?) {
        if let value { text(value) } else { null() }
    }

    /// A `jsonb` value: format version 1, then the JSON text.
    mutating func jsonb(_ json: String) {
        append(UInt32(1 + json.utf8.count))
        bytes.append(1)
        bytes.append(contentsOf: json.utf8)
    }

    mutating func null() { append(UInt32(bitPattern: -1)) }

    /// A double, or NULL when it is not finite.
    mutating func finiteOrNull(_ value: Double) {
        if value.isFinite { double(value) } else { null() }
    }

    /// A one-dimensional `integer[]` / `bigint[]` without NULLs.
    mutating func array<T: FixedWidthInteger>(_ values: [T], oid: UInt32) {
        let elementSize = MemoryLayout<T>.size
        let header = values.isEmpty ? 12 : 20
        append(UInt32(header + values.count * (4 + elementSize)))
        append(UInt32(values.isEmpty ? 0 : 1))  // dimensions
        append(UInt32(0))  // has nulls
        append(oid)
        guard !values.isEmpty else { return }
        append(UInt32(values.count))
        append(UInt32(1))  // lower bound
        for value in values {
            append(UInt32(elementSize))
            append(value)
        }
    }

    mutating func finish() -> [UInt8] {
        append(UInt16(0xFFFF))  // trailer: field count -1
        return bytes
    }

    @inline(__always)
    private mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Encodes `(ts, series_id, value)` rows of the `metrics` table.
public enum MetricsCopyEncoder {
    public static func encode(_ samples: [Sample], seriesIDs: [Int64]) -> [UInt8] {
        precondition(samples.count == seriesIDs.count, "one series id per sample")
        var writer = BinaryCopyWriter(capacity: samples.count * 38)
        for (sample, id) in zip(samples, seriesIDs) {
            writer.row(fields: 3)
            writer.timestamp(ms: sample.timestampMs)
            writer.int64(id)
            writer.double(sample.value)
        }
        return writer.finish()
    }
}

/// Encodes rows of the `histograms` table:
/// `(ts, series_id, count, sum, min, max, zero_count, idx, cnt)`.
public enum HistogramCopyEncoder {
    public static func encode(_ histograms: [HistogramSample], seriesIDs: [Int64]) -> [UInt8] {
        precondition(histograms.count == seriesIDs.count, "one series id per histogram")
        var writer = BinaryCopyWriter(capacity: histograms.count * 200)
        for (sample, id) in zip(histograms, seriesIDs) {
            let histogram = sample.histogram
            let buckets = histogram.sortedBuckets
            writer.row(fields: 9)
            writer.timestamp(ms: sample.timestampMs)
            writer.int64(id)
            writer.int64(Int64(clamping: histogram.count))
            writer.double(histogram.sum)
            writer.finiteOrNull(histogram.min)
            writer.finiteOrNull(histogram.max)
            writer.int64(Int64(clamping: histogram.zeroCount))
            writer.array(buckets.map(\.index), oid: BinaryCopyWriter.int4OID)
            writer.array(buckets.map { Int64(clamping: $0.count) }, oid: BinaryCopyWriter.int8OID)
        }
        return writer.finish()
    }
}

/// Encodes rows of the `logs` table with the ids taken for them:
/// `(id, ts, host, service, level, event, logger, trace_id, fields, source, "offset")`. The
/// records come as `IngestWriter.cleaned` gives them (NUL characters removed, fields that are
/// not a JSON object as `{}`: what `IngestWriter.logsJSON` stores), and are written as they are.
enum LogsCopyEncoder {
    static let columns = #"id, ts, host, service, level, event, logger, trace_id, fields, source, "offset""#

    /// Rows encoded before their ids are taken (the daemon encodes a batch while PostgreSQL
    /// stores the one before it); `filled(ids:)` writes the ids in.
    struct Rows: Sendable {
        private(set) var bytes: [UInt8]
        /// Where each row's id (8 bytes, big-endian) is in `bytes`.
        let idOffsets: [Int]

        init(bytes: [UInt8], idOffsets: [Int]) {
            self.bytes = bytes
            self.idOffsets = idOffsets
        }

        var count: Int { idOffsets.count }

        /// The `COPY` data with `ids[i]` as row i's id.
        consuming func filled(ids: [Int64]) -> [UInt8] {
            precondition(ids.count == idOffsets.count, "one id per log record")
            bytes.withUnsafeMutableBytes { raw in
                for (offset, id) in zip(idOffsets, ids) {
                    raw.storeBytes(of: UInt64(bitPattern: id).bigEndian, toByteOffset: offset, as: UInt64.self)
                }
            }
            return bytes
        }
    }

    static func encode(_ logs: [LogRecord], ids: [Int64], host: String) -> [UInt8] {
        precondition(logs.count == ids.count, "one id per log record")
        return rows(logs, host: host).filled(ids: ids)
    }

    /// The rows of `logs` with ids still to be filled in.
    static func rows(_ logs: [LogRecord], host: String) -> Rows {
        var writer = BinaryCopyWriter(capacity: logs.reduce(0) { $0 + 96 + $1.event.utf8.count + $1.fields.utf8.count })
        var idOffsets: [Int] = []
        idOffsets.reserveCapacity(logs.count)
        for record in logs {
            writer.row(fields: 11)
            // The id's value follows its length (4 bytes).
            idOffsets.append(writer.bytes.count + 4)
            writer.int64(0)
            writer.timestamp(ms: record.timestampMs)
            writer.text(host)
            writer.text(record.service)
            writer.int16(Int16(clamping: record.level.rawValue))
            writer.text(record.event)
            writer.optionalText(record.logger)
            writer.optionalText(record.traceID)
            writer.jsonb(record.fields)
            writer.text(record.source)
            writer.int64(record.offset)
        }
        return Rows(bytes: writer.finish(), idOffsets: idOffsets)
    }
}
