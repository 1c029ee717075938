import NIOCore
import NIOEmbedded
import Testing

@testable import MonAgentKit

/// The OTLP listener's connection bound: idle connections (no request begun) give their
/// place to new ones, the longest idle first; busy ones never do (issue 23's hostile pass).
struct OTLPConnectionLimitTests {
    /// Admitted with no connection evicted.
    static func alone(_ admission: ConnectionLimit.Admission) -> Bool {
        if case .admitted(.none) = admission { true } else { false }
    }

    /// The connection evicted to admit this one.
    static func evicted(_ admission: ConnectionLimit.Admission) -> (any Channel)? {
        if case .admitted(let evicted?) = admission { evicted } else { nil }
    }

    static func refused(_ admission: ConnectionLimit.Admission) -> Bool {
        if case .refused = admission { true } else { false }
    }

    @Test("full of busy connections: a new one is refused; full with idle ones: the longest idle is evicted")
    func evictsTheLongestIdle() throws {
        let limit = ConnectionLimit(max: 2)
        let (a, b, c, d) = (EmbeddedChannel(), EmbeddedChannel(), EmbeddedChannel(), EmbeddedChannel())
        #expect(Self.alone(limit.open(a)))
        #expect(Self.alone(limit.open(b)))
        // Both are reading requests: nobody makes room.
        #expect(Self.refused(limit.open(c)))

        limit.idle(b)
        limit.idle(a)
        // b has waited longest.
        #expect(Self.evicted(limit.open(c)) === b)
        #expect(limit.openCount == 2)
        // The evicted one's close frees nothing: its place went to c.
        limit.close(b)
        #expect(limit.openCount == 2)

        // a starts a request: no longer evictable; c never went idle.
        limit.busy(a)
        #expect(Self.refused(limit.open(d)))
        limit.idle(c)
        #expect(Self.evicted(limit.open(d)) === c)
        limit.close(c)
        // Ordinary closes free their places.
        limit.close(a)
        limit.close(d)
        #expect(limit.openCount == 0)
        #expect(Self.alone(limit.open(a)))
    }
}
