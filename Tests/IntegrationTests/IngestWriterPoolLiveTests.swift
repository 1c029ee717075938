import Foundation
import MonCore
import MonQueryKit
import Testing

/// `IngestWriterPool` against a real PostgreSQL: several writers storing at once.
@Suite(.enabled(if: TestEnvironment.isAvailable, "needs scripts/test (live PostgreSQL)"))
struct IngestWriterPoolLiveTests {
    /// Six hosts; over 3 writers, `web-0`…`web-5` go to writers 0, 1, 2, 0, 2, 0 (every writer busy).
    static let hosts = (0..<6).map { "web-\($0)" }

    static func pool(_ daemon: Daemon, caps: SeriesCaps = SeriesCaps()) async throws -> IngestWriterPool {
        let pool = IngestWriterPool(
            count: 3, databaseURL: daemon.databaseURL, seriesCaps: caps, logger: .init(label: "test"))
        try await pool.primary.migrate()
        try await pool.primary.maintainPartitions(aheadDays: 1, nowMs: WallClock.nowMs())
        return pool
    }

    /// Stores each host's batches in order, all hosts at once (as their connections would),
    /// every batch through its host's writer; the outcomes and drops by host.
    static func storeAtOnce(
        _ pool: IngestWriterPool, _ batches: [String: [Batch]], nowMs: Int64
    ) async throws -> [String: [(outcome: IngestWriter.Outcome, dropped: IngestDrops)]] {
        try await withThrowingTaskGroup(of: (String, [(IngestWriter.Outcome, IngestDrops)]).self) { group in
            for (host, list) in batches {
                group.addTask {
                    let agent = AgentIdentity(agentID: "agent-\(host)", host: host, bootID: "boot")
                    var results: [(IngestWriter.Outcome, IngestDrops)] = []
                    for batch in list {
                        let stored = try await pool.writer(forHost: host).storeCounting(
                            batch, from: agent, nowMs: nowMs)
                        results.append((stored.outcome, stored.dropped))
                    }
                    return (host, results)
                }
            }
            var all: [String: [(outcome: IngestWriter.Outcome, dropped: IngestDrops)]] = [:]
            for try await (host, results) in group { all[host] = results.map { (outcome: $0.0, dropped: $0.1) } }
            return all
        }
    }

    @Test("batches of six hosts stored through 3 writers at once: every sample and log line exactly once")
    func everySampleOnce() async throws {
        let daemon = try Daemon.make()
        let pool = try await Self.pool(daemon)
        #expect(Set(Self.hosts.map { IngestWriterPool.index(forHost: $0, count: 3) }) == [0, 1, 2])
        let now = WallClock.nowMs()
        let perHost = 20
        var batches: [String: [Batch]] = [:]
        for host in Self.hosts {
            batches[host] = (1...perHost).map { seq in
                let ts = now - Int64(perHost - seq) * 1000
                return Batch(
                    seq: UInt64(seq), createdMs: ts,
                    samples: (0..<10).map {
                        Sample("mon_test_pool", ["n": "\($0)"], value: Double(seq), timestampMs: ts)
                    },
                    logs: [LogRecord(timestampMs: ts, level: .info, service: "svc", event: "line \(seq)", source: "f")])
            }
            // A replay of batch 5 (the agent did not get the ACK): acknowledged as a duplicate.
            let replay = batches[host]![4]
            batches[host]?.append(replay)
        }
        let results = try await Self.storeAtOnce(pool, batches, nowMs: now)
        for host in Self.hosts {
            let outcomes = try #require(results[host]).map(\.outcome)
            #expect(outcomes.prefix(perHost).allSatisfy { $0 == .stored(samples: 10, rejected: 0) }, "\(host)")
            #expect(outcomes.last == .duplicate, "\(host)")
        }
        let samples = Int64(Self.hosts.count * perHost * 10)
        #expect(try daemon.scalar("SELECT count(*) FROM metrics") == samples)
        #expect(try daemon.scalar("SELECT count(DISTINCT (series_id, ts)) FROM metrics") == samples)
        #expect(try daemon.scalar("SELECT count(*) FROM metric_series") == Int64(Self.hosts.count * 10))
        #expect(try daemon.scalar("SELECT count(*) FROM ingest_ledger") == Int64(Self.hosts.count * perHost))
        #expect(try daemon.scalar("SELECT count(*) FROM logs") == Int64(Self.hosts.count * perHost))
        // Each host's values: 10 series × (1 + … + 20).
        let sums = try daemon.column(
            """
            SELECT s.host || '=' || sum(m.value)::bigint::text FROM metrics m
            JOIN metric_series s ON s.id = m.series_id GROUP BY s.host ORDER BY s.host
            """)
        #expect(sums == Self.hosts.map { "\($0)=\(10 * perHost * (perHost + 1) / 2)" })
        // Three sessions did the work.
        let sessions = try daemon.scalar(
            """
            SELECT count(*) FROM pg_stat_activity
            WHERE application_name = 'monquery-ingest' AND datname = current_database()
            """)
        #expect(sessions == 3)
    }

