import MonCore

/// Quarantined batches and the agent → host binding.
extension IngestWriter {
    /// Keeps a batch that will never be stored in `rejected_batches`, with its reason and
    /// payload, in one transaction with its ledger row (when `inLedger`), so that a replay
    /// of it is recognised. False when the ledger already had this seq (nothing written).
    public func quarantine(_ batch: QuarantinedBatch) throws -> Bool {
        let payload = "\\x" + Self.hex(batch.payload.readableBytesView)
        let agent = batch.agent
        return try connector.transaction { connection in
            if batch.inLedger {
                let ledger = try connection.query(
                    """
                    INSERT INTO ingest_ledger (agent_id, boot_id, seq, host, samples, batch_ts)
                    VALUES ($1, $2, $3, $4, 0, now())
                    ON CONFLICT DO NOTHING
                    """,
                    [agent.agentID, agent.bootID, String(batch.seq), agent.host]
                )
                guard ledger.affectedRows == 1 else { return false }
            }
            try connection.query(
                """
                INSERT INTO rejected_batches (agent_id, boot_id, seq, host, reason, payload)
                VALUES ($1, $2, $3::numeric, $4, $5, $6::bytea)
                """,
                [agent.agentID, agent.bootID, String(batch.seq), agent.host, batch.reason, payload]
            )
            return true
        }
    }

    /// The outcome of binding an agent id to the host of its HELLO.
    public enum AgentBinding: Sendable, Equatable {
        /// First seen, or seen with this host before.
        case bound
        /// Was bound to `previous`; rebound because the credential may write any host.
        case rebound(previous: String)
        /// Bound to another host: the HELLO is refused.
        case boundElsewhere(String)
        /// A new agent id for a host that has `maxAgentsPerHost` already: refused.
        case tooManyAgents
    }

    /// Agent ids a restricted credential may bind to one host: an agent keeps its id across
    /// restarts, so a host rarely has more than one; the cap keeps a token holder from
    /// growing `ingest_agents` (and the daemon's per-agent state) without bound.
    public static let maxAgentsPerHost = 64

    /// Binds `agent.agentID` to `agent.host` in `ingest_agents` (first HELLO wins). A known
    /// agent id announcing another host is refused, unless `mayRebind` (a credential that may
    /// write any host: root, the daemon's user, `hosts=*`), which moves the binding and is
    /// not held to `maxAgentsPerHost`.
    public func bindAgent(_ agent: AgentIdentity, mayRebind: Bool) throws -> AgentBinding {
        try connector.withConnection { connection in
            let rows = try connection.query(
                """
                WITH old AS (SELECT host FROM ingest_agents WHERE agent_id = $1),
                up AS (
                    INSERT INTO ingest_agents AS a (agent_id, host)
                    SELECT $1, $2
                    WHERE $3::boolean OR EXISTS (SELECT 1 FROM old)
                        OR (SELECT count(*) FROM ingest_agents WHERE host = $2) < $4::int
                    ON CONFLICT (agent_id) DO UPDATE SET
                        last_seen = now(),
                        host = CASE WHEN $3::boolean THEN EXCLUDED.host ELSE a.host END
                    RETURNING host
                )
                SELECT (SELECT host FROM old), (SELECT host FROM up)
                """,
                [agent.agentID, agent.host, mayRebind ? "true" : "false", String(Self.maxAgentsPerHost)]
            )
            let previous = rows.string(0, 0)
            guard let current = rows.string(0, 1) else { return .tooManyAgents }
            guard current == agent.host else { return .boundElsewhere(current) }
            if let previous, previous != agent.host { return .rebound(previous: previous) }
            return .bound
        }
    }

    /// Deletes quarantined batches older than `days` (the events retention).
    @discardableResult
    public func trimRejectedBatches(days: Int) throws -> Int {
        try connector.withConnection { connection in
            try connection.query(
                "DELETE FROM rejected_batches WHERE received_at < now() - make_interval(days => $1::int)",
                [String(days)]
            ).affectedRows
        }
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
