import MonCore

/// Identity of a `pg_stat_statements` entry.
public struct StatementKey: Sendable, Hashable {
    public var dbid: Int64
    public var userid: Int64
    public var queryid: Int64

    public init(dbid: Int64, userid: Int64, queryid: Int64) {
        self.dbid = dbid
        self.userid = userid
        self.queryid = queryid
    }
}

/// Cumulative counters of one entry, as read.
public struct StatementCounters: Sendable, Equatable {
    public var calls: Double
    public var totalMs: Double
    public var maxMs: Double
    public var rows: Double
    public var sharedHit: Double
    public var sharedRead: Double

    public init(calls: Double, totalMs: Double, maxMs: Double, rows: Double, sharedHit: Double, sharedRead: Double) {
        self.calls = calls
        self.totalMs = totalMs
        self.maxMs = maxMs
        self.rows = rows
        self.sharedHit = sharedHit
        self.sharedRead = sharedRead
    }
}

/// What one entry did between two readings; never negative.
public struct StatementDelta: Sendable, Equatable {
    public var key: StatementKey
    public var calls: Double
    public var totalMs: Double
    public var rows: Double
    public var sharedHit: Double
    public var sharedRead: Double
    /// `max_exec_time` as the server reports it: since the entry's last reset, not per interval.
    public var maxMsSinceReset: Double
    /// True when the entry (or the whole view) was reset since the previous reading.
    public var reset: Bool

    public var meanMs: Double { calls > 0 ? totalMs / calls : 0 }
}

/// Turns successive `pg_stat_statements` readings into per-interval deltas.
///
/// The first reading only sets the baseline (history before the agent started is not
/// attributed to one interval). A counter going down, or a new `stats_reset` time of
/// `pg_stat_statements_info`, means a reset: the delta is then the count since the
/// reset, never negative. Entries new since the previous reading count in full.
public struct StatementDeltas: Sendable {
    private var previous: [StatementKey: StatementCounters] = [:]
    private var previousResetMarker: String?
    private var primed = false

    public init() {}

    public mutating func update(
        _ current: [StatementKey: StatementCounters],
        resetMarker: String? = nil
    ) -> [StatementDelta] {
        defer {
            previous = current
            previousResetMarker = resetMarker
            primed = true
        }
        guard primed else { return [] }
        let globalReset = resetMarker != nil && previousResetMarker != nil && resetMarker != previousResetMarker
        var deltas: [StatementDelta] = []
        for (key, now) in current {
            let before = previous[key]
            let entryReset = before.map { now.calls < $0.calls || now.totalMs < $0.totalMs } ?? false
            let base = (globalReset || entryReset) ? nil : before
            let calls = max(0, now.calls - (base?.calls ?? 0))
            guard calls > 0 else { continue }
            deltas.append(
                StatementDelta(
                    key: key,
                    calls: calls,
                    totalMs: max(0, now.totalMs - (base?.totalMs ?? 0)),
                    rows: max(0, now.rows - (base?.rows ?? 0)),
                    sharedHit: max(0, now.sharedHit - (base?.sharedHit ?? 0)),
                    sharedRead: max(0, now.sharedRead - (base?.sharedRead ?? 0)),
                    maxMsSinceReset: now.maxMs,
                    reset: globalReset || entryReset
                )
            )
        }
        return deltas.sorted { $0.totalMs > $1.totalMs }
    }

    /// Keys seen in the last reading (their text is already known).
    public func isKnown(_ key: StatementKey) -> Bool { previous[key] != nil }
}

/// Which statements deserve a plan: top N by mean time over a sliding window.
public struct SlowStatementWindow: Sendable {
    private var entries: [StatementKey: [(ms: Int64, calls: Double, totalMs: Double)]] = [:]
    public let windowMs: Int64

    public init(windowMs: Int64 = 3_600_000) { self.windowMs = windowMs }

    public mutating func record(_ deltas: [StatementDelta], at ms: Int64) {
        for delta in deltas {
            entries[delta.key, default: []].append((ms, delta.calls, delta.totalMs))
        }
        let cutoff = ms - windowMs
        for key in Array(entries.keys) {
            entries[key]?.removeAll { $0.ms < cutoff }
            if entries[key]?.isEmpty ?? true { entries[key] = nil }
        }
    }

    /// Up to `limit` keys whose mean over the window is at least `thresholdMs`, slowest first.
    public func top(_ limit: Int, thresholdMs: Double) -> [(key: StatementKey, meanMs: Double)] {
        entries.compactMap { key, points -> (key: StatementKey, meanMs: Double)? in
            let calls = points.reduce(0) { $0 + $1.calls }
            guard calls > 0 else { return nil }
            let mean = points.reduce(0) { $0 + $1.totalMs } / calls
            return mean >= thresholdMs ? (key, mean) : nil
        }
        .sorted { $0.meanMs > $1.meanMs }
        .prefix(limit)
        .map { $0 }
    }
}
