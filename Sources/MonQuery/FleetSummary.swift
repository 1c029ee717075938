import Hummingbird
import MonCore
import MonQueryKit
import Synchronization

/// The all-hosts summary of a fleet, rendered once for every caller of a moment.
///
/// Building and encoding every host's cards grows with the fleet (`bench/run fleet`: 8 ms at
/// 200 hosts, 28 ms at 600, a body of ~630 bytes per host), and the dashboard of every operator
/// asks for it. From `minHosts` hosts on, the rendered body is reused: fresh for 10 × as long
/// as it took to render (at most `maxAgeMs`), then served at most `maxAgeMs` longer while one
/// render runs in the background, so no caller waits for a render once one exists. The view of
/// the whole fleet is then at most `2 × maxAgeMs` (1 s) behind the last-value cache, which the
/// agents refresh every 5 s. (With 250 ms, `bench/run fleet` at 500 hosts still saw callers
/// wait: a render slowed by the rollups on the other core outlived the stale window.) A fleet below `minHosts` hosts is rendered on every call, exactly as fresh as the
/// per-host summary (which is never reused).
final class FleetSummary: Sendable {
    /// From how many hosts (in the last render) the body is reused.
    static let minHosts = 50
    static let maxAgeMs: Int64 = 500

    private let bodies = ShortLivedCache<Int, ByteBuffer>(ttlMs: 0, staleMs: maxAgeMs, costFactor: 10)
    private let lastHosts = Atomic<Int>(0)

    /// The last render had at least `minHosts` hosts.
    var isFleet: Bool { lastHosts.load(ordering: .relaxed) >= Self.minHosts }

    /// Records a render's host count (a render that did not go through `body`).
    func rendered(hosts: Int) { lastHosts.store(hosts, ordering: .relaxed) }

    /// The kept body, or `render`'s (the body and its host count).
    func body(
        nowMs: Int64, render: @escaping @Sendable () async throws -> (ByteBuffer, Int)
    ) async throws -> ByteBuffer {
        try await bodies.value(0, nowMs: nowMs) { [self] in
            let (body, hosts) = try await render()
            rendered(hosts: hosts)
            return body
        }
    }
}
