import Logging
import MonCore

/// The daemon's ingest writers (`database.ingest_connections`): each an `IngestWriter` with its
/// own thread and PostgreSQL session, so batches of different hosts are stored in parallel.
///
/// Every batch of one host goes to the same writer (`index(forHost:count:)`), so a host's
/// batches are stored in the order they arrive, its series ids are cached by one writer, and
/// `ingest.max_series_per_host` is counted exactly by that writer. `ingest.max_series` is
/// counted in one `SeriesBudget` all writers share. What happens once per daemon — migrations,
/// partitions ahead, retention — runs on `primary`; a partition dropped by retention is
/// forgotten by every writer (`forgetPartition`).
public struct IngestWriterPool: Sendable {
    public let writers: [IngestWriter]

    /// `count` writers sharing one `SeriesBudget` of `seriesCaps.total`; each hands its
    /// committed batches to `onCommit`, from its own thread.
    public init(
        count: Int, databaseURL: String, password: String? = nil, maxAgeDays: Int64 = 7,
        seriesCaps: SeriesCaps = SeriesCaps(), logger: Logger, onCommit: (@Sendable (CommittedBatch) -> Void)? = nil
    ) {
        let budget = SeriesBudget(cap: seriesCaps.total)
        self.init(
            writers: (0..<max(1, count)).map { index in
                IngestWriter(
                    databaseURL: databaseURL, password: password, maxAgeDays: maxAgeDays, seriesCaps: seriesCaps,
                    seriesBudget: budget, name: "pg-ingest-\(index)", logger: logger, onCommit: onCommit)
            })
    }

    /// A pool of the given writers (one, for the `monquery retention` command); at least one.
    public init(writers: [IngestWriter]) {
        precondition(!writers.isEmpty, "an ingest writer pool needs a writer")
        self.writers = writers
    }

    /// The writer that runs what happens once: migrations, partitions ahead, retention.
    public var primary: IngestWriter { writers[0] }

    /// The writer of every batch (and HELLO, and quarantined batch) of `host`.
    public func writer(forHost host: String) -> IngestWriter {
        writers[Self.index(forHost: host, count: writers.count)]
    }

    /// The index of `host`'s writer among `count`: FNV-1a (64 bits) of the name's UTF-8 bytes,
    /// modulo `count`. Stable across restarts and builds (Swift's `Hasher` is seeded per process),
    /// so a host keeps its writer for as long as the count stays the same.
    public static func index(forHost host: String, count: Int) -> Int {
        guard count > 1 else { return 0 }
        return Int(FNV1a.hash(host.utf8) % UInt64(count))
    }

    /// Tells every writer that a day's partitions were dropped (retention).
    func forgetPartition(_ day: DayPartition) async {
        for writer in writers { await writer.forgetPartition(day) }
    }
}
