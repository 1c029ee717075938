import MonCore
import NIOCore

/// A batch the daemon will never store (malformed, over the frame limit, an implausible seq,
/// or refused by PostgreSQL for a permanent reason): kept whole in `rejected_batches` with
/// the reason, and acknowledged, so the agent moves on instead of sending it forever.
public struct QuarantinedBatch: Sendable, Equatable {
    public var agent: AgentIdentity
    public var seq: UInt64
    /// What is wrong, for the operator (`rejected_batches.reason`, `/health/detailed`).
    public var reason: String
    /// The BATCH payload as received (only its first bytes for a frame over the limit).
    public var payload: ByteBuffer
    /// Whether the seq goes into the ingest ledger (so a replay is recognised and WELCOME
    /// counts it). Not for a seq the ledger must not hold: one above `Int64.max`, or one
    /// implausibly far above the last stored (WELCOME would report it to the real agent).
    public var inLedger: Bool

    public init(agent: AgentIdentity, seq: UInt64, reason: String, payload: ByteBuffer, inLedger: Bool) {
        self.agent = agent
        self.seq = seq
        self.reason = reason
        self.payload = payload
        self.inLedger = inLedger
    }
}
