import Foundation
import MonCore

/// What one committed batch brought, handed to the daemon's in-memory consumers
/// (the last-value cache behind `/metrics`, the live log stream).
public struct CommittedBatch: Sendable {
    public var host: String
    public var samples: [Sample]
    public var histograms: [HistogramSample]
    public var logs: [StoredLog]
}

/// A log record as stored: its id is the SSE event id. Ids grow with time, but with several
/// ingest writers (`IngestWriterPool`) not strictly in commit order: a writer's transaction
/// may commit after another's that took later ids.
public struct StoredLog: Sendable, Hashable {
    public var id: Int64
    public var host: String
    public var record: LogRecord

    public init(id: Int64, host: String, record: LogRecord) {
        self.id = id
        self.host = host
        self.record = record
    }
}
