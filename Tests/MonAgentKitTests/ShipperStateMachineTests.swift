import MonTestSupport
import NIOCore
import Testing

@testable import MonAgentKit
@testable import MonCore

@Suite struct ShipperStateMachineTests {
    typealias Machine = ShipperStateMachine

    private static let identity = AgentIdentity(
        agentID: "agent-1", host: "web-1", bootID: "boot-a", version: "0.3.0", intervalMs: 5000)
    private static func plainBatch(_ seq: UInt64) -> Batch {
        Batch(seq: seq, createdMs: Int64(seq) * 10, samples: [Sample("m", value: Double(seq), timestampMs: 5)])
    }

    /// A batch as the queue hands it out (encoded).
    private static func batch(_ seq: UInt64) -> EncodedBatch { EncodedBatch(plainBatch(seq)) }

    /// Backoff from 1 s doubling up to 100 s: each delay's range tells which attempt it was.
    /// One batch in flight unless `maxInFlight` says more (the pipelined tests below).
    private static func machine(identity: AgentIdentity = identity, token: String? = nil, maxInFlight: Int = 1)
        -> Machine
    {
        Machine(
            identity: identity, token: token, backoff: Backoff(initial: 1, maximum: 100), maxInFlight: maxInFlight,
            jitter: SeededGenerator(state: 20))
    }

    /// A machine that said HELLO and got WELCOME(`lastAcked`) with `assigned` as the queue's last seq.
    private static func welcomed(lastAcked: UInt64 = 0, assigned: UInt64 = 0, maxInFlight: Int = 1) -> Machine {
        var machine = Self.machine(maxInFlight: maxInFlight)
        #expect(machine.receive(.start) == .connect)
        #expect(machine.receive(.connected) == .sendHello(machine.hello))
        #expect(machine.receive(.received(.welcome(.init(lastAckedSeq: lastAcked)))) == .readAssignedSeq)
        #expect(machine.receive(.assignedSeq(assigned)) == .welcomed(.acknowledge(upTo: lastAcked)))
        #expect(machine.state == .fetchingBatch(inFlight: []))
        return machine
    }

    /// Hands batch `seq` to a machine with one batch at most in flight: it is sent, and its ACK awaited.
    private static func sends(_ machine: inout Machine, _ seq: UInt64) {
        #expect(machine.receive(.unacked(Self.batch(seq))) == .sendBatch(Self.batch(seq)))
        #expect(machine.receive(.sent) == .awaitResponse)
        #expect(machine.state == .awaitingAck(inFlight: [seq]))
    }

    /// A welcomed machine with two batches at most in flight, batches 1 and 2 sent.
    private static func twoInFlight(assigned: UInt64) -> Machine {
        var machine = Self.welcomed(assigned: assigned, maxInFlight: 2)
        _ = machine.receive(.unacked(Self.batch(1)))
        _ = machine.receive(.sent)
        _ = machine.receive(.unacked(Self.batch(2)))
        _ = machine.receive(.sent)
        #expect(machine.state == .awaitingAck(inFlight: [1, 2]))
        return machine
    }

    /// A welcomed machine with batch `seq` sent, awaiting its ACK.
    private static func awaitingAck(_ seq: UInt64) -> Machine {
        var machine = Self.welcomed(lastAcked: seq - 1, assigned: seq)
        Self.sends(&machine, seq)
        return machine
    }

    /// The failure of a reconnect action, or nil for any other action.
    private static func failure(_ action: Machine.Action) -> Machine.Failure? {
        guard case .reconnect(let failure, _) = action else { return nil }
        return failure
    }

    /// The delay of a reconnect action, or nil for any other action.
    private static func delay(_ action: Machine.Action) -> Double? {
        guard case .reconnect(_, let delay) = action else { return nil }
        return delay
    }

    // MARK: start and HELLO

    @Test func startsIdleAndConnectsOnStart() {
        var machine = Self.machine()
        #expect(machine.state == .idle)
        #expect(machine.receive(.start) == .connect)
        #expect(machine.state == .connecting)
    }

