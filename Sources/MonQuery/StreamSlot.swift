import Hummingbird
import MonCore
import MonQueryKit

/// One of the `http.max_stream_subscribers` live-stream slots, held by a Server-Sent Events
/// response for as long as it exists: released when the last reference goes (the stream
/// ended, the client left, or the handler failed before streaming), so a slot cannot leak.
final class StreamSlot: Sendable {
    private let stats: HTTPLimitStats

    private init(stats: HTTPLimitStats) { self.stats = stats }

    /// A slot, or 503 with `Retry-After` (counted) when all are taken.
    static func acquire(_ stats: HTTPLimitStats, limit: Int) throws -> StreamSlot {
        guard stats.acquireStream(limit: limit) else {
            stats.refuse(.maxStreamSubscribers)
            throw APIError(
                status: .serviceUnavailable, code: "too_many_streams",
                message: "\(limit) live streams are open (http.max_stream_subscribers); retry later",
                headers: [.retryAfter: "5"])
        }
        return StreamSlot(stats: stats)
    }

    deinit { stats.releaseStream() }
}
