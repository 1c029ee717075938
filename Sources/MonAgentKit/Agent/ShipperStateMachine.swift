import MonCore

/// The agent's side of the ingest protocol as a pure state machine.
///
/// `Shipper` owns the socket and the queue, feeds what happened into `receive(_:)` and
/// performs the returned action; every protocol decision (HELLO's content, what WELCOME
/// drops, which ACK is the right one, when to reconnect and after how long) is made here,
/// without I/O, so each transition is tested without sockets (`ShipperStateMachineTests`).
/// Facts about the queue (its highest assigned seq, its oldest unacked batch) come in
/// events, asked for by actions: the machine never calls the queue.
///
/// One connection: `.connect` → `.connected` → `.sendHello` → WELCOME → `.readAssignedSeq`
/// → `.welcomed` → `.unacked` → `.sendBatch` → `.sent` → … → `.awaitResponse` → ACK →
/// `.acknowledge` → `.unacked` … (or `.waitForBatches` → `.appended` → `.readUnacked`).
/// Up to `maxInFlight` batches are on the wire at once: after a batch is written the next
/// one is read from the queue and sent before the first ACK is awaited, so the daemon has
/// the next batch at hand when it acks one (its ACKs come in order, one per batch). Any
/// failure answers `.reconnect` with the backoff delay; after it, `.backoffElapsed` connects
/// again, the WELCOME drops what the daemon stored, and the batches still unacked are sent
/// again, oldest first.
public struct ShipperStateMachine: Sendable {
    public enum State: Sendable, Equatable {
        /// Not started.
        case idle
        /// A connection is being opened.
        case connecting
        /// HELLO sent; the daemon's answer is awaited.
        case awaitingWelcome
        /// WELCOME received with `lastAckedSeq`; the queue's highest assigned seq is awaited.
        case checkingWelcome(lastAckedSeq: UInt64)
        /// Welcomed, `inFlight` sent and unacked (oldest first, possibly none); the queue's next
        /// unacked batch after them is awaited.
        case fetchingBatch(inFlight: [UInt64])
        /// The last of `inFlight` is being written.
        case sending(inFlight: [UInt64])
        /// Nothing in flight and the queue is empty; waiting for a batch to be appended.
        case waitingForBatches
        /// `inFlight` sent (oldest first); the ACK of the first is awaited.
        case awaitingAck(inFlight: [UInt64])
        /// The connection failed and is closed; waiting out the backoff delay.
        case backingOff
        /// Cancelled: nothing more happens.
        case stopped
    }

    public enum Event: Sendable, Equatable {
        /// The shipper starts.
        case start
        /// The connection is open.
        case connected
        /// Opening the connection failed (the error's description, for the log).
        case connectFailed(String)
        /// A message from the daemon.
        case received(WireMessage)
        /// A frame from the daemon that does not decode.
        case undecodable(WireError)
        /// The daemon closed the connection (end of its stream).
        case closed
        /// Reading or writing failed (the error's description, for the log).
        case connectionFailed(String)
        /// Answers `.readAssignedSeq`: the queue's `lastSeq`.
        case assignedSeq(UInt64)
        /// Answers `.welcomed`, `.acknowledge` and `.readUnacked`: the queue's next unacked batch
        /// after the ones in flight (`BatchQueue.unacked(after:)`).
        case unacked(EncodedBatch?)
        /// Answers `.sendBatch`: the batch is written.
        case sent
        /// Answers `.waitForBatches`: a batch was appended.
        case appended
        /// Answers `.reconnect`: the delay is over.
        case backoffElapsed
        /// The shipper's task is cancelled (graceful shutdown).
        case cancelled
    }

    /// What a WELCOME means for the queue.
    public enum WelcomeDecision: Sendable, Equatable {
        /// The daemon stored every batch up to `seq`: drop them (`acknowledge(upTo:)`).
        case acknowledge(upTo: UInt64)
        /// The daemon claims a seq above any this agent assigned: another client announced this
        /// agent's identity, or the daemon's ledger is not this agent's. Trusting it would delete
        /// unsent batches, so nothing is dropped: count it (`welcomesAhead`), log it, and when
        /// `skipSequence` number new batches after `reportedSeq` (`skipSequence(past:)`), so none
        /// of them collides with a ledger row it did not write (a collision would be acked as a
        /// duplicate and lost). Not above what a ledger holds (`Int64.max`): never number near overflow.
        case ahead(reportedSeq: UInt64, highestAssignedSeq: UInt64, skipSequence: Bool)
    }