    @Test("HELLO is protocol 2 with identity, interval and release; no token on the Unix socket")
    func helloOnTheUnixSocket() throws {
        var machine = Self.machine()
        _ = machine.receive(.start)
        let expected = WireMessage.Hello(
            protocolVersion: 2, agentID: "agent-1", host: "web-1", bootID: "boot-a", token: nil, intervalMs: 5000,
            agentVersion: "0.3.0")
        #expect(machine.receive(.connected) == .sendHello(expected))
        #expect(machine.state == .awaitingWelcome)
        // On the wire the token field is present and empty, and reads back as no token.
        let frame = WireMessage.hello(expected).frame()
        #expect(try WireMessage(frame: frame) == .hello(expected))
        var payload = frame.payload
        payload.moveReaderIndex(forwardBy: 2 + 3 * 4 + "agent-1web-1boot-a".utf8.count)
        #expect(payload.readInteger(as: UInt32.self) == 0)
    }

    @Test func helloCarriesTheRemoteToken() {
        var machine = Self.machine(token: "s3cret")
        _ = machine.receive(.start)
        guard case .sendHello(let hello) = machine.receive(.connected) else {
            Issue.record("connected does not send HELLO")
            return
        }
        #expect(hello.token == "s3cret" && hello.protocolVersion == WireLimits.protocolVersion)
    }

    @Test(
        "HELLO's interval is clamped to 32 bits; an identity without interval or release sends neither",
        arguments: [(Int64?.none, UInt32?.none), (5000, 5000), (Int64(UInt32.max) + 1, UInt32.max)])
    func helloInterval(interval: Int64?, sent: UInt32?) {
        var identity = Self.identity
        identity.intervalMs = interval
        identity.version = nil
        let machine = Self.machine(identity: identity)
        #expect(machine.hello.intervalMs == sent)
        #expect(machine.hello.agentVersion == nil)
    }

    // MARK: WELCOME

    @Test(
        "WELCOME at or below the highest assigned seq drops what the daemon stored",
        arguments: [(UInt64(0), UInt64(0)), (0, 7), (3, 7), (7, 7)])
    func welcomeDropsTheStoredBatches(lastAcked: UInt64, assigned: UInt64) {
        var machine = Self.machine()
        _ = machine.receive(.start)
        _ = machine.receive(.connected)
        #expect(machine.receive(.received(.welcome(.init(lastAckedSeq: lastAcked)))) == .readAssignedSeq)
        #expect(machine.state == .checkingWelcome(lastAckedSeq: lastAcked))
        #expect(machine.receive(.assignedSeq(assigned)) == .welcomed(.acknowledge(upTo: lastAcked)))
        #expect(machine.state == .fetchingBatch(inFlight: []))
    }

    @Test(
        "WELCOME above any assigned seq drops nothing and is counted; new seqs skip past it below Int64.max",
        arguments: [
            (UInt64(8), true), (1_000_000, true), (Int64.max.magnitude - 1, true), (Int64.max.magnitude, false),
            (UInt64.max, false),
        ])
    func welcomeAheadDropsNothing(reported: UInt64, skips: Bool) {
        var machine = Self.machine()
        _ = machine.receive(.start)
        _ = machine.receive(.connected)
        _ = machine.receive(.received(.welcome(.init(lastAckedSeq: reported))))
        let action = machine.receive(.assignedSeq(7))
        #expect(action == .welcomed(.ahead(reportedSeq: reported, highestAssignedSeq: 7, skipSequence: skips)))
        // Still welcomed: the batches waiting are sent as they are.
        #expect(machine.receive(.unacked(Self.batch(3))) == .sendBatch(Self.batch(3)))
    }

    static let notWelcome: [WireMessage] = [
        .ack(seq: 0),
        .batch(plainBatch(1)),
        .hello(.init(agentID: "a", host: "h", bootID: "b")),
    ]

    @Test("Anything but WELCOME after HELLO is a protocol error: close and back off", arguments: notWelcome)
    func nonWelcomeFirstIsAnError(message: WireMessage) {
        var machine = Self.machine()
        _ = machine.receive(.start)
        _ = machine.receive(.connected)
        let action = machine.receive(.received(message))
        #expect(Self.failure(action) == .protocolViolation("expected WELCOME"))
        #expect(machine.state == .backingOff)
        #expect(machine.receive(.backoffElapsed) == .connect)
    }

    // MARK: BATCH and ACK

    @Test func matchingAcksDropTheBatchAndSendTheNext() {
        var machine = Self.welcomed(assigned: 2)
        Self.sends(&machine, 1)
        #expect(machine.receive(.received(.ack(seq: 1))) == .acknowledge(upTo: 1, readAfter: nil))
        #expect(machine.state == .fetchingBatch(inFlight: []))
        Self.sends(&machine, 2)
        #expect(machine.receive(.received(.ack(seq: 2))) == .acknowledge(upTo: 2, readAfter: nil))
    }

