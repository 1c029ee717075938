import MonCore
import NIOCore

/// The daemon's side of one agent connection as a pure state machine.
///
/// The handler feeds it frames (or decoded messages) and performs the returned action;
/// no I/O happens here, so every transition is tested without sockets.
public struct IngestSession: Sendable {
    public enum State: Sendable, Equatable {
        case awaitingHello
        case ready(AgentIdentity)
        case closed
    }

    public enum Action: Sendable, Equatable {
        /// Bind the agent id to its host, look up the last stored seq for this agent boot,
        /// report it with `welcomed(lastStoredSeq:)` and answer WELCOME.
        case welcome(AgentIdentity)
        /// Store the batch, then ACK it (only after commit).
        case store(Batch, AgentIdentity)
        /// Store the batch in `rejected_batches`, then ACK it.
        case quarantine(QuarantinedBatch)
        /// Send this error frame and close the connection (a protocol error).
        case reject(WireError)
        /// Send this `forbidden` error frame and close; log and count it under `reason`.
        case refuse(WireError, IngestRefusal)
    }

    /// How far above the last stored seq of an agent boot a batch's seq may be. A real agent
    /// moves on by one per batch (more after its spool dropped batches); a seq further ahead
    /// is quarantined without a ledger row, so WELCOME never reports it.
    public static let maxSeqJump: UInt64 = 1 << 32
    /// Longest agent id, host, boot id or agent version accepted in HELLO.
    public static let maxIdentityBytes = HostScope.maxHostBytes
    /// Longest collection interval an agent may declare (its own limit is an hour).
    public static let maxIntervalMs: UInt32 = 86_400_000

    public private(set) var state: State = .awaitingHello
    /// The hosts this connection's credential may write; set once HELLO names the token.
    public private(set) var scope: HostScope?
    /// Highest seq stored (or quarantined into the ledger) for this agent boot.
    public private(set) var highestSeq: UInt64 = 0
    /// Tokens a remote agent must present in HELLO; nil on the Unix socket.
    let tokens: IngestTokens?
    /// The hosts a local peer may write (from `ingest.allowed_users` / `allowed_groups`).
    let localScope: HostScope

    public init(tokens: IngestTokens? = nil, localScope: HostScope = .any) {
        self.tokens = tokens
        self.localScope = localScope
    }

    /// WELCOME is on its way: `seq` is the last stored seq of this agent boot.
    public mutating func welcomed(lastStoredSeq seq: UInt64) { highestSeq = seq }

    /// A frame as the decoder delivered it. A BATCH after HELLO that cannot be stored as
    /// sent — over the frame limit, undecodable, or with an implausible seq — is quarantined
    /// (its seq is in its first 8 bytes); anything else that cannot be decoded closes.
    public mutating func receive(frame: Frame) -> Action {
        let isBatch = frame.type == MessageType.batch.rawValue
        if case .ready(let agent) = state, isBatch,
            let seq = frame.payload.getInteger(at: frame.payload.readerIndex, as: UInt64.self)
        {
            if let length = frame.oversizedLength {
                return quarantine(
                    agent, seq, frame.payload,
                    "frame of \(length) bytes exceeds ingest.max_frame_bytes (only its first \(frame.payload.readableBytes + 1) bytes are kept)"
                )
            }
            if let implausible = implausibility(of: seq) {
                return quarantine(agent, seq, frame.payload, implausible)
            }
            do throws(WireError) {
                return receive(try WireMessage(frame: frame))
            } catch {
                return quarantine(agent, seq, frame.payload, "malformed batch: \(error.message)")
            }
        }
        if let length = frame.oversizedLength {
            return fail(.malformed, "frame of \(length) bytes (type \(frame.type)) exceeds ingest.max_frame_bytes")
        }
        do throws(WireError) {
            return receive(try WireMessage(frame: frame))
        } catch {
            state = .closed
            return .reject(error)
        }
    }