    public enum Action: Sendable, Equatable {
        /// Open a connection; report `.connected` or `.connectFailed`.
        case connect
        /// Send HELLO, then report the daemon's answer.
        case sendHello(WireMessage.Hello)
        /// Report the queue's highest assigned seq (`.assignedSeq`).
        case readAssignedSeq
        /// Apply the decision to the queue, log the connection, then report `.unacked` with the
        /// queue's oldest unacked batch.
        case welcomed(WelcomeDecision)
        /// Write this batch, then report `.sent` (the answer comes after `.awaitResponse`).
        case sendBatch(EncodedBatch)
        /// Read the daemon's next frame and report it.
        case awaitResponse
        /// Drop every batch up to `seq` (acked), then report `.unacked` with the queue's next
        /// unacked batch after `after` (nil: the oldest).
        case acknowledge(upTo: UInt64, readAfter: UInt64?)
        /// Report `.unacked` with the queue's next unacked batch after `after` (nil: the oldest).
        case readUnacked(after: UInt64?)
        /// Wait until a batch is appended, then report `.appended`.
        case waitForBatches
        /// Close the connection, log `failure`, wait `delaySeconds`, then report `.backoffElapsed`.
        case reconnect(after: Failure, delaySeconds: Double)
        /// Close the connection (if open) and stop.
        case stop
    }

    /// Why a connection ended; its description is the log line's `error`.
    public enum Failure: Sendable, Equatable, CustomStringConvertible {
        /// Opening, reading or writing failed.
        case connection(String)
        /// The daemon sent an ERROR frame: it refused this agent (`forbidden`: token, host or
        /// agent id binding), could not store (`storageUnavailable`) or rejected what it got.
        /// A batch the daemon cannot store for a permanent reason is quarantined and ACKed,
        /// never answered with an ERROR: an ERROR always means "retry later".
        case daemonError(WireError)
        /// A frame from the daemon that does not decode.
        case undecodable(WireError)
        /// The daemon closed the connection, or sent what the protocol does not allow here.
        case protocolViolation(String)
        /// The driver reported an event that does not fit the state (a bug; the connection is
        /// closed and opened again rather than trusted).
        case unexpected(String)

        public var description: String {
            switch self {
            case .connection(let error): error
            case .daemonError(let error), .undecodable(let error): error.description
            case .protocolViolation(let message), .unexpected(let message): message
            }
        }
    }

    public private(set) var state: State = .idle
    /// The delays between connection attempts; reset after each WELCOME.
    public private(set) var backoff: Backoff
    /// The HELLO every connection starts with.
    public let hello: WireMessage.Hello
    /// Batches on the wire at most (1: each ACK awaited before the next batch is sent).
    public let maxInFlight: Int
    private var jitter: any RandomNumberGenerator & Sendable

    /// `token`: a remote agent's ingest token (nil on the Unix socket, where the kernel vouches
    /// for the peer; sent as an empty field). `jitter` draws the backoff delays.
    public init(
        identity: AgentIdentity, token: String?, backoff: Backoff, maxInFlight: Int = 2,
        jitter: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()
    ) {
        self.maxInFlight = max(1, maxInFlight)
        self.hello = WireMessage.Hello(
            agentID: identity.agentID, host: identity.host, bootID: identity.bootID, token: token,
            intervalMs: identity.intervalMs.map { UInt32(clamping: $0) }, agentVersion: identity.version)
        self.backoff = backoff
        self.jitter = jitter
    }

