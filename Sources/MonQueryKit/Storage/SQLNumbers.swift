import MonCore

/// SQL for arithmetic on stored values that came from outside (agents' samples, histogram
/// counts, `pg_stat_*` payloads), written so that PostgreSQL never raises on them.
///
/// PostgreSQL checks its arithmetic: a `double precision` sum or difference whose finite
/// operands overflow raises "value out of range: overflow", and a `numeric` sum cast back to
/// `bigint` raises "bigint out of range". One such value in a minute would make the rollup
/// pass over that minute fail on every retry (holding the watermark, and with it every raw
/// partition retention wants to drop), and an API query over it fail every time. These
/// fragments clamp instead, decided once here for the rollups and the queries alike.
public enum SQLNumbers {
    /// The largest magnitude a double operand keeps, `Double.greatestFiniteMagnitude / 2^32`
    /// (≈ 4.2e298): a sum of fewer than 2^32 clamped values, or the difference of two, is
    /// finite. Real measurements are hundreds of orders of magnitude smaller.
    public static let doubleLimit = Double.greatestFiniteMagnitude / 0x1p32

    /// `doubleLimit` as a `double precision` literal (its shortest round-trip text).
    static let limitLiteral = "'\(doubleLimit)'::float8"

    /// `expression` (`double precision`) with finite magnitudes above `doubleLimit` pinned at
    /// ±`doubleLimit`; NaN and ±Infinity pass unchanged (PostgreSQL's checks fire only when
    /// finite operands give an infinite result, so they are safe in sums and differences).
    public static func clamped(_ expression: String) -> String {
        let e = "(\(expression))"
        return
            "(CASE WHEN abs\(e) > \(limitLiteral) AND abs\(e) < 'Infinity'::float8"
            + " THEN sign\(e) * \(limitLiteral) ELSE \(e) END)"
    }

    /// `sum(expression)` of `double precision` values that cannot overflow (see `clamped`).
    public static func doubleSum(_ expression: String) -> String { "sum(\(clamped(expression)))" }

    /// `sum(expression)` of `bigint` counts, computed in `numeric` (as PostgreSQL sums
    /// `bigint`) and saturated at `Histogram.maxCount`, as a `bigint`; NULL stays NULL.
    public static func countSum(_ expression: String) -> String {
        count("sum(\(expression))")
    }

    /// A count expression (e.g. a `numeric` sum) saturated at `Histogram.maxCount`, as a
    /// `bigint`; NULL stays NULL (`least` would turn it into the ceiling).
    public static func count(_ expression: String) -> String {
        let e = "(\(expression))"
        return "(CASE WHEN \(e) > \(Histogram.maxCount) THEN \(Histogram.maxCount) ELSE \(e) END)::bigint"
    }

    /// The JSON number at `field` of the `jsonb` `object` as `double precision`, clamped like
    /// `clamped`; NULL when it is absent or not a number (a string, an object), and 0 for a
    /// magnitude below 1e-300 (`jsonb` holds numbers like 1e400 or 1e-400 that
    /// `double precision` cannot, and the cast would raise).
    public static func jsonDouble(_ object: String, _ field: String) -> String {
        let value = "(\(object)->'\(field)')"
        let number = "\(value)::numeric"
        return
            "(CASE WHEN jsonb_typeof\(value) <> 'number' THEN NULL"
            + " WHEN \(number) > \(doubleLimit) THEN \(limitLiteral)"
            + " WHEN \(number) < -\(doubleLimit) THEN -\(limitLiteral)"
            + " WHEN abs(\(number)) < 1e-300 THEN 0::float8"
            + " ELSE \(number)::float8 END)"
    }
}
