import Logging
import ServiceLifecycle

/// Keeps daily partitions created ahead of time, checking every `every` seconds.
public struct PartitionMaintenance: Service {
    let writer: IngestWriter
    let aheadDays: Int
    let every: Duration
    let logger: Logger

    public init(writer: IngestWriter, aheadDays: Int, every: Duration = .seconds(3600), logger: Logger) {
        self.writer = writer
        self.aheadDays = aheadDays
        self.every = every
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await writer.maintainPartitions(aheadDays: aheadDays, nowMs: WallClock.nowMs())
                } catch {
                    logger.error("cannot create partitions ahead", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: every)
            }
        }
    }
}
