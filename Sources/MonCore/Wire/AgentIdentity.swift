/// Who sent a batch: from the agent's HELLO.
public struct AgentIdentity: Sendable, Hashable {
    public var agentID: String
    public var host: String
    public var bootID: String

    public init(agentID: String, host: String, bootID: String) {
        self.agentID = agentID
        self.host = host
        self.bootID = bootID
    }
}
