import Testing

@testable import MonCore
@testable import MonQueryKit

@Suite struct IngestSessionTests {
    private static let hello = WireMessage.Hello(agentID: "agent-1", host: "web-1", bootID: "boot-a")
    private static let identity = AgentIdentity(agentID: "agent-1", host: "web-1", bootID: "boot-a")
    private static let batch = Batch(seq: 1, createdMs: 10, samples: [Sample("m", value: 1, timestampMs: 5)])

    /// The error code of a reject action, or nil for any other action.
    private static func rejectCode(_ action: IngestSession.Action) -> WireError.Code? {
        guard case .reject(let error) = action else { return nil }
        return WireError.Code(rawValue: error.code)
    }

    @Test func startsAwaitingHello() {
        #expect(IngestSession().state == .awaitingHello)
    }

    @Test func helloIsWelcomedWithTheAgentIdentity() {
        var session = IngestSession()
        #expect(session.receive(.hello(Self.hello)) == .welcome(Self.identity))
        #expect(session.state == .ready(Self.identity))
    }

    static let notHello: [WireMessage] = [
        .batch(batch),
        .welcome(.init(lastAckedSeq: 0)),
        .ack(seq: 1),
        .error(WireError(.malformed, "x")),
    ]

    @Test("Anything before HELLO is rejected and closes", arguments: notHello)
    func messageBeforeHelloIsRejected(message: WireMessage) {
        var session = IngestSession()
        let action = session.receive(message)
        #expect(Self.rejectCode(action) == .unexpectedMessage)
        #expect(session.state == .closed)
    }

    @Test("HELLO of protocol 1 (previous release) and 2: welcomed; 2 carries interval and version")
    func acceptedProtocolVersions() {
        var old = IngestSession()
        var hello = Self.hello
        hello.protocolVersion = 1
        guard case .welcome(let agent) = old.receive(.hello(hello)) else {
            Issue.record("a protocol 1 HELLO is refused")
            return
        }
        #expect(agent.version == nil && agent.intervalMs == nil)
        var current = IngestSession()
        hello = Self.hello
        hello.intervalMs = 5000
        hello.agentVersion = "0.1.0"
        guard case .welcome(let declared) = current.receive(.hello(hello)) else {
            Issue.record("a protocol 2 HELLO is refused")
            return
        }
        #expect(declared.version == "0.1.0" && declared.intervalMs == 5000)
    }

    @Test("HELLO with an interval over a day or a bad version string is malformed, naming the field")
    func implausibleHelloExtras() {
        var hello = Self.hello
        hello.intervalMs = 86_400_001
        var session = IngestSession()
        var action = session.receive(.hello(hello))
        #expect(Self.rejectCode(action) == .malformed)
        if case .reject(let error) = action { #expect(error.message.contains("hello.interval_ms")) }
        for bad in ["bad\nversion", String(repeating: "v", count: IngestSession.maxIdentityBytes + 1)] {
            hello = Self.hello
            hello.agentVersion = bad
            session = IngestSession()
            action = session.receive(.hello(hello))
            #expect(Self.rejectCode(action) == .malformed)
            if case .reject(let error) = action { #expect(error.message.contains("hello.agent_version")) }
        }
    }

    @Test("Protocol versions other than this build's are refused", arguments: [0, 3, UInt16.max])
    func wrongProtocolVersionIsUnsupported(version: UInt16) {
        var session = IngestSession()
        var hello = Self.hello
        hello.protocolVersion = version
        let action = session.receive(.hello(hello))
        #expect(Self.rejectCode(action) == .unsupportedVersion)
        guard case .reject(let error) = action else { return }
        #expect(error.message.contains("\(version)"))
        #expect(session.state == .closed)
    }

    static let emptyFields: [WireMessage.Hello] = [
        .init(agentID: "", host: "h", bootID: "b"),
        .init(agentID: "a", host: "", bootID: "b"),
        .init(agentID: "a", host: "h", bootID: ""),
    ]

    @Test("HELLO with an empty field is malformed", arguments: emptyFields)
    func emptyIdentityFieldIsMalformed(hello: WireMessage.Hello) {
        var session = IngestSession()
        #expect(Self.rejectCode(session.receive(.hello(hello))) == .malformed)
        #expect(session.state == .closed)
    }

    @Test func batchesAfterHelloAreStoredWithTheIdentity() {
        var session = IngestSession()
        _ = session.receive(.hello(Self.hello))
        let second = Batch(seq: 2, createdMs: 20, samples: [])
        #expect(session.receive(.batch(Self.batch)) == .store(Self.batch, Self.identity))
        #expect(session.receive(.batch(second)) == .store(second, Self.identity))
        #expect(session.state == .ready(Self.identity))
    }

    @Test func secondHelloIsRejected() {
        var session = IngestSession()
        _ = session.receive(.hello(Self.hello))
        let other = WireMessage.Hello(agentID: "agent-2", host: "web-2", bootID: "boot-b")
        #expect(Self.rejectCode(session.receive(.hello(other))) == .unexpectedMessage)
        #expect(session.state == .closed)
    }

    @Test("Only BATCH is accepted after HELLO", arguments: notHello.dropFirst())
    func nonBatchAfterHelloIsRejected(message: WireMessage) {
        var session = IngestSession()
        _ = session.receive(.hello(Self.hello))
        #expect(Self.rejectCode(session.receive(message)) == .unexpectedMessage)
        #expect(session.state == .closed)
    }

    @Test func closedSessionRejectsEverythingIncludingAValidHello() {
        var session = IngestSession()
        _ = session.receive(.ack(seq: 1))
        #expect(session.state == .closed)
        #expect(Self.rejectCode(session.receive(.hello(Self.hello))) == .unexpectedMessage)
        #expect(Self.rejectCode(session.receive(.batch(Self.batch))) == .unexpectedMessage)
        #expect(session.state == .closed)
    }
}
