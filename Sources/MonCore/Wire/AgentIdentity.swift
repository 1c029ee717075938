/// Who sent a batch: from the agent's HELLO.
public struct AgentIdentity: Sendable, Hashable {
    public var agentID: String
    public var host: String
    public var bootID: String
    /// The agent's release, as it said in HELLO (protocol 2; nil from older agents).
    public var version: String?
    /// The agent's collection interval in milliseconds, as it said in HELLO (protocol 2).
    public var intervalMs: Int64?

    public init(agentID: String, host: String, bootID: String, version: String? = nil, intervalMs: Int64? = nil) {
        self.agentID = agentID
        self.host = host
        self.bootID = bootID
        self.version = version
        self.intervalMs = intervalMs
    }
}
