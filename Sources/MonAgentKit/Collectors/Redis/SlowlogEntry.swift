import MonCore

/// One entry of `SLOWLOG GET`.
public struct SlowlogEntry: Sendable, Hashable {
    /// Unique, increasing id: entries with an id already seen are not new.
    public var id: Int64
    /// When the command ran, Unix time in seconds.
    public var timestamp: Int64
    /// Execution time in microseconds (not counting I/O).
    public var durationMicros: Int64
    /// The command and its arguments, as Redis logged them: it keeps at most 32 arguments
    /// (the last one then reads `... (N more arguments)`) and shortens long ones. Bytes
    /// that are not UTF-8 become U+FFFD.
    public var arguments: [String]
    /// `ip:port` or `/path/redis.sock:0` of the client; empty before Redis 4.0.
    public var clientAddress: String
    /// The `CLIENT SETNAME` of the client; empty when unnamed or before Redis 4.0.
    public var clientName: String

    public init(
        id: Int64,
        timestamp: Int64,
        durationMicros: Int64,
        arguments: [String],
        clientAddress: String = "",
        clientName: String = ""
    ) {
        self.id = id
        self.timestamp = timestamp
        self.durationMicros = durationMicros
        self.arguments = arguments
        self.clientAddress = clientAddress
        self.clientName = clientName
    }

    /// The command name, uppercased: `GET`, `CLIENT`; empty when there are no arguments.
    public var command: String { arguments.first?.uppercased() ?? "" }
}
