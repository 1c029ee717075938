import MonAgentKit
import MonCore
import MonQueryKit
import Testing

/// What every remote source must do when its server goes away mid-run: report
/// `<source>_up 0`, keep host metrics flowing, log errors without the password,
/// and resume by itself when the server is back.
struct SourceOutage {
    let daemon: Daemon
    let monagent: ManagedProcess
    /// `mon_postgres_up`, `mon_redis_up`.
    let upMetric: String
    /// The agent's log message for a failed attempt.
    let failureMessage: String
    let secret: String

    func run(stop: () throws -> Void, start: () throws -> Void) async throws {
        let upSQL = """
            SELECT count(*) FROM metrics m JOIN metric_series s ON s.id = m.series_id
            WHERE s.name = $3 AND m.value = $1 AND m.ts > to_timestamp($2::double precision / 1000)
            """
        func upSamples(_ value: String, after ms: Int64) throws -> Int64 {
            try daemon.scalar(upSQL, [value, String(ms), upMetric])
        }
        _ = try await eventually("\(upMetric) 1") { try upSamples("1", after: 0) > 0 ? true : nil }
        try stop()
        let stoppedMs = WallClock.nowMs()
        _ = try await eventually("\(upMetric) 0") { try upSamples("0", after: stoppedMs) > 0 ? true : nil }
        // Host cycles keep being stored while the server is down (waited for, not timed:
        // a loaded CI machine may skip ticks).
        _ = try await eventually("5 host cycles during the outage", seconds: 60) { () -> Bool? in
            let hostCycles = try daemon.scalar(
                """
                SELECT count(*) FROM metrics m JOIN metric_series s ON s.id = m.series_id
                WHERE s.name = 'mon_host_cpu_usage_ratio' AND s.labels_key = 'cpu="all"'
                  AND m.ts > to_timestamp($1::double precision / 1000)
                """,
                [String(stoppedMs)]
            )
            return hostCycles >= 5 ? true : nil
        }
        #expect(try upSamples("1", after: stoppedMs + 1000) == 0, "still down while the host metrics flowed")
        try start()
        let restartedMs = WallClock.nowMs()
        _ = try await eventually("\(upMetric) back to 1", seconds: 90) {
            try upSamples("1", after: restartedMs) > 0 ? true : nil
        }
        let log = monagent.log
        #expect(log.contains(failureMessage))
        #expect(!log.contains(secret), "the password must never reach the log")
    }
}