    public mutating func receive(_ message: WireMessage) -> Action {
        switch (state, message) {
        case (.awaitingHello, .hello(let hello)):
            return receive(hello)
        case (.awaitingHello, _):
            return fail(.unexpectedMessage, "expected HELLO as the first message")
        case (.ready(let agent), .batch(let batch)):
            if batch.seq <= Int64.max.magnitude { highestSeq = max(highestSeq, batch.seq) }
            return .store(batch, agent)
        case (.ready, _):
            return fail(.unexpectedMessage, "only BATCH is accepted after HELLO")
        case (.closed, _):
            return fail(.unexpectedMessage, "connection is closing")
        }
    }

    private mutating func receive(_ hello: WireMessage.Hello) -> Action {
        let accepted = WireLimits.acceptedProtocolVersions
        guard accepted.contains(hello.protocolVersion) else {
            return fail(
                .unsupportedVersion,
                "protocol version \(hello.protocolVersion) not supported; this daemon speaks \(accepted.lowerBound) to \(accepted.upperBound)"
            )
        }
        if let interval = hello.intervalMs, interval > Self.maxIntervalMs {
            return fail(.malformed, "hello.interval_ms \(interval) is longer than a day")
        }
        if let version = hello.agentVersion, !Self.isValidIdentity(version) {
            return fail(
                .malformed, "hello.agent_version must be 1 to \(Self.maxIdentityBytes) bytes without control characters"
            )
        }
        guard !hello.agentID.isEmpty, !hello.host.isEmpty, !hello.bootID.isEmpty else {
            return fail(.malformed, "hello needs a non-empty agent_id, host and boot_id")
        }
        for (field, value) in [("agent_id", hello.agentID), ("boot_id", hello.bootID)]
        where !Self.isValidIdentity(value) {
            return fail(
                .malformed, "hello.\(field) must be 1 to \(Self.maxIdentityBytes) bytes without control characters")
        }
        guard HostScope.isValidHost(hello.host[...]) else {
            return fail(
                .malformed,
                "hello.host must be 1 to \(HostScope.maxHostBytes) bytes without space, control character, '|' or ','"
            )
        }
        let scope: HostScope
        if let tokens {
            guard let token = hello.token, !token.isEmpty else {
                return refuse(.token, "a remote agent must send its ingest token (ingest.token_file)")
            }
            guard let entry = tokens.match(token) else {
                return refuse(.token, "the ingest token is not one of ingest.tokens")
            }
            scope = entry.hosts
        } else {
            scope = localScope
        }
        self.scope = scope
        guard scope.allows(hello.host) else {
            return refuse(.host, "this credential may not write host '\(hello.host)'")
        }
        let agent = AgentIdentity(
            agentID: hello.agentID, host: hello.host, bootID: hello.bootID, version: hello.agentVersion,
            intervalMs: hello.intervalMs.map(Int64.init))
        state = .ready(agent)
        return .welcome(agent)
    }

    /// Why `seq` cannot go into the ledger, or nil when it can.
    private func implausibility(of seq: UInt64) -> String? {
        if seq > Int64.max.magnitude { return "seq \(seq) is above the largest the ingest ledger holds" }
        if seq > highestSeq + Self.maxSeqJump {
            return "seq \(seq) is implausibly far above \(highestSeq), the last stored for this agent boot"
        }
        return nil
    }

    private mutating func quarantine(_ agent: AgentIdentity, _ seq: UInt64, _ payload: ByteBuffer, _ reason: String)
        -> Action
    {
        let inLedger = implausibility(of: seq) == nil
        if inLedger { highestSeq = max(highestSeq, seq) }
        return .quarantine(
            QuarantinedBatch(agent: agent, seq: seq, reason: reason, payload: payload, inLedger: inLedger))
    }

    /// 1 … `maxIdentityBytes` bytes, no control character.
    static func isValidIdentity(_ value: String) -> Bool {
        value.utf8.count <= maxIdentityBytes && !value.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }

    private mutating func fail(_ code: WireError.Code, _ message: String) -> Action {
        state = .closed
        return .reject(WireError(code, message))
    }

    private mutating func refuse(_ reason: IngestRefusal, _ message: String) -> Action {
        state = .closed
        return .refuse(WireError(.forbidden, message), reason)
    }
}