    public mutating func receive(_ event: Event) -> Action {
        switch (state, event) {
        case (.stopped, _), (_, .cancelled):
            state = .stopped
            return .stop
        case (.idle, .start), (.backingOff, .backoffElapsed):
            state = .connecting
            return .connect
        case (.connecting, .connected):
            state = .awaitingWelcome
            return .sendHello(hello)
        case (.connecting, .connectFailed(let error)):
            return fail(.connection(error))
        case (.awaitingWelcome, .received(.welcome(let welcome))):
            state = .checkingWelcome(lastAckedSeq: welcome.lastAckedSeq)
            return .readAssignedSeq
        case (.awaitingWelcome, .received(let message)):
            return fail(Self.failure(message, expected: "expected WELCOME"))
        case (.checkingWelcome(let reported), .assignedSeq(let assigned)):
            backoff.reset()
            state = .fetchingBatch(inFlight: [])
            guard reported > assigned else { return .welcomed(.acknowledge(upTo: reported)) }
            return .welcomed(
                .ahead(
                    reportedSeq: reported, highestAssignedSeq: assigned,
                    skipSequence: reported < Int64.max.magnitude))
        case (.fetchingBatch(let inFlight), .unacked(let batch?)):
            guard batch.seq > inFlight.last ?? 0 else {
                return fail(.unexpected("shipper: the queue handed out batch \(batch.seq) after \(inFlight)"))
            }
            state = .sending(inFlight: inFlight + [batch.seq])
            return .sendBatch(batch)
        case (.fetchingBatch(let inFlight), .unacked(nil)):
            guard !inFlight.isEmpty else {
                state = .waitingForBatches
                return .waitForBatches
            }
            state = .awaitingAck(inFlight: inFlight)
            return .awaitResponse
        case (.sending(let inFlight), .sent):
            guard inFlight.count < maxInFlight else {
                state = .awaitingAck(inFlight: inFlight)
                return .awaitResponse
            }
            state = .fetchingBatch(inFlight: inFlight)
            return .readUnacked(after: inFlight.last)
        case (.waitingForBatches, .appended):
            state = .fetchingBatch(inFlight: [])
            return .readUnacked(after: nil)
        case (.awaitingAck(let inFlight), .received(.ack(let seq))) where seq == inFlight.first:
            let rest = Array(inFlight.dropFirst())
            state = .fetchingBatch(inFlight: rest)
            return .acknowledge(upTo: seq, readAfter: rest.last)
        case (.awaitingAck(let inFlight), .received(let message)):
            return fail(Self.failure(message, expected: "expected ACK for batch \(inFlight.first ?? 0)"))
        case (_, .undecodable(let error)) where state.isConnected:
            return fail(.undecodable(error))
        case (_, .closed) where state.isConnected:
            return fail(.protocolViolation("daemon closed the connection"))
        case (_, .connectionFailed(let error)) where state.isConnected:
            return fail(.connection(error))
        case (_, .received(let message)) where state.isConnected:
            return fail(Self.failure(message, expected: "unexpected \(message.name) while \(state)"))
        default:
            return fail(.unexpected("shipper: event \(event.name) does not fit state \(state)"))
        }
    }

    /// An ERROR frame is the daemon's error; anything else is a protocol violation.
    private static func failure(_ message: WireMessage, expected: String) -> Failure {
        if case .error(let error) = message { return .daemonError(error) }
        return .protocolViolation(expected)
    }

    private mutating func fail(_ failure: Failure) -> Action {
        state = .backingOff
        return .reconnect(after: failure, delaySeconds: backoff.next(using: &jitter))
    }
}

extension ShipperStateMachine.State {
    /// A connection is open (from HELLO sent to the last ACK).
    var isConnected: Bool {
        switch self {
        case .awaitingWelcome, .checkingWelcome, .fetchingBatch, .sending, .waitingForBatches, .awaitingAck: true
        case .idle, .connecting, .backingOff, .stopped: false
        }
    }
}

extension ShipperStateMachine.Event {
    /// The event's name without its payload (a batch is not worth a log line).
    var name: String {
        switch self {
        case .start: "start"
        case .connected: "connected"
        case .connectFailed: "connectFailed"
        case .received(let message): "received(\(message.name))"
        case .undecodable: "undecodable"
        case .closed: "closed"
        case .connectionFailed: "connectionFailed"
        case .assignedSeq: "assignedSeq"
        case .unacked: "unacked"
        case .sent: "sent"
        case .appended: "appended"
        case .backoffElapsed: "backoffElapsed"
        case .cancelled: "cancelled"
        }
    }
}

extension WireMessage {
    /// The message type's name, as the protocol spells it.
    var name: String {
        switch self {
        case .hello: "HELLO"
        case .welcome: "WELCOME"
        case .batch: "BATCH"
        case .ack: "ACK"
        case .error: "ERROR"
        }
    }
}
