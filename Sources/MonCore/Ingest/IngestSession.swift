/// The daemon's side of one agent connection as a pure state machine.
///
/// The handler feeds it decoded messages and performs the returned action;
/// no I/O happens here, so every transition is tested without sockets.
public struct IngestSession: Sendable {
    public enum State: Sendable, Equatable {
        case awaitingHello
        case ready(AgentIdentity)
        case closed
    }

    public enum Action: Sendable, Equatable {
        /// Look up the last stored seq for this agent and answer WELCOME.
        case welcome(AgentIdentity)
        /// Store the batch, then ACK it (only after commit).
        case store(Batch, AgentIdentity)
        /// Send this error frame and close the connection.
        case reject(WireError)
    }

    public private(set) var state: State = .awaitingHello
    /// Tokens a remote agent must present in HELLO; nil on the Unix socket.
    let tokens: IngestTokens?

    public init(tokens: IngestTokens? = nil) { self.tokens = tokens }

    public mutating func receive(_ message: WireMessage) -> Action {
        switch (state, message) {
        case (.awaitingHello, .hello(let hello)):
            guard hello.protocolVersion == WireLimits.protocolVersion else {
                return fail(
                    .unsupportedVersion,
                    "protocol version \(hello.protocolVersion) not supported; this daemon speaks \(WireLimits.protocolVersion)"
                )
            }
            guard !hello.agentID.isEmpty, !hello.host.isEmpty, !hello.bootID.isEmpty else {
                return fail(.malformed, "hello needs a non-empty agent_id, host and boot_id")
            }
            if let tokens {
                guard let token = hello.token, !token.isEmpty else {
                    return fail(.forbidden, "a remote agent must send its ingest token (ingest.token_file)")
                }
                guard tokens.name(of: token) != nil else {
                    return fail(.forbidden, "the ingest token is not one of ingest.tokens")
                }
            }
            let agent = AgentIdentity(agentID: hello.agentID, host: hello.host, bootID: hello.bootID)
            state = .ready(agent)
            return .welcome(agent)
        case (.awaitingHello, _):
            return fail(.unexpectedMessage, "expected HELLO as the first message")
        case (.ready(let agent), .batch(let batch)):
            return .store(batch, agent)
        case (.ready, _):
            return fail(.unexpectedMessage, "only BATCH is accepted after HELLO")
        case (.closed, _):
            return fail(.unexpectedMessage, "connection is closing")
        }
    }

    private mutating func fail(_ code: WireError.Code, _ message: String) -> Action {
        state = .closed
        return .reject(WireError(code, message))
    }
}
