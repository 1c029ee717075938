import Hummingbird
import MonCore
import MonQueryKit

/// The one place where request targets are checked, before routing and authorization: a
/// target that is not canonical (`RequestTarget`: empty or dot segments, `%` escapes, control
/// or non-ASCII bytes, not origin form) gets 400, an over-long one 414, both with the JSON
/// error naming the problem, counted in `mon_query_http_refused_total`. Behind it the router
/// matches the path exactly as sent.
struct RequestTargetMiddleware: RouterMiddleware {
    typealias Context = DaemonRequestContext
    let stats: HTTPLimitStats

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            _ = try RequestTarget.check(Array((request.head.path ?? "").utf8))
        } catch {
            stats.refuse(error.reason == .tooLong ? .targetTooLong : .nonCanonicalTarget)
            throw APIError(
                status: .init(code: error.status), code: error.reason.rawValue, message: error.message)
        }
        return try await next(request, context)
    }
}
