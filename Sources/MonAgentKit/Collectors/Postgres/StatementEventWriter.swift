import MonCore

/// The `pg_statement` deltas of one poll as `StatementBundle` events: each statement a row
/// written field by field into one reused buffer, a bundle closed every
/// `StatementBundle.targetPayloadBytes`.
///
/// Once expanded by the daemon, a row is the same text as the `JSONValue.object` of these
/// fields that the collector shipped as an event per statement before (PostgresLogicTests
/// holds them equal).
struct StatementEventWriter {
    private var buffer: [UInt8] = []
    private var rows = 0
    private var bundles: [Event] = []

    /// Adds one statement's delta to the open bundle (opening one if needed).
    mutating func add(_ delta: StatementDelta, database: String, user: String, query: String?, timestampMs: Int64) {
        if rows == 0 {
            buffer.removeAll(keepingCapacity: true)
            append(#"{"columns":["#)
            for (index, column) in StatementBundle.columns.enumerated() {
                if index > 0 { append(",") }
                JSONValue.writeString(column, to: &buffer)
            }
            append(#"],"rows":[["#)
        } else {
            append(",[")
        }
        JSONValue.writeString("\(delta.key.dbid):\(delta.key.queryid)", to: &buffer)
        append(",")
        JSONValue.writeString(String(delta.key.queryid), to: &buffer)
        number(Double(delta.key.dbid))
        number(Double(delta.key.userid))
        append(",")
        JSONValue.writeString(database, to: &buffer)
        append(",")
        JSONValue.writeString(user, to: &buffer)
        number(delta.calls)
        number(delta.totalMs)
        number(delta.meanMs)
        number(delta.maxMsSinceReset)
        number(delta.rows)
        number(delta.sharedHit)
        number(delta.sharedRead)
        append(delta.reset ? ",true," : ",false,")
        if let query { JSONValue.writeString(query, to: &buffer) } else { append("null") }
        append("]")
        rows += 1
        if buffer.count >= StatementBundle.targetPayloadBytes { close(timestampMs: timestampMs) }
    }

    /// The bundles of the poll (the open one closed), and a fresh start for the next poll.
    mutating func finish(timestampMs: Int64) -> [Event] {
        if rows > 0 { close(timestampMs: timestampMs) }
        defer { bundles = [] }
        return bundles
    }

    private mutating func close(timestampMs: Int64) {
        append("]}")
        bundles.append(
            Event(
                kind: StatementBundle.kind, key: "", timestampMs: timestampMs,
                payload: String(decoding: buffer, as: UTF8.self)))
        rows = 0
    }

    private mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { buffer.append(contentsOf: $0) }
    }

    private mutating func number(_ value: Double) {
        buffer.append(UInt8(ascii: ","))
        JSONValue.writeNumber(value, to: &buffer)
    }
}
