import Hummingbird
import MonCore
import MonQueryKit

/// Answers of the database-backed GET routes (charts, tables, dashboard pages), kept for
/// `http.response_cache_ms` (0.5 s by default; 0 = off) and computed once for every caller who
/// asks the same thing meanwhile.
///
/// A dashboard open in several browsers, or one page whose fragments and polling ask the
/// same questions, then costs one database query per question every 0.5 s instead of one per
/// request. The default stays well inside the freshness promise (a batch visible in the API
/// within 1 s of its creation): at 2 s, `bench/run fleet` measured 1.1 s median, 2.1 s p99
/// from batch to `system/cpu`. The key is
/// the whole request target plus the caller's credentials as sent (`Authorization`,
/// `Cookie`), so one caller's answer is never served to another (an admin's statements
/// with their plans never reach a viewer). Only 200 answers of at most `maxBodyBytes` are
/// kept, at most `maxEntries` at once (beyond that, requests are computed uncached);
/// errors are never kept.
final class ResponseCache: Sendable {
    /// The routes whose answers are kept: they read PostgreSQL and depend only on the target.
    static let paths: Set<String> = [
        "/api/monitoring/compare", "/api/monitoring/metrics",
        "/api/monitoring/postgres/connections", "/api/monitoring/postgres/indexes",
        "/api/monitoring/postgres/pool", "/api/monitoring/postgres/slow_queries",
        "/api/monitoring/postgres/slow_queries/timeline", "/api/monitoring/postgres/status",
        "/api/monitoring/postgres/tables", "/api/monitoring/redis/commands", "/api/monitoring/redis/keys",
        "/api/monitoring/redis/slowlog", "/api/monitoring/redis/stats", "/api/monitoring/redis/status",
        "/api/monitoring/redis/top_keys",
        "/api/monitoring/system/cpu", "/api/monitoring/system/disk", "/api/monitoring/system/memory",
        "/api/monitoring/system/network", "/ui/monitoring/advanced", "/ui/monitoring/api",
        "/ui/monitoring/postgres", "/ui/monitoring/redis",
    ]
    static let maxBodyBytes = 1 << 20
    static let maxEntries = 256

    struct Key: Hashable, Sendable {
        var target: String
        var authorization: String?
        var cookie: String?
    }

    /// A kept answer. Every route of `paths` answers with one buffer (`.json`, `.html`), which
    /// a `ResponseBody` writes anew for every caller.
    struct Kept: Sendable {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: ResponseBody
    }

    /// An answer that is not kept (not a 200, too large), handed to the callers who waited for it.
    struct Uncacheable: Error {
        var response: Response
    }

    private let cache: ShortLivedCache<Key, Kept>

    init(ttlMs: Int64) { cache = ShortLivedCache(ttlMs: ttlMs) }

    /// `compute`'s answer for `request`, or the one computed for the same target and
    /// credentials less than the cache's lifetime ago.
    func response(
        _ request: Request, route: String, compute: @escaping @Sendable () async throws -> Response
    ) async throws -> Response {
        guard request.method == .get, Self.paths.contains(route), cache.count < Self.maxEntries else {
            return try await compute()
        }
        let key = Key(
            target: request.uri.description, authorization: request.headers[.authorization],
            cookie: request.headers[.cookie])
        let kept: Kept
        do {
            kept = try await cache.value(key, nowMs: WallClock.nowMs()) {
                let response = try await compute()
                guard response.status == .ok, (response.body.contentLength ?? .max) <= Self.maxBodyBytes else {
                    throw Uncacheable(response: response)
                }
                return Kept(status: response.status, headers: response.headers, body: response.body)
            }
        } catch let uncacheable as Uncacheable {
            return uncacheable.response
        }
        return Response(status: kept.status, headers: kept.headers, body: kept.body)
    }
}
