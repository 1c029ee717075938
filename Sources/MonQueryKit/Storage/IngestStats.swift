import MonCore

/// Counters about ingest, for `/health` and the daemon's own metrics.
public actor IngestStats {
    public struct AgentStatus: Sendable, Codable {
        public var agentID: String
        public var host: String
        public var lastBatchMs: Int64?
        public var lastSeq: UInt64?
        public var connected: Bool
        /// Batch creation to commit, of the last stored batch (ms).
        public var lastLagMs: Int64?
        /// The agent's collection interval as seen from its live batches (moving average, ms).
        public var intervalMs: Double?
        /// The interval the agent declared in HELLO (protocol 2), and its release.
        public var declaredIntervalMs: Int64?
        public var version: String?

        /// The interval silence is measured in: the declared one, else the one observed.
        public var effectiveIntervalMs: Double? { declaredIntervalMs.map(Double.init) ?? intervalMs }
        /// Creation time of the last live (not replayed) batch.
        public var lastCreatedMs: Int64?
        /// Batches of this agent quarantined since the daemon started, and the last one's reason.
        public var quarantinedBatches = 0
        public var lastQuarantineReason: String?
        public var lastQuarantineMs: Int64?
    }

    public private(set) var openConnections = 0
    public private(set) var batchesStored = 0
    public private(set) var batchesDuplicate = 0
    public private(set) var samplesStored = 0
    public private(set) var samplesRejected = 0
    public private(set) var storeFailures = 0
    public private(set) var lastStoreSeconds = 0.0
    /// Sum of store (transaction) durations, for a `_sum`/`_count` pair.
    public private(set) var storeSecondsTotal = 0.0
    public private(set) var agents: [String: AgentStatus] = [:]
    /// Batches received and waiting for (or in) their transaction: the daemon's queue depth.
    public private(set) var inFlightBatches = 0
    /// Batch creation (at the agent) to commit, of the last stored batch, in seconds; and the sum.
    public private(set) var lastLagSeconds = 0.0
    public private(set) var lagSecondsTotal = 0.0
    public let startedMs = WallClock.nowMs()

    public init() {}

    /// Connections refused (any reason), and by reason.
    public private(set) var refusedConnections = 0
    public private(set) var refusals: [IngestRefusal: Int] = [:]
    /// Samples and records left out of stored batches, by reason (part of `samplesRejected`).
    public private(set) var dropped = IngestDrops()
    /// Batches quarantined (`rejected_batches`) and acknowledged.
    public private(set) var batchesQuarantined = 0
    /// The longest quarantine reason kept for `/health/detailed`.
    static let maxReasonCharacters = 300

    /// Rollup passes that failed, and rollup units passed over after repeated failures
    /// (`RollupFailures`), counted by the rollup service for `/metrics`.
    public private(set) var rollupPassFailures = 0
    public private(set) var rollupRangesSkipped = 0

    func rollupPassFailed() { rollupPassFailures += 1 }
    func rollupRangeSkipped() { rollupRangesSkipped += 1 }

    func connectionOpened() { openConnections += 1 }
    func connectionRefused(_ reason: IngestRefusal) {
        refusedConnections += 1
        refusals[reason, default: 0] += 1
    }

    func batchDropped(_ drops: IngestDrops) { dropped.add(drops) }

    /// A batch went to `rejected_batches`; `afterStore`: its store had started (and failed).
    func batchQuarantined(_ agent: AgentIdentity, reason: String, afterStore: Bool) {
        if afterStore { inFlightBatches -= 1 }
        batchesQuarantined += 1
        let nowMs = WallClock.nowMs()
        agents[agent.agentID]?.quarantinedBatches += 1
        agents[agent.agentID]?.lastQuarantineReason = String(reason.prefix(Self.maxReasonCharacters))
        agents[agent.agentID]?.lastQuarantineMs = nowMs
        agents[agent.agentID]?.lastBatchMs = nowMs
    }
    func connectionClosed(_ agent: AgentIdentity?) {
        openConnections -= 1
        if let agent { agents[agent.agentID]?.connected = false }
    }
    func storeStarted() { inFlightBatches += 1 }
    func storeFailed() {
        storeFailures += 1
        inFlightBatches -= 1
    }

    func agentConnected(_ agent: AgentIdentity) {
        var status = agents[agent.agentID] ?? AgentStatus(agentID: agent.agentID, host: agent.host, connected: true)
        status.connected = true
        status.host = agent.host
        status.declaredIntervalMs = agent.intervalMs
        status.version = agent.version
        agents[agent.agentID] = status
    }

    func batchStored(_ agent: AgentIdentity, batch: Batch, outcome: IngestWriter.Outcome, duration: Duration) {
        inFlightBatches -= 1
        switch outcome {
        case .stored(let samples, let rejected):
            batchesStored += 1
            samplesStored += samples
            samplesRejected += rejected
        case .duplicate:
            batchesDuplicate += 1
        }
        lastStoreSeconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        storeSecondsTotal += lastStoreSeconds
        let nowMs = WallClock.nowMs()
        agents[agent.agentID]?.lastBatchMs = nowMs
        if case .stored = outcome {
            // createdMs comes from the wire: differences saturate instead of trapping.
            let lag = max(0, nowMs.saturatingSubtracting(batch.createdMs))
            agents[agent.agentID]?.lastLagMs = lag
            if lag < 5000, var status = agents[agent.agentID] {
                // Live batches only: a replayed spool arrives back to back.
                // Gaps under 100 ms are batches of one cycle (sources ship apart), not the interval.
                if let previous = status.lastCreatedMs, batch.createdMs.saturatingSubtracting(previous) >= 100,
                    batch.createdMs.saturatingSubtracting(previous) <= 600_000
                {
                    let gap = Double(batch.createdMs.saturatingSubtracting(previous))
                    status.intervalMs = status.intervalMs.map { $0 * 0.8 + gap * 0.2 } ?? gap
                }
                if status.lastCreatedMs.map({ batch.createdMs.saturatingSubtracting($0) >= 100 }) ?? true {
                    status.lastCreatedMs = batch.createdMs
                }
                agents[agent.agentID] = status
            }
            lastLagSeconds = Double(lag) / 1000
            lagSecondsTotal += lastLagSeconds
        }
        agents[agent.agentID]?.lastSeq = batch.seq
    }
}
