import MonCore

/// Reads SLOWLOG incrementally by entry id: no entry counted twice, none missed while
/// the log does not wrap, and when it wrapped (or was reset), how many were lost.
public struct SlowlogTracker: Sendable {
    private var lastID: Int64?
    /// The first reading found the log empty: the next ids may start anywhere (entry ids
    /// are global to the server and survive SLOWLOG RESET), so nothing counts as lost.
    private var startedEmpty = false

    public init() {}

    public struct Step: Sendable, Equatable {
        /// Entries not seen before, oldest first.
        public var new: [SlowlogEntry]
        /// Entries that were logged but rotated out before we read them.
        public var lost: Int64
    }

    /// `entries` as returned by `SLOWLOG GET n` (newest first). The first call only sets the
    /// position (history before the agent started is not reported as new).
    public mutating func update(_ entries: [SlowlogEntry]) -> Step {
        let sorted = entries.sorted { $0.id < $1.id }
        guard let last = lastID else {
            // An empty log at the first reading: every entry that appears later is new.
            lastID = sorted.last?.id ?? -1
            startedEmpty = sorted.isEmpty
            return Step(new: [], lost: 0)
        }
        guard let newest = sorted.last else { return Step(new: [], lost: 0) }
        if startedEmpty {
            startedEmpty = false
            lastID = newest.id
            return Step(new: sorted, lost: 0)
        }
        if newest.id < last {
            // A restarted server: ids start again from 0.
            lastID = newest.id
            let lost = sorted.first.map { max(0, $0.id) } ?? 0
            return Step(new: sorted, lost: lost)
        }
        let fresh = sorted.filter { $0.id > last }
        lastID = newest.id
        guard let oldestFresh = fresh.first else { return Step(new: [], lost: 0) }
        return Step(new: fresh, lost: max(0, oldestFresh.id - last - 1))
    }
}
