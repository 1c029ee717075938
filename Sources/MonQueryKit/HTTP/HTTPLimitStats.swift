import MonCore
import Synchronization

/// Counters of the HTTP server's limits for `/metrics`: open connections and live streams
/// (gauges), requests and connections refused by a limit (`mon_query_http_refused_total{reason}`)
/// and keep-alive connections closed for idleness.
public final class HTTPLimitStats: Sendable {
    /// Why a request or connection was refused.
    public enum Reason: String, Sendable, CaseIterable {
        /// Over `http.max_connections`: 503 + `Retry-After`, then closed.
        case maxConnections = "max_connections"
        /// Over `http.max_stream_subscribers`: 503 + `Retry-After`.
        case maxStreamSubscribers = "max_stream_subscribers"
        /// The request line and headers over `http.max_header_bytes`: 431.
        case headerTooLarge = "header_too_large"
        /// A body over `http.max_body_bytes`: 413 (or the connection closed mid-body).
        case bodyTooLarge = "body_too_large"
        /// A request target that is not canonical (`RequestTarget`): 400.
        case nonCanonicalTarget = "non_canonical_target"
        /// A request target over `RequestTarget.maxPathBytes` / `maxTargetBytes`: 414.
        case targetTooLong = "target_too_long"
        /// Bytes the HTTP parser refused (not HTTP/1.1): 400 and closed.
        case malformedRequest = "malformed_request"
    }

    private let connections = Atomic<Int>(0)
    private let streams = Atomic<Int>(0)
    private let idleClosed = Atomic<Int>(0)
    private let refused = Mutex<[Reason: Int]>([:])

    public init() {}

    /// One more open connection; the count including it.
    public func connectionOpened() -> Int { connections.add(1, ordering: .relaxed).newValue }
    public func connectionClosed() { connections.subtract(1, ordering: .relaxed) }
    public var openConnections: Int { connections.load(ordering: .relaxed) }

    /// Takes a live-stream slot if fewer than `limit` are taken.
    public func acquireStream(limit: Int) -> Bool {
        while true {
            let current = streams.load(ordering: .relaxed)
            guard current < limit else { return false }
            if streams.compareExchange(expected: current, desired: current + 1, ordering: .relaxed).exchanged {
                return true
            }
        }
    }

    public func releaseStream() { streams.subtract(1, ordering: .relaxed) }
    public var openStreams: Int { streams.load(ordering: .relaxed) }

    public func refuse(_ reason: Reason) { refused.withLock { $0[reason, default: 0] += 1 } }
    public func refusals(_ reason: Reason) -> Int { refused.withLock { $0[reason] ?? 0 } }

    public func closedIdle() { idleClosed.add(1, ordering: .relaxed) }
    public var idleClosedTotal: Int { idleClosed.load(ordering: .relaxed) }

    public func render(into out: inout PrometheusText) {
        out.family("mon_query_http_connections", type: .gauge)
        out.sample("mon_query_http_connections", [], Double(openConnections))
        out.family("mon_query_http_stream_subscribers", type: .gauge)
        out.sample("mon_query_http_stream_subscribers", [], Double(openStreams))
        let counts = refused.withLock { $0 }
        out.family("mon_query_http_refused_total", type: .counter)
        for reason in Reason.allCases {
            out.sample("mon_query_http_refused_total", [("reason", reason.rawValue)], Double(counts[reason] ?? 0))
        }
        out.family("mon_query_http_idle_closed_total", type: .counter)
        out.sample("mon_query_http_idle_closed_total", [], Double(idleClosedTotal))
    }
}
