import Testing

@testable import MonCore
@testable import MonQueryKit

/// When the rollup stops retrying a range and passes over it (issue 18).
@Suite struct RollupFailuresTests {
    static let overflow = PostgresError(.statement, sqlState: "22003", "value out of range: overflow")
    static let raised = PostgresError(.statement, sqlState: "P0001", "poisoned minute")

    @Test func threeDataFailuresAtOneWatermarkIsolateTheNextPass() {
        var failures = RollupFailures()
        for attempt in 1...RollupFailures.attemptsBeforeSkipping {
            #expect(!failures.mustIsolate(watermarkMs: 60_000), "before failure \(attempt)")
            failures.passFailed(watermarkMs: 60_000, error: Self.overflow)
        }
        #expect(failures.mustIsolate(watermarkMs: 60_000))
        #expect(!failures.mustIsolate(watermarkMs: 120_000), "another watermark starts again")
        failures.passSucceeded()
        #expect(!failures.mustIsolate(watermarkMs: 60_000))
        #expect(failures.consecutive == 0)
    }

    @Test func aMovingWatermarkRestartsTheCount() {
        var failures = RollupFailures()
        failures.passFailed(watermarkMs: 60_000, error: Self.raised)
        failures.passFailed(watermarkMs: 60_000, error: Self.raised)
        failures.passFailed(watermarkMs: 120_000, error: Self.raised)
        #expect(failures.consecutive == 1)
        #expect(!failures.mustIsolate(watermarkMs: 120_000))
    }

    /// Connection loss, serialization failures, a full disk or a missing table are not the
    /// data's fault: the pass is retried (and logged) until the cause is fixed, never skipped.
    @Test(arguments: [
        PostgresError(.connection, "server closed the connection unexpectedly"),
        PostgresError(.statement, sqlState: "08006", "connection failure"),
        PostgresError(.statement, sqlState: "57P01", "terminating connection due to administrator command"),
        PostgresError(.statement, sqlState: "40001", "could not serialize access"),
        PostgresError(.statement, sqlState: "40P01", "deadlock detected"),
        PostgresError(.statement, sqlState: "53100", "could not extend file: No space left on device"),
        PostgresError(.statement, sqlState: "42P01", "relation \"metrics_1m\" does not exist"),
        PostgresError(.statement, sqlState: "57014", "canceling statement due to statement timeout"),
        PostgresError(.statement, "no SQLSTATE"),
        PostgresError(.copy, sqlState: "22003", "COPY failed"),
    ])
    func failuresThatAreNotAboutTheDataNeverLeadToASkip(_ error: PostgresError) {
        var failures = RollupFailures()
        for _ in 0..<10 { failures.passFailed(watermarkMs: 60_000, error: error) }
        #expect(!failures.mustIsolate(watermarkMs: 60_000))
        #expect(!RollupFailures.isAboutTheData(error))
    }

    @Test(arguments: ["22003", "22P02", "22012", "23505", "54000", "XX001", "XX002", "P0001"])
    func dataErrorsCount(_ state: String) {
        #expect(RollupFailures.isAboutTheData(PostgresError(.statement, sqlState: state, "x")))
    }

    @Test func otherErrorTypesNeverCount() {
        struct Other: Error {}
        #expect(!RollupFailures.isAboutTheData(Other()))
    }
}
