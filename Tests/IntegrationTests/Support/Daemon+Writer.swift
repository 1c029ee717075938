import MonAgentKit
import MonCore
import MonQueryKit

extension Daemon {
    /// A writer to this daemon's database, migrated, with partitions from `daysBack` days before
    /// `nowMs` to the day after: for tests that store samples straight into the database.
    func migratedWriter(nowMs: Int64, daysBack: Int = 1) async throws -> IngestWriter {
        let writer = IngestWriter(databaseURL: databaseURL, logger: .init(label: "test"))
        try await writer.migrate()
        let today = DayPartition(timestampMs: nowMs)
        try await writer.ensurePartitions((-daysBack...1).map { today.adding(days: Int64($0)) })
        return writer
    }
}
