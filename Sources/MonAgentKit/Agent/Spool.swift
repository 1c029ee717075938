import MonCore

/// `spool.*` of the agent's configuration.
public struct SpoolConfig: Sendable, Equatable {
    /// `spool.directory` (default `<state_dir>/spool`).
    public var directory: String
    /// `spool.max_bytes` — past it the oldest segment is dropped (default 64 MiB).
    public var maxBytes: Int
    /// `spool.max_age_seconds` — a segment whose newest batch is older is dropped (default 24 h).
    public var maxAgeSeconds: Int
    /// `spool.fsync` — fsync the batches and the directory entries of their segments (default
    /// true); when, `fsyncDelayMs` says.
    public var fsync: Bool
    /// `spool.fsync_delay_ms` — with `fsync`, a batch not acknowledged within this many
    /// milliseconds of being spooled is fsynced (with its segment's directory entry); one
    /// acknowledged sooner is already committed in PostgreSQL and needs none (default 1000).
    /// 0: every batch is fsynced before it counts as spooled, and the directory after each
    /// segment is created or deleted. The delay is the most a power loss of the agent's host
    /// can take from a daemon that is away, the same order as the samples of the cycle being
    /// collected, which are in memory until the cycle ends.
    public var fsyncDelayMs: Int
    /// `spool.memory_max_bytes` — most batch bytes held in RAM (default 8 MiB): the newest
    /// spooled batches (so the shipper rarely reads the disk) and, while the disk cannot be
    /// written, the batches kept in memory only. The rest of the spool stays on disk, read
    /// one batch at a time, so `max_bytes` may exceed the memory the agent has.
    public var memoryMaxBytes: Int

    public init(
        directory: String, maxBytes: Int = 64 << 20, maxAgeSeconds: Int = 86_400, fsync: Bool = true,
        memoryMaxBytes: Int = 8 << 20, fsyncDelayMs: Int = 1000
    ) {
        self.fsyncDelayMs = fsyncDelayMs
        self.directory = directory
        self.maxBytes = maxBytes
        self.maxAgeSeconds = maxAgeSeconds
        self.fsync = fsync
        self.memoryMaxBytes = memoryMaxBytes
    }

    /// Segment size: an eighth of the bound (so a drop loses at most that), 64 KiB … 8 MiB.
    var segmentBytes: Int { min(max(maxBytes / 8, 64 << 10), 8 << 20) }
}

/// Counters of the spool, sent by the sampler as `mon_agent_spool_*`.
public struct SpoolStats: Sendable, Equatable {
    public var bytes = 0
    public var segments = 0
    /// Unacked batches dropped because the spool exceeded its size or age bound.
    public var dropped = 0
    /// Batches that could not be written (disk full, I/O error): kept in memory only; and
    /// failed fsyncs.
    public var writeErrors = 0
    /// fsyncs of batch data (each may cover several batches).
    public var dataSyncs = 0
    /// Records found torn or corrupt (at recovery, or when read back): skipped.
    public var tornRecords = 0
    /// Batches recovered from disk at start.
    public var recovered = 0
    /// Batch bytes held in RAM (at most `spool.memory_max_bytes`).
    public var memoryBytes = 0
}
