import MonCore

/// Why the daemon refused an ingest connection or its HELLO; the `reason` label of
/// `mon_query_ingest_refused_total`.
public enum IngestRefusal: String, Sendable, CaseIterable {
    /// The local user is not in `ingest.allowed_users` / `ingest.allowed_groups`.
    case user
    /// A remote agent sent no token, or one that is not in `ingest.tokens`.
    case token
    /// The agent announced a host its token or user may not write.
    case host
    /// The agent id is bound to another host (`ingest_agents`).
    case agent
    /// A frame above the limit before HELLO was answered.
    case frame
    /// `ingest.socket_max_connections` / `ingest.tcp_max_connections` reached.
    case connections
    /// No HELLO within the handshake timeout.
    case handshake
}
