import Hummingbird
import Synchronization
import Testing

@testable import MonQuery

/// `FleetSummary`: the all-hosts body is reused only once a render had `minHosts` hosts, never
/// served older than its bound, and a fleet that shrank is rendered on every call again.
@Suite struct FleetSummaryTests {
    final class Renders: Sendable {
        let count = Atomic<Int>(0)
        let hosts: Int
        init(hosts: Int) { self.hosts = hosts }
        func render() -> (ByteBuffer, Int) {
            let call = count.add(1, ordering: .relaxed).newValue
            return (ByteBuffer(string: "render \(call)"), hosts)
        }
    }

    @Test("a small fleet is not a fleet: every call renders")
    func smallFleet() {
        let fleet = FleetSummary()
        #expect(!fleet.isFleet, "nothing rendered yet")
        fleet.rendered(hosts: FleetSummary.minHosts - 1)
        #expect(!fleet.isFleet)
        fleet.rendered(hosts: FleetSummary.minHosts)
        #expect(fleet.isFleet)
        fleet.rendered(hosts: 3)
        #expect(!fleet.isFleet, "a fleet that shrank is rendered on every call again")
    }

    @Test("a fleet's body is shared by the callers of a moment, and never served past its bound")
    func sharedWithinBound() async throws {
        let fleet = FleetSummary()
        let renders = Renders(hosts: 300)
        let first = try await fleet.body(nowMs: 10_000) { renders.render() }
        #expect(String(buffer: first) == "render 1")
        #expect(fleet.isFleet, "the render's host count is recorded")
        // The same moment: the kept body (a refresh may start behind it, but nobody waits for it).
        let again = try await fleet.body(nowMs: 10_000) { renders.render() }
        #expect(String(buffer: again) == "render 1")
        // Long after every bound (fresh at most maxAgeMs, then stale at most maxAgeMs more): a
        // caller gets a body rendered for it, never the old one.
        let later = try await fleet.body(nowMs: 10_000 + 2 * FleetSummary.maxAgeMs + 1) { renders.render() }
        #expect(String(buffer: later) != "render 1")
    }

    @Test("a render that fails is not kept and reaches its caller")
    func failure() async throws {
        struct Failed: Error {}
        let fleet = FleetSummary()
        await #expect(throws: Failed.self) {
            _ = try await fleet.body(nowMs: 1_000) { throw Failed() }
        }
        let renders = Renders(hosts: 60)
        let body = try await fleet.body(nowMs: 1_000) { renders.render() }
        #expect(String(buffer: body) == "render 1")
    }
}
