import MonCore

extension QueryStore {
    /// The blocking report of each host's latest PostgreSQL cycle: its `pg_locks` event when
    /// it carries the timestamp of the host's latest `mon_postgres_up` sample in `cache` (the
    /// agent sends one only in cycles where some session waits, so an older event is over).
    /// A host whose event payload cannot be read gets a report with `error`. Hosts without a
    /// current event are absent.
    public func currentBlockingReports(host: String?, cache: LastValueCache, nowMs: Int64) throws -> [String:
        BlockingReport]
    {
        var latestCycle: [String: Int64] = [:]
        for entry in cache.values(named: ["mon_postgres_up"], host: host, nowMs: nowMs) {
            latestCycle[entry.key.host] = max(latestCycle[entry.key.host] ?? 0, entry.value.timestampMs)
        }
        guard let earliest = latestCycle.values.min(), let latest = latestCycle.values.max() else { return [:] }
        // Only events of the latest cycles are read (one per host, not every report kept in
        // the retention window), agent clocks ahead of this one included.
        var range = try TimeRange(period: "15m", step: nil, nowMs: nowMs)
        range.startMs = max(range.startMs, earliest - 1)
        range.endMs = max(range.endMs, latest)
        var reports: [String: BlockingReport] = [:]
        for row in try latestEvents(kind: BlockingReport.eventKind, host: host, range: range)
        where row.timestampMs >= latestCycle[row.host] ?? .max {
            reports[row.host] =
                row.payload.value.flatMap { BlockingReport.decode($0) }
                ?? BlockingReport.unreadable("the pg_locks event of this cycle is malformed")
        }
        return reports
    }
}