    @Test func emptyQueueWaitsForAppendedThenSends() {
        var machine = Self.welcomed()
        #expect(machine.receive(.unacked(nil)) == .waitForBatches)
        #expect(machine.state == .waitingForBatches)
        #expect(machine.receive(.appended) == .readUnacked(after: nil))
        // A wake-up without a batch (coalesced signal) waits again.
        #expect(machine.receive(.unacked(nil)) == .waitForBatches)
        #expect(machine.receive(.appended) == .readUnacked(after: nil))
        #expect(machine.receive(.unacked(Self.batch(1))) == .sendBatch(Self.batch(1)))
    }

    @Test(
        "An ACK for another seq is a protocol error: duplicate (4), out of order (6), far off (0, max)",
        arguments: [UInt64(4), 6, 0, UInt64.max])
    func mismatchingAckIsAnError(seq: UInt64) {
        var machine = Self.welcomed(assigned: 5)
        Self.sends(&machine, 4)
        #expect(machine.receive(.received(.ack(seq: 4))) == .acknowledge(upTo: 4, readAfter: nil))
        Self.sends(&machine, 5)
        let action = machine.receive(.received(.ack(seq: seq)))
        #expect(Self.failure(action) == .protocolViolation("expected ACK for batch 5"))
        #expect(machine.state == .backingOff)
    }

    @Test("Anything but ACK while a batch is in flight is a protocol error", arguments: notWelcome.dropFirst())
    func nonAckIsAnError(message: WireMessage) {
        var machine = Self.awaitingAck(3)
        #expect(Self.failure(machine.receive(.received(message))) == .protocolViolation("expected ACK for batch 3"))
    }

    @Test func secondWelcomeOnOneConnectionIsAnError() {
        var machine = Self.awaitingAck(3)
        let action = machine.receive(.received(.welcome(.init(lastAckedSeq: 3))))
        #expect(Self.failure(action) == .protocolViolation("expected ACK for batch 3"))
    }

    @Test func messageWhileNoBatchIsInFlightIsAnError() {
        var machine = Self.welcomed()
        _ = machine.receive(.unacked(nil))
        let action = machine.receive(.received(.ack(seq: 1)))
        #expect(Self.failure(action) == .protocolViolation("unexpected ACK while waitingForBatches"))
    }

    // MARK: two batches in flight

    @Test("Two in flight: the next batch is sent before the first ACK, and each ACK lets one more go")
    func twoInFlightKeepTheDaemonBusy() {
        var machine = Self.welcomed(assigned: 3, maxInFlight: 2)
        #expect(machine.receive(.unacked(Self.batch(1))) == .sendBatch(Self.batch(1)))
        #expect(machine.receive(.sent) == .readUnacked(after: 1))
        #expect(machine.state == .fetchingBatch(inFlight: [1]))
        #expect(machine.receive(.unacked(Self.batch(2))) == .sendBatch(Self.batch(2)))
        #expect(machine.receive(.sent) == .awaitResponse, "the window is full")
        #expect(machine.state == .awaitingAck(inFlight: [1, 2]))
        #expect(machine.receive(.received(.ack(seq: 1))) == .acknowledge(upTo: 1, readAfter: 2))
        #expect(machine.receive(.unacked(Self.batch(3))) == .sendBatch(Self.batch(3)))
        #expect(machine.receive(.sent) == .awaitResponse)
        #expect(machine.state == .awaitingAck(inFlight: [2, 3]))
        #expect(machine.receive(.received(.ack(seq: 2))) == .acknowledge(upTo: 2, readAfter: 3))
        // Nothing more queued: the ACK of the one still in flight is awaited, not an append.
        #expect(machine.receive(.unacked(nil)) == .awaitResponse)
        #expect(machine.receive(.received(.ack(seq: 3))) == .acknowledge(upTo: 3, readAfter: nil))
        #expect(machine.receive(.unacked(nil)) == .waitForBatches)
    }