    /// Samples and records of every host's batches left out for `reason`.
    static func drops(
        _ results: [String: [(outcome: IngestWriter.Outcome, dropped: IngestDrops)]], _ reason: IngestDrop
    ) -> Int {
        var total = 0
        for list in results.values {
            for result in list { total += result.dropped[reason] }
        }
        return total
    }

    /// One batch per host of 6 series (`r` = `round`), plus the series of `known` rounds again.
    static func capBatches(_ round: Int, known: [Int] = [], nowMs: Int64) -> [String: [Batch]] {
        var batches: [String: [Batch]] = [:]
        for host in hosts {
            var samples: [Sample] = []
            for series in known + [round] {
                for index in 0..<6 {
                    let labels: Labels = ["r": "\(series)", "n": "\(index)"]
                    samples.append(Sample("mon_test_cap", labels, value: 1, timestampMs: nowMs + Int64(round)))
                }
            }
            batches[host] = [Batch(seq: UInt64(round), createdMs: nowMs, samples: samples)]
        }
        return batches
    }

    @Test("ingest.max_series holds across writers creating series at once; the per-host cap too")
    func seriesCapsAcrossWriters() async throws {
        let daemon = try Daemon.make()
        let pool = try await Self.pool(daemon, caps: SeriesCaps(perHost: 8, total: 25))
        let now = WallClock.nowMs()
        // Round 1: 36 new series wanted, 25 allowed in all (no host near its 8).
        let first = try await Self.storeAtOnce(pool, Self.capBatches(1, nowMs: now), nowMs: now)
        #expect(Self.drops(first, .globalSeriesCap) == 36 - 25)
        #expect(Self.drops(first, .hostSeriesCap) == 0)
        #expect(try daemon.scalar("SELECT count(*) FROM metric_series") == 25)
        #expect(pool.primary.seriesBudget.used == 25)
        // Round 2: no room left; the 25 known series keep flowing, the other 11 and 36 new do not.
        let second = try await Self.storeAtOnce(pool, Self.capBatches(2, known: [1], nowMs: now), nowMs: now)
        #expect(Self.drops(second, .globalSeriesCap) == 36 + 11)
        #expect(try daemon.scalar("SELECT count(*) FROM metric_series") == 25)
        #expect(try daemon.scalar("SELECT count(*) FROM metrics") == 25 * 2)

        // The per-host cap, on a fresh database: 8 per host, exact on each host's writer.
        let other = try Daemon.make()
        let roomy = try await Self.pool(other, caps: SeriesCaps(perHost: 8, total: 1000))
        _ = try await Self.storeAtOnce(roomy, Self.capBatches(1, nowMs: now), nowMs: now)
        let more = try await Self.storeAtOnce(roomy, Self.capBatches(2, nowMs: now), nowMs: now)
        #expect(Self.drops(more, .hostSeriesCap) == 6 * 4)
        let perHost = try other.column("SELECT count(*)::text FROM metric_series GROUP BY host")
        #expect(perHost == Array(repeating: "8", count: 6))
    }

    @Test("a day retention dropped is forgotten by every writer: a later batch of that day recreates its partition")
    func retentionTellsEveryWriter() async throws {
        let daemon = try Daemon.make()
        let pool = try await Self.pool(daemon)
        let now = WallClock.nowMs()
        let oldMs = DayPartition(timestampMs: now).adding(days: -3).startMs + 3_600_000
        // web-1's writer is not the primary, which runs retention.
        let writer = pool.writer(forHost: "web-1")
        #expect(writer !== pool.primary)
        let agent = AgentIdentity(agentID: "a1", host: "web-1", bootID: "b")
        func batch(_ seq: UInt64, _ ts: Int64) -> Batch {
            Batch(
                seq: seq, createdMs: now, samples: [],
                logs: [LogRecord(timestampMs: ts, level: .info, service: "svc", event: "old \(seq)", source: "f")])
        }
        #expect(try await writer.store(batch(1, oldMs), from: agent, nowMs: now) == .stored(samples: 0, rejected: 0))
        // Logs are kept 2 days: the day 3 days back goes; every other table keeps it.
        var policy = RetentionPolicy.defaults
        policy.days["logs"] = 2
        await PartitionMaintenance.applyRetention(policy, writers: pool, nowMs: now, logger: .init(label: "test"))
        #expect(try daemon.scalar("SELECT count(*) FROM logs") == 0)
        #expect(
            try await writer.store(batch(2, oldMs + 60_000), from: agent, nowMs: now)
                == .stored(samples: 0, rejected: 0))
        #expect(try daemon.scalar("SELECT count(*) FROM logs") == 1)
    }
}
