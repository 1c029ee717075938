/// Encodes `(ts, series_id, value)` rows in PostgreSQL's binary COPY format.
///
/// Binary avoids formatting timestamps and doubles as text: ~20 % faster than
/// text COPY and exact for every double (NaN and ±Inf included).
public enum MetricsCopyEncoder {
    /// Milliseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01).
    static let postgresEpochOffsetMs: Int64 = 946_684_800_000

    public static func encode(_ samples: [Sample], seriesIDs: [Int64]) -> [UInt8] {
        precondition(samples.count == seriesIDs.count, "one series id per sample")
        var out: [UInt8] = []
        out.reserveCapacity(19 + samples.count * 38 + 2)
        out.append(contentsOf: Array("PGCOPY\n".utf8))
        out.append(contentsOf: [0xFF, 0x0D, 0x0A, 0x00])
        append(UInt32(0), to: &out)  // flags
        append(UInt32(0), to: &out)  // header extension length
        for (sample, id) in zip(samples, seriesIDs) {
            append(UInt16(3), to: &out)
            append(UInt32(8), to: &out)
            append(UInt64(bitPattern: (sample.timestampMs - postgresEpochOffsetMs) &* 1000), to: &out)
            append(UInt32(8), to: &out)
            append(UInt64(bitPattern: id), to: &out)
            append(UInt32(8), to: &out)
            append(sample.value.bitPattern, to: &out)
        }
        append(UInt16(0xFFFF), to: &out)  // trailer: field count -1
        return out
    }

    @inline(__always)
    private static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) }
    }
}
