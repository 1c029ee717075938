import Synchronization

/// What the report scheduler of this daemon has done, for `/health/detailed` and `/metrics`:
/// the last report made, the last delivery that succeeded and the last that failed (its
/// error, which never carries the SMTP password), the backlog as last counted, and counters
/// since start. Readable from any thread.
public final class ReportStatus: Sendable {
    public struct Snapshot: Sendable, Equatable {
        /// The next occurrence of each schedule (`daily`, `weekly`), ms since the epoch.
        public var nextDueMs: [String: Int64] = [:]
        public var lastReportID: Int64?
        public var lastReportMs: Int64?
        /// The last time a report could not be made, and why.
        public var lastBuildFailureMs: Int64?
        public var lastBuildError: String?
        public var lastSentMs: Int64?
        public var lastMailFailureMs: Int64?
        public var lastMailError: String?
        /// Deliveries still to make, and given up within the last day (as last counted).
        public var pending: Int = 0
        public var failedLastDay: Int = 0
        /// Since start: reports made, messages sent, delivery attempts that failed, deliveries given up.
        public var reportsMade: Int = 0
        public var mailsSent: Int = 0
        public var mailAttemptsFailed: Int = 0
        public var mailsGivenUp: Int = 0

        /// True when the latest delivery attempt failed, or one was given up within a day.
        public var mailFailing: Bool {
            if failedLastDay > 0 { return true }
            guard let failure = lastMailFailureMs else { return false }
            return failure > (lastSentMs ?? 0)
        }
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    func update(_ change: (inout Snapshot) -> Void) {
        state.withLock { change(&$0) }
    }
}
