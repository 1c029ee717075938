import NIOCore
import Testing

@testable import MonCore
@testable import MonQueryKit

/// The session's trust decisions: which hosts a credential may write, what HELLO may carry,
/// and which batches are quarantined (and acked) instead of closing the connection forever.
@Suite struct IngestSessionGuardTests {
    static let token = "token-of-web-1"
    static let hash = SHA256.hash(Array(token.utf8))

    static func tokens(_ hosts: HostScope) -> IngestTokens {
        IngestTokens(entries: [.init(name: "web-1", hash: hash, hosts: hosts)])
    }

    static func hello(host: String, token: String? = nil, agent: String = "a", boot: String = "b") -> WireMessage {
        .hello(.init(agentID: agent, host: host, bootID: boot, token: token))
    }

    static func ready(scope: HostScope = .any, lastStored: UInt64 = 0) -> IngestSession {
        var session = IngestSession(localScope: scope)
        _ = session.receive(hello(host: "web-1"))
        session.welcomed(lastStoredSeq: lastStored)
        return session
    }

    static func batchFrame(seq: UInt64, samples: [Sample] = []) -> Frame {
        WireMessage.batch(Batch(seq: seq, createdMs: 1, samples: samples)).frame()
    }

    static func refusal(_ action: IngestSession.Action) -> IngestRefusal? {
        guard case .refuse(let error, let reason) = action else { return nil }
        #expect(error.code == WireError.Code.forbidden.rawValue)
        return reason
    }

    @Test("a token may write the hosts it is bound to, and no other")
    func tokenHostBinding() {
        for (scope, host, allowed) in [
            (HostScope.only(["web-1"]), "web-1", true), (.only(["web-1"]), "web-2", false),
            (.only(["web-1", "web-1b"]), "web-1b", true), (.any, "db-9", true),
        ] {
            var session = IngestSession(tokens: Self.tokens(scope))
            let action = session.receive(Self.hello(host: host, token: Self.token))
            if allowed {
                #expect(action == .welcome(AgentIdentity(agentID: "a", host: host, bootID: "b")), "\(scope) \(host)")
            } else {
                #expect(Self.refusal(action) == .host, "\(scope) \(host)")
                #expect(session.state == .closed)
                #expect(session.scope == scope, "the allowed hosts are known for the log line")
            }
        }
    }

    @Test("a local peer may write the hosts of its allow-list entry")
    func localHostBinding() {
        var allowed = IngestSession(localScope: .only(["this-host"]))
        #expect(
            allowed.receive(Self.hello(host: "this-host"))
                == .welcome(.init(agentID: "a", host: "this-host", bootID: "b")))
        var spoofing = IngestSession(localScope: .only(["this-host"]))
        #expect(Self.refusal(spoofing.receive(Self.hello(host: "db-1"))) == .host)
    }

    @Test(
        "HELLO fields: bounded, no control characters; a host without space, '|' or ','",
        arguments: [
            ("a", "web 1", "b"), ("a", "web|1", "b"), ("a", "web,1", "b"), ("a", "web\n1", "b"),
            ("a\u{0}", "web-1", "b"), ("a", "web-1", "b\r"), (String(repeating: "a", count: 256), "web-1", "b"),
            ("a", String(repeating: "h", count: 256), "b"),
        ])
    func helloFieldsAreChecked(agent: String, host: String, boot: String) {
        var session = IngestSession()
        let action = session.receive(Self.hello(host: host, agent: agent, boot: boot))
        guard case .reject(let error) = action else {
            Issue.record("expected a reject, got \(action)")
            return
        }
        #expect(error.code == WireError.Code.malformed.rawValue)
        #expect(session.state == .closed)
    }

    @Test func aDecodableBatchIsStoredAndTheSessionGoesOn() {
        var session = Self.ready()
        let frame = Self.batchFrame(seq: 1, samples: [Sample("m", value: 1, timestampMs: 5)])
        guard case .store(let batch, _) = session.receive(frame: frame) else {
            Issue.record("expected store")
            return
        }
        #expect(batch.seq == 1)
        #expect(session.highestSeq == 1)
    }

    @Test("a malformed batch after HELLO is quarantined with its seq; the next one is stored")
    func malformedBatchIsQuarantined() throws {
        var session = Self.ready()
        var payload = ByteBuffer()
        payload.writeInteger(UInt64(7))
        payload.writeInteger(Int64(1))
        payload.writeInteger(UInt32(1_000_000))  // a million samples announced, none follows
        let action = session.receive(frame: Frame(.batch, payload: payload))
        guard case .quarantine(let quarantined) = action else {
            Issue.record("expected a quarantine, got \(action)")
            return
        }
        #expect(quarantined.seq == 7)
        #expect(quarantined.inLedger)
        #expect(quarantined.payload == payload, "kept whole")
        #expect(quarantined.reason.contains("malformed batch"))
        #expect(session.state == .ready(AgentIdentity(agentID: "a", host: "web-1", bootID: "b")))
        guard case .store(let next, _) = session.receive(frame: Self.batchFrame(seq: 8)) else {
            Issue.record("the batch after the poison one must be stored")
            return
        }
        #expect(next.seq == 8)
    }

    @Test func oversizedBatchIsQuarantinedByItsSeq() {
        var session = Self.ready()
        var prefix = ByteBuffer()
        prefix.writeInteger(UInt64(42))
        prefix.writeRepeatingByte(0, count: 100)
        let action = session.receive(frame: Frame(type: 3, payload: prefix, oversizedLength: 20_000_000))
        guard case .quarantine(let quarantined) = action else {
            Issue.record("expected a quarantine, got \(action)")
            return
        }
        #expect(quarantined.seq == 42)
        #expect(quarantined.reason.contains("20000000"))
        #expect(quarantined.inLedger)
    }

    @Test(
        "a batch too short to name its seq, or any other bad frame, closes",
        arguments: [
            Frame(type: 3, payload: ByteBuffer(bytes: [1, 2, 3])),
            Frame(type: 1, payload: ByteBuffer(bytes: [0, 1]), oversizedLength: 1 << 24),
            Frame(type: 42, payload: ByteBuffer()),
        ])
    func unnamedBadFramesClose(frame: Frame) {
        var session = Self.ready()
        guard case .reject = session.receive(frame: frame) else {
            Issue.record("expected a reject")
            return
        }
        #expect(session.state == .closed)
    }

    @Test("seqs the ledger must not hold are quarantined without a ledger row")
    func implausibleSeqs() {
        for (last, seq, stored) in [
            (UInt64(0), UInt64(1), true), (0, 1 << 32, true), (0, (1 << 32) + 1, false), (100, (1 << 32) + 100, true),
            (0, UInt64(Int64.max) + 1, false), (0, .max, false),
        ] {
            var session = Self.ready(lastStored: last)
            let action = session.receive(frame: Self.batchFrame(seq: seq))
            if stored {
                guard case .store = action else {
                    Issue.record("seq \(seq) after \(last): expected store, got \(action)")
                    continue
                }
            } else {
                guard case .quarantine(let quarantined) = action else {
                    Issue.record("seq \(seq) after \(last): expected quarantine, got \(action)")
                    continue
                }
                #expect(!quarantined.inLedger)
                #expect(session.highestSeq == last, "an implausible seq does not move the session")
            }
        }
    }

    @Test func beforeHelloABatchIsRejectedNotQuarantined() {
        var session = IngestSession()
        guard case .reject(let error) = session.receive(frame: Self.batchFrame(seq: 1)) else {
            Issue.record("expected reject")
            return
        }
        #expect(error.code == WireError.Code.unexpectedMessage.rawValue)
    }
}
