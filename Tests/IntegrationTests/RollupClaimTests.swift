import Foundation
import MonCore
import Testing

@testable import MonQueryKit

/// The rollup pass claims its minutes in a short transaction and computes them in another:
/// ingest never waits for a computation, and nothing a batch writes meanwhile is lost.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct RollupClaimTests {
    static let minute: Int64 = 60_000

    /// Ten minutes of one gauge (a sample every 10 s) ending 30 minutes before now, with the
    /// rollup's watermark and claim at its first minute (a first pass would start at the oldest
    /// raw partition's midnight); returns that minute and the series id.
    static func writeTenMinutes(_ daemon: Daemon) async throws -> (startMs: Int64, seriesID: Int64) {
        let nowMs = WallClock.nowMs()
        try await TestEnvironment.migrate(daemon.databaseURL, nowMs: nowMs)
        let startMs = (nowMs - 40 * minute) / minute * minute
        let seriesID = try daemon.scalar(
            """
            INSERT INTO metric_series (host, name, labels_key, labels, kind)
            VALUES ('h1', 'mon_host_cpu_usage_ratio', '', '{}', 'gauge') RETURNING id
            """)
        try daemon.execute(
            """
            INSERT INTO metrics (ts, series_id, value)
            SELECT to_timestamp(\(startMs / 1000) + g * 10), \(seriesID), g % 7
            FROM generate_series(0, 59) AS g
            """)
        try daemon.execute(
            "UPDATE rollup_state SET watermark = to_timestamp(\(startMs / 1000)) WHERE tier IN ('1m', '1m_claimed')")
        return (startMs, seriesID)
    }

    /// What a batch's transaction does, on a connection of its own: its rows, then the late
    /// range check. A lock timeout turns "ingest waits for the rollup" into an error.
    static func ingest(_ databaseURL: String, seriesID: Int64, timestampMs: Int64, value: Double) throws {
        let connector = PostgresConnector(url: databaseURL, applicationName: "mon-tests")
        try connector.transaction { connection in
            try connection.execute(rawSQL: "SET LOCAL lock_timeout = '5s'")
            try connection.query(
                "INSERT INTO metrics (ts, series_id, value) VALUES (to_timestamp($1::double precision / 1000), $2, $3)",
                [String(timestampMs), String(seriesID), String(value)])
            try IngestWriter.queueLateRange(
                samples: [Sample("mon_host_cpu_usage_ratio", value: value, timestampMs: timestampMs)], histograms: [],
                connection)
        }
    }

    static func watermarks(_ daemon: Daemon) throws -> (computed: Int64?, claimed: Int64?) {
        func read(_ tier: String) throws -> Int64? {
            try daemon.column(
                "SELECT (extract(epoch FROM watermark) * 1000)::bigint FROM rollup_state WHERE tier = $1", [tier]
            ).first.flatMap { $0 }.flatMap { Int64($0) }
        }
        return (try read("1m"), try read("1m_claimed"))
    }

    @Test("a batch commits while a pass computes: it is not blocked, its range is queued, the next pass folds it in")
    func ingestDuringComputation() async throws {
        let daemon = try Daemon.make()
        let (startMs, seriesID) = try await Self.writeTenMinutes(daemon)
        let rollup = RollupWriter(databaseURL: daemon.databaseURL, chunkMinutes: 5)
        let url = daemon.databaseURL
        await rollup.onComputing {
            // Inside the computing transaction: a sample in the claimed minutes, one after them.
            try Self.ingest(url, seriesID: seriesID, timestampMs: startMs + 90_000, value: 100)
            try Self.ingest(url, seriesID: seriesID, timestampMs: startMs + 7 * Self.minute, value: 200)
        }
        let pass = try await rollup.runPass(nowMs: WallClock.nowMs())
        #expect(pass.minuteRanges == [ClosedOpenRange(startMs, startMs + 5 * Self.minute)])
        #expect(try Self.watermarks(daemon) == (startMs + 5 * Self.minute, startMs + 5 * Self.minute))
        // Only the sample inside the claim is queued as late.
        #expect(try daemon.scalar("SELECT count(*) FROM rollup_pending") == 1)
        await rollup.onComputing(nil)
        try await rollup.catchUp(nowMs: WallClock.nowMs())
        #expect(try daemon.scalar("SELECT count(*) FROM rollup_pending") == 0)
        #expect(try await RollupTests.mismatches(daemon).values.allSatisfy { $0 == 0 })
        #expect(
            try daemon.scalar(
                "SELECT max(max)::bigint FROM metrics_1m WHERE ts = to_timestamp(\((startMs + Self.minute) / 1000))")
                == 100)
    }

    @Test("a pass that fails after its claim: the next pass computes exactly the claimed minutes, claiming no more")
    func failedPassRetriesItsClaim() async throws {
        let daemon = try Daemon.make()
        let (startMs, _) = try await Self.writeTenMinutes(daemon)
        let rollup = RollupWriter(databaseURL: daemon.databaseURL, chunkMinutes: 3)
        await rollup.onComputing { throw PostgresError(.connection, "the daemon died here") }
        await #expect(throws: PostgresError.self) { try await rollup.runPass(nowMs: WallClock.nowMs()) }
        #expect(try Self.watermarks(daemon) == (startMs, startMs + 3 * Self.minute))
        #expect(try daemon.scalar("SELECT count(*) FROM metrics_1m") == 0)
        await rollup.onComputing(nil)
        let retry = try await rollup.runPass(nowMs: WallClock.nowMs())
        #expect(retry.minuteRanges == [ClosedOpenRange(startMs, startMs + 3 * Self.minute)])
        #expect(!retry.caughtUp)
        #expect(try Self.watermarks(daemon) == (startMs + 3 * Self.minute, startMs + 3 * Self.minute))
        try await rollup.catchUp(nowMs: WallClock.nowMs())
        #expect(try await RollupTests.mismatches(daemon).values.allSatisfy { $0 == 0 })
        #expect(try daemon.scalar("SELECT count(*) FROM metrics_1m") == 10)
    }
}
