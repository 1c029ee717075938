import Foundation
import MonCore

/// What a remote source produced in one cycle.
public struct SourceOutput: Sendable {
    public var samples: [Sample] = []
    public var events: [Event] = []

    public init() {}
}

/// A source that talks to a server (PostgreSQL, Redis) from its own thread; it never
/// throws: failures are reported as samples (`mon_<source>_up 0`) and log lines.
public protocol RemoteCollector: Actor {
    func collect(timestampMs: Int64) -> SourceOutput
}
