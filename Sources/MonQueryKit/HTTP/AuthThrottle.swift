import MonCore
import Synchronization

/// The daemon's shared `FailureThrottle` and its counters for `/metrics`:
/// `mon_query_auth_failures_total{kind}`, `mon_query_auth_throttled_total`,
/// `mon_query_auth_throttle_addresses`, `mon_query_auth_throttle_evictions_total`.
public final class AuthThrottle: Sendable {
    /// What failed.
    public enum Kind: String, Sendable, CaseIterable {
        /// An `Authorization: Bearer` token that matches no configured hash.
        case bearer
        /// A token posted to `/ui/login` that matches none.
        case login
    }

    struct State {
        var throttle: FailureThrottle
        var failures: [Kind: Int] = [:]
        var throttled = 0
    }

    private let state: Mutex<State>
    /// The time the router's gate asks about (the wall clock; a test fixes it, so a slow run
    /// does not give failures back).
    public let clock: @Sendable () -> Int64

    /// `limit` failures per minute per address (`auth.max_failures_per_minute`), at most
    /// `capacity` addresses tracked (`auth.throttle_max_addresses`).
    public init(limit: Int = 10, capacity: Int = 10_000, clock: @escaping @Sendable () -> Int64 = WallClock.nowMs) {
        state = Mutex(State(throttle: FailureThrottle(limit: limit, capacity: capacity)))
        self.clock = clock
    }

    /// Seconds the address must wait, or nil; a non-nil answer is counted as a throttled request.
    public func check(_ address: String, nowMs: Int64) -> Int? {
        state.withLock { state in
            let wait = state.throttle.retryAfter(address, nowMs: nowMs)
            if wait != nil { state.throttled += 1 }
            return wait
        }
    }

    /// Counts a failure of `address`.
    public func recordFailure(_ address: String, kind: Kind, nowMs: Int64) {
        state.withLock { state in
            state.failures[kind, default: 0] += 1
            state.throttle.recordFailure(address, nowMs: nowMs)
        }
    }

    public func failures(_ kind: Kind) -> Int { state.withLock { $0.failures[kind] ?? 0 } }
    public var throttledTotal: Int { state.withLock { $0.throttled } }

    public func render(into out: inout PrometheusText) {
        let snapshot = state.withLock { $0 }
        out.family("mon_query_auth_failures_total", type: .counter)
        for kind in Kind.allCases {
            out.sample("mon_query_auth_failures_total", [("kind", kind.rawValue)], Double(snapshot.failures[kind] ?? 0))
        }
        out.family("mon_query_auth_throttled_total", type: .counter)
        out.sample("mon_query_auth_throttled_total", [], Double(snapshot.throttled))
        out.family("mon_query_auth_throttle_addresses", type: .gauge)
        out.sample("mon_query_auth_throttle_addresses", [], Double(snapshot.throttle.trackedAddresses))
        out.family("mon_query_auth_throttle_evictions_total", type: .counter)
        out.sample("mon_query_auth_throttle_evictions_total", [], Double(snapshot.throttle.evictions))
    }
}
