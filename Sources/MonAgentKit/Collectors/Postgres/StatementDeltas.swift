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
///
/// A reading is fed row by row (`begin`, `observe` per entry, `finish`), so a poll of 5 000
/// entries allocates nothing per row: each entry's counters are compared with and replace
/// the previous ones in place, and entries gone from the view are dropped at `finish`.
public struct StatementDeltas: Sendable {
    /// Per statement: the last counters read and the reading they were read in.
    private struct Entry: Sendable {
        var counters: StatementCounters
        var generation: UInt32
    }

    private var previous: [StatementKey: Entry] = [:]
    private var previousResetMarker: String?
    private var primed = false
    private var generation: UInt32 = 0
    private var globalReset = false
    private var seen = 0
    private var pending: [StatementDelta] = []
    /// Rows of a reading with a key already seen in the same reading (ignored; the first counts).
    public private(set) var duplicateRows = 0
    /// Entries the last reading no longer had (evicted or reset): what they held is forgotten.
    public private(set) var removedLastReading = 0

    public init() {}

    /// Statements held (those of the last reading).
    public var count: Int { previous.count }

    /// Starts a reading; `resetMarker` is `pg_stat_statements_info.stats_reset` (nil when unknown).
    public mutating func begin(resetMarker: String? = nil) {
        generation &+= 1
        globalReset = resetMarker != nil && previousResetMarker != nil && resetMarker != previousResetMarker
        previousResetMarker = resetMarker
        seen = 0
        pending.removeAll(keepingCapacity: true)
    }

    /// One entry of the current reading.
    public mutating func observe(_ key: StatementKey, _ now: StatementCounters) {
        guard let index = previous.index(forKey: key) else {
            previous[key] = Entry(counters: now, generation: generation)
            seen += 1
            if primed { record(key, now, base: nil, reset: globalReset) }
            return
        }
        let before = previous.values[index]
        guard before.generation != generation else {
            duplicateRows += 1
            return
        }
        previous.values[index] = Entry(counters: now, generation: generation)
        seen += 1
        guard primed else { return }
        let entryReset = now.calls < before.counters.calls || now.totalMs < before.counters.totalMs
        let reset = globalReset || entryReset
        record(key, now, base: reset ? nil : before.counters, reset: reset)
    }

    /// Ends the reading: forgets entries it did not have, returns the deltas by total time, largest first.
    public mutating func finish() -> [StatementDelta] {
        removedLastReading = previous.count - seen
        if removedLastReading > 0 {
            let current = generation
            previous = previous.filter { $0.value.generation == current }
        }
        defer { primed = true }
        guard primed else { return [] }
        pending.sort { $0.totalMs > $1.totalMs }
        return pending
    }

    private mutating func record(_ key: StatementKey, _ now: StatementCounters, base: StatementCounters?, reset: Bool) {
        let calls = max(0, now.calls - (base?.calls ?? 0))
        guard calls > 0 else { return }
        pending.append(
            StatementDelta(
                key: key,
                calls: calls,
                totalMs: max(0, now.totalMs - (base?.totalMs ?? 0)),
                rows: max(0, now.rows - (base?.rows ?? 0)),
                sharedHit: max(0, now.sharedHit - (base?.sharedHit ?? 0)),
                sharedRead: max(0, now.sharedRead - (base?.sharedRead ?? 0)),
                maxMsSinceReset: now.maxMs,
                reset: reset
            )
        )
    }

    /// A whole reading at once (`begin`, `observe` for each entry, `finish`).
    public mutating func update(
        _ current: [StatementKey: StatementCounters],
        resetMarker: String? = nil
    ) -> [StatementDelta] {
        begin(resetMarker: resetMarker)
        for (key, now) in current { observe(key, now) }
        return finish()
    }

    /// Keys seen in the last reading.
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
