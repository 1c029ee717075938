/// Something worth keeping whole rather than as a number: a Redis SLOWLOG entry,
/// a PostgreSQL statement's per-interval delta, a plan, a table snapshot.
///
/// Stored in the `events` table (partitioned by day) with its JSON payload.
public struct Event: Sendable, Hashable {
    /// What it is: `pg_statement`, `pg_plan`, `pg_table`, `pg_index`, `redis_slowlog`, ...
    public var kind: String
    /// Identity within the kind (queryid, table name, slowlog id) for grouping.
    public var key: String
    /// Milliseconds since the Unix epoch.
    public var timestampMs: Int64
    /// A JSON object, as text.
    public var payload: String

    public init(kind: String, key: String, timestampMs: Int64, payload: String) {
        self.kind = kind
        self.key = key
        self.timestampMs = timestampMs
        self.payload = payload
    }

    public init(kind: String, key: String, timestampMs: Int64, payload: JSONValue) {
        self.init(kind: kind, key: key, timestampMs: timestampMs, payload: payload.encoded())
    }
}
