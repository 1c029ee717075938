import Logging
import MonCore
import ServiceLifecycle

/// Keeps daily partitions created ahead of time and drops those past retention,
/// checking every `every` seconds. With a `lease`, only while this instance holds the
/// partitions lease (several daemons on one database); the others still create the
/// partitions their own batches need, on demand. Runs on the pool's primary writer; a
/// dropped partition is forgotten by every writer of the pool.
public struct PartitionMaintenance: Service {
    let writers: IngestWriterPool
    let aheadDays: Int
    let retention: RetentionPolicy?
    let every: Duration
    let lease: Lease?
    let logger: Logger

    public init(
        writers: IngestWriterPool, aheadDays: Int, retention: RetentionPolicy? = nil,
        every: Duration = .seconds(3600), lease: Lease? = nil, logger: Logger
    ) {
        self.writers = writers
        self.aheadDays = aheadDays
        self.retention = retention
        self.every = every
        self.lease = lease
        self.logger = logger
    }

    /// Drops every expired partition and trims the ledger; each failure is logged, the rest goes on.
    public static func applyRetention(
        _ policy: RetentionPolicy, writers: IngestWriterPool, nowMs: Int64, logger: Logger
    ) async {
        let writer = writers.primary
        do {
            for partition in try await writer.expiredPartitions(policy: policy, nowMs: nowMs) {
                guard !partition.waitingForRollup else {
                    logger.warning(
                        "expired raw partition kept: the rollups have not passed its day yet",
                        metadata: ["partition": "\(partition.partition)"])
                    continue
                }
                do {
                    try await writer.drop(partition)
                    // Each writer keeps the days it created partitions for: all must create them again.
                    await writers.forgetPartition(partition.day)
                    logger.info(
                        "dropped expired partition",
                        metadata: [
                            "partition": "\(partition.partition)", "estimated_rows": "\(partition.estimatedRows)",
                            "bytes": "\(partition.bytes)", "was": "\(partition.state.rawValue)",
                        ])
                } catch {
                    logger.error(
                        "cannot drop expired partition",
                        metadata: [
                            "partition": "\(partition.partition)", "was": "\(partition.state.rawValue)",
                            "error": "\(error)",
                        ])
                }
            }
            let trimmed = try await writer.trimLedger(days: policy.ledgerDays)
            if trimmed > 0 { logger.info("trimmed ingest ledger", metadata: ["rows": "\(trimmed)"]) }
            let rejected = try await writer.trimRejectedBatches(days: policy.days["events"] ?? 30)
            if rejected > 0 { logger.info("trimmed quarantined batches", metadata: ["rows": "\(rejected)"]) }
        } catch {
            logger.error("cannot apply retention", metadata: ["error": "\(error)"])
        }
    }

    public func run() async throws {
        try await PeriodicService(
            name: "partitions", schedule: .every(every), logger: logger
        ) { [self] tick in
            if let lease, await !lease.claim(.partitions).mayRun { return .next }
            do {
                try await writers.primary.maintainPartitions(aheadDays: aheadDays, nowMs: tick.timestampMs)
            } catch {
                logger.error("cannot create partitions ahead", metadata: ["error": "\(error)"])
            }
            if let retention {
                await Self.applyRetention(retention, writers: writers, nowMs: WallClock.nowMs(), logger: logger)
            }
            return .next
        }.run()
    }
}
