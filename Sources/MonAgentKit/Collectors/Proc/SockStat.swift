import MonCore

/// The parts of `/proc/net/sockstat` the network collector reports.
public struct SockStat: Sendable, Hashable {
    /// `sockets: used N`, all socket types.
    public var socketsUsed: UInt64
    /// `TCP:` values by name (`inuse`, `orphan`, `tw`, `alloc`, `mem`); empty when the line is absent.
    public var tcp: [String: UInt64]
    /// `UDP:` values by name (`inuse`, `mem`).
    public var udp: [String: UInt64]

    public init(socketsUsed: UInt64, tcp: [String: UInt64] = [:], udp: [String: UInt64] = [:]) {
        self.socketsUsed = socketsUsed
        self.tcp = tcp
        self.udp = udp
    }
}
