import MonCore

/// When the rollup gives up on a range instead of retrying it forever.
///
/// A pass recomputes the minutes after the watermark (and the late ranges) in one
/// transaction, so one value PostgreSQL refuses would fail every pass and hold the watermark
/// — and with it every raw partition retention wants to drop. After
/// `attemptsBeforeSkipping` consecutive passes failed at the same watermark with an error
/// about the data itself, the next pass runs unit by unit (minute, then hour), each in a
/// savepoint: the units that still fail are recorded in `rollup_skipped` with the error,
/// logged, counted (`mon_query_rollup_skipped_ranges_total`), and passed over. Errors that are
/// not the data's fault (connection lost, serialization failure, disk full, a missing table)
/// never lead to a skip: those passes are retried, with backoff, until the cause is fixed.
/// A pure state machine, tested without a database.
public struct RollupFailures: Sendable, Equatable {
    /// Failed passes at one watermark before its units are tried one by one.
    public static let attemptsBeforeSkipping = 3

    /// The watermark of the failing passes, and how many failed in a row.
    public private(set) var watermarkMs: Int64?
    public private(set) var consecutive = 0

    public init() {}

    /// Whether the pass starting at `watermarkMs` runs unit by unit, skipping what fails.
    public func mustIsolate(watermarkMs: Int64) -> Bool {
        self.watermarkMs == watermarkMs && consecutive >= Self.attemptsBeforeSkipping
    }

    /// A pass that started at `watermarkMs` failed with `error`; only errors about the data
    /// count towards a skip.
    public mutating func passFailed(watermarkMs: Int64, error: any Error) {
        guard Self.isAboutTheData(error) else { return }
        if self.watermarkMs != watermarkMs {
            self.watermarkMs = watermarkMs
            consecutive = 0
        }
        consecutive += 1
    }

    /// A pass committed: the count starts again.
    public mutating func passSucceeded() {
        watermarkMs = nil
        consecutive = 0
    }

    /// Errors PostgreSQL raises because of the rows of a range, the same on every retry: data
    /// exceptions (SQLSTATE class 22: out of range, invalid input, division by zero), integrity
    /// violations (23), program limits (54: a row or array too large), corrupted data
    /// (XX001, XX002) and exceptions raised by functions or triggers (P0001).
    public static func isAboutTheData(_ error: any Error) -> Bool {
        guard let error = error as? PostgresError, error.code == .statement, !error.isConnectionFailure,
            let state = error.sqlState
        else { return false }
        return ["22", "23", "54"].contains(String(state.prefix(2))) || ["XX001", "XX002", "P0001"].contains(state)
    }
}

/// A range of a rollup tier passed over because its rows could not be rolled up.
public struct SkippedRollupRange: Sendable, Equatable {
    /// `1m`, `1h` or `6h`.
    public var tier: String
    public var range: ClosedOpenRange
    /// Why (PostgreSQL's message).
    public var error: String
}
