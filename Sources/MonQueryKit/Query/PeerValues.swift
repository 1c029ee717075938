import Foundation
import Logging
import MonCore
import ServiceLifecycle

/// The latest values of the hosts that other daemons ingest, read from PostgreSQL into this
/// daemon's `LastValueCache`, so that `/metrics`, the summary and `last` alert rules answer
/// the same on every daemon sharing the database (README "Several daemons on one database").
///
/// Every `every`, one query on its own connection: the hosts with batches stored since the
/// last refresh (`ingest_ledger.received_at`, indexed) other than those whose agents are
/// connected here (their values come from this daemon's own commits), then, per series of
/// those hosts, its newest raw value since the previous refresh (one backward step of the
/// `(series_id, ts)` index per series). The cache keeps the newer of two values, so a value
/// read here never hides a fresher local one. Alone on a database, every host is local and
/// the refresh costs one ledger lookup. Histograms are not shared: they are cumulative since
/// this daemon started.
public actor PeerValues {
    private let executor: ThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    let connector: PostgresConnector
    let cache: LastValueCache
    /// Where the previous refresh started (ms): the next one reads from shortly before it.
    private var lastStartMs: Int64?
    public private(set) var lastValues = 0

    public init(databaseURL: String, password: String? = nil, cache: LastValueCache) {
        executor = ThreadExecutor(name: "pg-peer-values")
        connector = PostgresConnector(url: databaseURL, applicationName: "monquery-peer-values", password: password)
        self.cache = cache
    }

    /// One refresh; returns the values read. `localHosts` are the hosts with an agent
    /// connected to this daemon.
    @discardableResult
    public func refresh(localHosts: Set<String>, nowMs: Int64) throws -> Int {
        // A batch commits some time after its samples were taken, and an agent replaying its
        // spool sends old samples: look back the cache's whole window the first time, then
        // one minute before the previous refresh. The upper bound (an hour ahead: clocks
        // differ) keeps the partitions created ahead, still empty, out of the plan.
        let fromMs = max(nowMs - cache.staleAfterMs, (lastStartMs ?? Int64.min / 2) - 60_000)
        let rows = try connector.withConnection { connection in
            try connection.query(
                """
                WITH hosts AS (
                    SELECT DISTINCT host FROM ingest_ledger
                    WHERE received_at >= to_timestamp($1::double precision / 1000) AND host <> ALL($2::text[])
                )
                SELECT s.host, s.name, s.labels::text, s.kind, (extract(epoch FROM m.ts) * 1000)::bigint, m.value
                FROM metric_series s
                JOIN hosts h ON h.host = s.host
                CROSS JOIN LATERAL (
                    SELECT ts, value FROM metrics
                    WHERE series_id = s.id AND ts >= to_timestamp($1::double precision / 1000)
                      AND ts < to_timestamp($3::double precision / 1000)
                    ORDER BY ts DESC LIMIT 1
                ) m
                WHERE s.kind IN ('gauge', 'counter')
                """, [String(fromMs), PostgresArray.text(localHosts.sorted()), String(nowMs + 3_600_000)])
        }
        lastStartMs = nowMs
        var byHost: [String: [Sample]] = [:]
        for row in 0..<rows.rowCount {
            guard let host = rows.string(row, 0), let name = rows.string(row, 1), let ms = rows.int(row, 4),
                let value = rows.double(row, 5)
            else { continue }
            let kind: MetricKind = rows.string(row, 3) == "counter" ? .counter : .gauge
            byHost[host, default: []].append(
                Sample(
                    name, Labels(QueryStore.decodeLabels(rows.string(row, 2))), value: value, kind: kind,
                    timestampMs: ms))
        }
        for (host, samples) in byHost {
            cache.record(CommittedBatch(host: host, samples: samples, histograms: [], logs: []))
        }
        lastValues = rows.rowCount
        return rows.rowCount
    }
}

/// Runs `PeerValues.refresh` every `every` (failures logged by `PeriodicService`).
public struct PeerValuesService: Service {
    let values: PeerValues
    let stats: IngestStats
    let every: Duration
    let logger: Logger

    public init(values: PeerValues, stats: IngestStats, every: Duration = .seconds(5), logger: Logger) {
        self.values = values
        self.stats = stats
        self.every = every
        self.logger = logger
    }

    public func run() async throws {
        try await PeriodicService(
            name: "peer-values", schedule: .every(every), maxFailurePause: .seconds(60), logger: logger
        ) { [values, stats] tick in
            let local = Set(await stats.agents.values.filter(\.connected).map(\.host))
            try await values.refresh(localHosts: local, nowMs: tick.timestampMs)
            return .next
        }.run()
    }
}
