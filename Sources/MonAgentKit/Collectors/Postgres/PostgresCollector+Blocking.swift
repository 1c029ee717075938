import MonCore

extension PostgresCollector {
    /// Who blocks the sessions waiting on a lock, as one `pg_locks` event (only in cycles
    /// where some session waits: `pg_blocking_pids` takes the lock manager's locks briefly).
    /// A refusal of the server (permission, an old version without `pg_blocking_pids`) becomes
    /// an event with `error`, not a failed cycle; a lost connection fails the cycle.
    func collectBlocking(_ connection: PostgresConnection, into output: inout Output, at ms: Int64) throws {
        let report: BlockingReport
        do {
            let rows = try connection.query(
                BlockingReport.query,
                [String(BlockingReport.maxStatementBytes), String(BlockingReport.maxEdges + 1)])
            report = BlockingReport.parse(
                rows: (0..<rows.rowCount).map { row in
                    (0..<rows.columnCount).map { rows.string(row, $0) }
                })
        } catch {
            if error.isConnectionFailure { throw error }
            report = BlockingReport.unreadable("cannot read pg_blocking_pids: \(error.message)")
        }
        blockingEdgesDropped += Double(report.dropped)
        output.events.append(
            Event(kind: BlockingReport.eventKind, key: "blocking", timestampMs: ms, payload: report.payload))
    }
}
