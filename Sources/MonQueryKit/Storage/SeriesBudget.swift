import Synchronization

/// The daemon's count of rows in `metric_series` against `ingest.max_series`, shared by the
/// writers of an `IngestWriterPool`.
///
/// The cap is shared, not split: a writer takes a grant before it inserts new series and hands
/// back what it did not use once it knows how many rows were really new (an insert that met an
/// existing row uses nothing). Grants come out of one lock-protected count, so writers inserting
/// at the same moment can never together pass the cap, and a busy writer may use all of the room
/// left. Splitting the cap (cap ÷ writers each) would need no lock, but would refuse series while
/// there is room because hosts do not spread evenly over writers. The lock is held only for
/// arithmetic, never around a database call.
///
/// The count starts from `metric_series` when the first writer needs it (`start(loaded:)`); rows
/// other daemons on the same database insert later are not counted (as before the pool).
public final class SeriesBudget: Sendable {
    private struct State {
        var started = false
        /// Rows known in `metric_series`, plus the grants not settled yet.
        var used = 0
    }

    public let cap: Int
    private let state = Mutex(State())

    public init(cap: Int) { self.cap = cap }

    /// Sets the count read from `metric_series`, unless a writer did already (the first read wins:
    /// a later one may include rows the writers inserted and counted since).
    func start(loaded: Int) {
        state.withLock { state in
            guard !state.started else { return }
            state.started = true
            state.used = loaded
        }
    }

    /// True once `start(loaded:)` ran.
    var isStarted: Bool { state.withLock { $0.started } }

    /// Takes up to `wanted` series from the room left; the grant (possibly 0).
    func reserve(_ wanted: Int) -> Int {
        state.withLock { state in
            let granted = max(0, min(wanted, cap - state.used))
            state.used += granted
            return granted
        }
    }

    /// Gives back the part of a grant that no new row used.
    func release(_ unused: Int) {
        guard unused > 0 else { return }
        state.withLock { $0.used -= unused }
    }

    /// Rows counted, grants in progress included.
    public var used: Int { state.withLock { $0.used } }
}
