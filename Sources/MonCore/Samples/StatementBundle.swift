/// The `pg_statement` events of one statement poll, shipped as a few events instead of one
/// per statement.
///
/// A busy server reports ~5 000 changed statements per poll; as one event each, they were
/// built, spooled, read back, encoded and decoded 5 000 times. A bundle is an event of kind
/// `pg_statements` whose payload holds the statements as rows under one list of column names:
///
///     {"columns":["key","queryid","dbid",...],"rows":[["16384:42","42",16384,...],...]}
///
/// The daemon expands it (`expand`) into the events it always stored: per row, kind
/// `pg_statement`, key the `key` column, the bundle's timestamp, and as payload the object of
/// the other columns in order — the same text the agent wrote per statement before. Events
/// of kind `pg_statement` from older agents are stored as they come.
public enum StatementBundle {
    /// The bundle's event kind.
    public static let kind = "pg_statements"
    /// The kind of the events it expands to.
    public static let statementKind = "pg_statement"
    /// The columns, in payload order after `key`: the fields of a `pg_statement` payload.
    public static let columns = [
        "key", "queryid", "dbid", "userid", "database", "user", "calls", "total_exec_ms", "mean_exec_ms",
        "max_exec_ms_since_reset", "rows", "shared_blks_hit", "shared_blks_read", "reset", "query",
    ]
    /// A bundle is closed once its payload reaches this many bytes (a poll of 5 000 statements
    /// is then some 30 events, each far below the smallest `ingest.max_batch_bytes`).
    public static let targetPayloadBytes = 32 * 1024

    /// The events of `events` with every bundle expanded into its statements, in order;
    /// `malformed` counts the bundles that could not be read (left out).
    public static func expanding(_ events: [Event], malformed: inout Int) -> [Event] {
        guard events.contains(where: { $0.kind == kind }) else { return events }
        var expanded: [Event] = []
        expanded.reserveCapacity(events.count)
        for event in events {
            guard event.kind == kind else {
                expanded.append(event)
                continue
            }
            guard let statements = expand(event) else {
                malformed += 1
                continue
            }
            expanded += statements
        }
        return expanded
    }

    /// The `pg_statement` events of one bundle, or nil when it is not a bundle as written here
    /// (not JSON, no `key` column first, a row of another length, a key that is not a string).
    public static func expand(_ bundle: Event) -> [Event]? {
        guard case .object(let fields)? = try? JSONParser.parse(bundle.payload),
            case .array(let columnValues)? = fields.first(where: { $0.0 == "columns" })?.1,
            case .array(let rows)? = fields.first(where: { $0.0 == "rows" })?.1
        else { return nil }
        var names: [String] = []
        for value in columnValues {
            guard case .string(let name) = value else { return nil }
            names.append(name)
        }
        guard names.first == "key" else { return nil }
        var buffer: [UInt8] = []
        var events: [Event] = []
        events.reserveCapacity(rows.count)
        for row in rows {
            guard case .array(let values) = row, values.count == names.count, case .string(let key) = values[0] else {
                return nil
            }
            buffer.removeAll(keepingCapacity: true)
            buffer.append(UInt8(ascii: "{"))
            for index in 1..<values.count {
                if index > 1 { buffer.append(UInt8(ascii: ",")) }
                JSONValue.writeString(names[index], to: &buffer)
                buffer.append(UInt8(ascii: ":"))
                values[index].write(to: &buffer)
            }
            buffer.append(UInt8(ascii: "}"))
            events.append(
                Event(
                    kind: statementKind, key: key, timestampMs: bundle.timestampMs,
                    payload: String(decoding: buffer, as: UTF8.self)))
        }
        return events
    }
}