    @Test(
        "Two in flight: the ACKs come in order; the second's first, a repeat or a stranger is a protocol error",
        arguments: [UInt64(2), 0, 3])
    func twoInFlightAcksInOrder(seq: UInt64) {
        var machine = Self.twoInFlight(assigned: 2)
        #expect(
            Self.failure(machine.receive(.received(.ack(seq: seq)))) == .protocolViolation("expected ACK for batch 1"))
        #expect(machine.state == .backingOff)
    }

    @Test("A queue handing out a batch at or below one in flight is not trusted", arguments: [UInt64(1), 0])
    func twoInFlightRefuseAnOlderBatch(seq: UInt64) {
        var machine = Self.welcomed(assigned: 2, maxInFlight: 2)
        _ = machine.receive(.unacked(Self.batch(1)))
        _ = machine.receive(.sent)
        #expect(
            Self.failure(machine.receive(.unacked(Self.batch(seq))))
                == .unexpected("shipper: the queue handed out batch \(seq) after [1]"))
    }

    /// The daemon dies with batches 1 and 2 on the wire. Whatever it stored, the next WELCOME
    /// says: nothing (both sent again, in order), batch 1 (its ACK was lost: only 2 goes again)
    /// or both.
    @Test(
        "The daemon dying with two batches unacked: the WELCOME decides, the rest goes again oldest first",
        arguments: [UInt64(0), 1, 2])
    func daemonDiesWithTwoUnacked(stored: UInt64) {
        var machine = Self.twoInFlight(assigned: 3)
        #expect(Self.failure(machine.receive(.closed)) == .protocolViolation("daemon closed the connection"))
        #expect(machine.receive(.backoffElapsed) == .connect)
        #expect(machine.receive(.connected) == .sendHello(machine.hello))
        #expect(machine.receive(.received(.welcome(.init(lastAckedSeq: stored)))) == .readAssignedSeq)
        #expect(machine.receive(.assignedSeq(3)) == .welcomed(.acknowledge(upTo: stored)))
        #expect(machine.state == .fetchingBatch(inFlight: []), "nothing in flight on the new connection")
        // The queue, after dropping up to `stored`, hands out the oldest left.
        let first = stored + 1
        #expect(machine.receive(.unacked(Self.batch(first))) == .sendBatch(Self.batch(first)))
        #expect(machine.receive(.sent) == .readUnacked(after: first))
        #expect(machine.receive(.unacked(Self.batch(first + 1))) == .sendBatch(Self.batch(first + 1)))
        #expect(machine.receive(.sent) == .awaitResponse)
        #expect(machine.receive(.received(.ack(seq: first))) == .acknowledge(upTo: first, readAfter: first + 1))
    }

    @Test("An ERROR after the first of two ACKs (storage down): the second batch stays and goes again")
    func errorForTheSecondOfTwo() {
        let error = WireError(.storageUnavailable, "storage unavailable")
        var machine = Self.twoInFlight(assigned: 2)
        #expect(machine.receive(.received(.ack(seq: 1))) == .acknowledge(upTo: 1, readAfter: 2))
        #expect(machine.receive(.unacked(nil)) == .awaitResponse)
        #expect(Self.failure(machine.receive(.received(.error(error)))) == .daemonError(error))
        _ = machine.receive(.backoffElapsed)
        _ = machine.receive(.connected)
        _ = machine.receive(.received(.welcome(.init(lastAckedSeq: 1))))
        #expect(machine.receive(.assignedSeq(2)) == .welcomed(.acknowledge(upTo: 1)))
        #expect(machine.receive(.unacked(Self.batch(2))) == .sendBatch(Self.batch(2)))
    }

    // MARK: ERROR frames and failures

    static let daemonErrors: [WireError] = [
        WireError(.forbidden, "agent id 'agent-1' is bound to host 'web-2', not 'web-1'"),
        WireError(.forbidden, "the ingest token is not one of ingest.tokens"),
        WireError(.unsupportedVersion, "protocol version 2 not supported; this daemon speaks 1 to 1"),
        WireError(rawCode: 99, message: "a code of a later release"),
    ]

    @Test("ERROR instead of WELCOME (refused agent, old daemon): nothing dropped, retried", arguments: daemonErrors)
    func errorInsteadOfWelcome(error: WireError) {
        var machine = Self.machine()
        _ = machine.receive(.start)
        _ = machine.receive(.connected)
        let action = machine.receive(.received(.error(error)))
        #expect(Self.failure(action) == .daemonError(error))
        #expect(Self.failure(action)?.description == error.description)
        #expect(machine.receive(.backoffElapsed) == .connect)
    }

    @Test("ERROR instead of ACK (storage down, quarantine failed, rejected): the batch stays, sent again")
    func errorInsteadOfAck() {
        let error = WireError(.storageUnavailable, "storage unavailable")
        var machine = Self.awaitingAck(3)
        let action = machine.receive(.received(.error(error)))
        #expect(Self.failure(action) == .daemonError(error))
        #expect(Self.failure(action)?.description == "storageUnavailable: storage unavailable")
        #expect(machine.receive(.backoffElapsed) == .connect)
        _ = machine.receive(.connected)
        _ = machine.receive(.received(.welcome(.init(lastAckedSeq: 2))))
        #expect(machine.receive(.assignedSeq(3)) == .welcomed(.acknowledge(upTo: 2)))
        #expect(machine.receive(.unacked(Self.batch(3))) == .sendBatch(Self.batch(3)))
    }

    /// A batch the daemon cannot store for a permanent reason (undecodable, implausible seq,
    /// PostgreSQL refusing it) is kept in `rejected_batches` and ACKed: the agent drops it like
    /// a stored one and goes on, never retrying it forever.
    @Test func quarantinedBatchIsAckedAndDropped() {
        var machine = Self.awaitingAck(3)
        #expect(machine.receive(.received(.ack(seq: 3))) == .acknowledge(upTo: 3, readAfter: nil))
        #expect(machine.receive(.unacked(Self.batch(4))) == .sendBatch(Self.batch(4)))
    }

    @Test func undecodableFrameIsAnError() {
        let error = WireError(.unknownType, "unknown message type 42")
        var awaitingWelcome = Self.machine()
        _ = awaitingWelcome.receive(.start)
        _ = awaitingWelcome.receive(.connected)
        #expect(Self.failure(awaitingWelcome.receive(.undecodable(error))) == .undecodable(error))
        var inFlight = Self.awaitingAck(1)
        let action = inFlight.receive(.undecodable(error))
        #expect(Self.failure(action) == .undecodable(error))
        #expect(Self.failure(action)?.description == "unknownType: unknown message type 42")
    }

    @Test func connectAndConnectionFailuresBackOff() {
        var machine = Self.machine()
        _ = machine.receive(.start)
        let refused = machine.receive(.connectFailed("connection refused (errno: 111)"))
        #expect(Self.failure(refused) == .connection("connection refused (errno: 111)"))
        #expect(Self.failure(refused)?.description == "connection refused (errno: 111)")
        var inFlight = Self.awaitingAck(1)
        #expect(Self.failure(inFlight.receive(.connectionFailed("reset"))) == .connection("reset"))
        #expect(inFlight.state == .backingOff)
    }

    @Test("The daemon closing mid-batch reconnects and sends the same batch again (spool replay)")
    func closeMidBatchReplaysTheBatch() {
        var machine = Self.awaitingAck(3)
        let action = machine.receive(.closed)
        #expect(Self.failure(action) == .protocolViolation("daemon closed the connection"))
        #expect(Self.failure(action)?.description == "daemon closed the connection")
        #expect(machine.state == .backingOff)
        #expect(machine.receive(.backoffElapsed) == .connect)
        #expect(machine.receive(.connected) == .sendHello(machine.hello))
        // The daemon did not store batch 3: the second WELCOME says 2, and 3 goes again.
        #expect(machine.receive(.received(.welcome(.init(lastAckedSeq: 2)))) == .readAssignedSeq)
        #expect(machine.receive(.assignedSeq(4)) == .welcomed(.acknowledge(upTo: 2)))
        Self.sends(&machine, 3)
        #expect(machine.receive(.received(.ack(seq: 3))) == .acknowledge(upTo: 3, readAfter: nil))
        #expect(machine.receive(.unacked(Self.batch(4))) == .sendBatch(Self.batch(4)))
    }

    @Test("The daemon stored the batch but its ACK was lost: the second WELCOME drops it")
    func lostAckIsSettledByTheNextWelcome() {
        var machine = Self.awaitingAck(3)
        _ = machine.receive(.closed)
        _ = machine.receive(.backoffElapsed)
        _ = machine.receive(.connected)
        _ = machine.receive(.received(.welcome(.init(lastAckedSeq: 3))))
        #expect(machine.receive(.assignedSeq(3)) == .welcomed(.acknowledge(upTo: 3)))
        #expect(machine.receive(.unacked(nil)) == .waitForBatches)
    }

    // MARK: backoff

    @Test("Failures before WELCOME double the delay; only a WELCOME resets it")
    func backoffResetsOnlyAfterWelcome() throws {
        var machine = Self.machine()
        _ = machine.receive(.start)
        // 1: connect refused, delay in [0.5, 1].
        let first = try #require(Self.delay(machine.receive(.connectFailed("refused"))))
        #expect((0.5...1).contains(first))
        // 2: connected, but closed before WELCOME: no reset, [1, 2].
        _ = machine.receive(.backoffElapsed)
        _ = machine.receive(.connected)
        let second = try #require(Self.delay(machine.receive(.closed)))
        #expect((1...2).contains(second))
        // 3: refused at HELLO: still no reset, [2, 4].
        _ = machine.receive(.backoffElapsed)
        _ = machine.receive(.connected)
        let third = try #require(Self.delay(machine.receive(.received(.error(Self.daemonErrors[0])))))
        #expect((2...4).contains(third))
        #expect(machine.backoff.ceiling == 8)
        // WELCOME: reset; the next failure waits [0.5, 1] again.
        _ = machine.receive(.backoffElapsed)
        _ = machine.receive(.connected)
        _ = machine.receive(.received(.welcome(.init(lastAckedSeq: 0))))
        _ = machine.receive(.assignedSeq(0))
        #expect(machine.backoff.ceiling == 1)
        Self.sends(&machine, 1)
        let afterWelcome = try #require(Self.delay(machine.receive(.closed)))
        #expect((0.5...1).contains(afterWelcome))
    }

    @Test func backoffStopsAtItsMaximum() throws {
        var machine = Machine(
            identity: Self.identity, token: nil, backoff: Backoff(initial: 1, maximum: 4),
            jitter: SeededGenerator(state: 7))
        _ = machine.receive(.start)
        for _ in 0..<10 {
            let delay = try #require(Self.delay(machine.receive(.connectFailed("refused"))))
            #expect(delay <= 4)
            #expect(machine.receive(.backoffElapsed) == .connect)
        }
        #expect(machine.backoff.ceiling == 4)
    }

    // MARK: cancellation and out-of-order events

    /// Machines in every state.
    static func everyState() -> [Machine] {
        let idle = Self.machine()
        var connecting = Self.machine()
        _ = connecting.receive(.start)
        var awaitingWelcome = connecting
        _ = awaitingWelcome.receive(.connected)
        var checkingWelcome = awaitingWelcome
        _ = checkingWelcome.receive(.received(.welcome(.init(lastAckedSeq: 0))))
        var waiting = Self.welcomed()
        _ = waiting.receive(.unacked(nil))
        var sending = Self.welcomed()
        _ = sending.receive(.unacked(Self.batch(1)))
        var backingOff = connecting
        _ = backingOff.receive(.connectFailed("refused"))
        var stopped = idle
        _ = stopped.receive(.cancelled)
        return [
            idle, connecting, awaitingWelcome, checkingWelcome, Self.welcomed(), sending, waiting,
            Self.awaitingAck(1), backingOff, stopped,
        ]
    }

    @Test func everyStateIsCovered() {
        let states = Self.everyState().map(\.state)
        #expect(
            states == [
                .idle, .connecting, .awaitingWelcome, .checkingWelcome(lastAckedSeq: 0), .fetchingBatch(inFlight: []),
                .sending(inFlight: [1]), .waitingForBatches, .awaitingAck(inFlight: [1]), .backingOff, .stopped,
            ])
    }

    @Test func cancellationStopsFromEveryStateAndForGood() {
        for var machine in Self.everyState() {
            #expect(machine.receive(.cancelled) == .stop)
            #expect(machine.state == .stopped)
            #expect(machine.receive(.backoffElapsed) == .stop)
            #expect(machine.receive(.received(.ack(seq: 1))) == .stop)
            #expect(machine.receive(.start) == .stop)
        }
    }

    @Test("An event that does not fit the state closes and reconnects rather than trusting it")
    func outOfOrderEventReconnects() {
        var idle = Self.machine()
        #expect(
            Self.failure(idle.receive(.assignedSeq(3)))
                == .unexpected("shipper: event assignedSeq does not fit state idle"))
        var inFlight = Self.awaitingAck(2)
        let action = inFlight.receive(.unacked(Self.batch(3)))
        #expect(
            Self.failure(action) == .unexpected("shipper: event unacked does not fit state awaitingAck(inFlight: [2])"))
        #expect(inFlight.state == .backingOff)
        var backingOff = Self.awaitingAck(2)
        _ = backingOff.receive(.closed)
        #expect(Self.failure(backingOff.receive(.connected)) != nil)
    }
}
