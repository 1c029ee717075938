import MonCore

/// The payload of a `pg_statement` event, written field by field into one reused buffer.
///
/// The same text as the `JSONValue.object` of these fields (PostgresLogicTests holds them
/// equal), without building an object of 14 pairs and growing a new buffer for each of the
/// thousands of statements a busy server reports per poll.
struct StatementEventWriter {
    private var buffer: [UInt8] = []

    mutating func payload(_ delta: StatementDelta, database: String, user: String, query: String?) -> String {
        buffer.removeAll(keepingCapacity: true)
        append(#"{"queryid":"#)
        JSONValue.writeString(String(delta.key.queryid), to: &buffer)
        number(#","dbid":"#, Double(delta.key.dbid))
        number(#","userid":"#, Double(delta.key.userid))
        append(#","database":"#)
        JSONValue.writeString(database, to: &buffer)
        append(#","user":"#)
        JSONValue.writeString(user, to: &buffer)
        number(#","calls":"#, delta.calls)
        number(#","total_exec_ms":"#, delta.totalMs)
        number(#","mean_exec_ms":"#, delta.meanMs)
        number(#","max_exec_ms_since_reset":"#, delta.maxMsSinceReset)
        number(#","rows":"#, delta.rows)
        number(#","shared_blks_hit":"#, delta.sharedHit)
        number(#","shared_blks_read":"#, delta.sharedRead)
        append(delta.reset ? #","reset":true,"query":"# : #","reset":false,"query":"#)
        if let query { JSONValue.writeString(query, to: &buffer) } else { append("null") }
        append("}")
        return String(decoding: buffer, as: UTF8.self)
    }

    private mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { buffer.append(contentsOf: $0) }
    }

    private mutating func number(_ key: StaticString, _ value: Double) {
        append(key)
        JSONValue.writeNumber(value, to: &buffer)
    }
}
