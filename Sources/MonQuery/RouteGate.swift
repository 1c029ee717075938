import Hummingbird
import MonCore
import MonQueryKit

/// Enforces each route's `RouteAccess` where the route is dispatched (`buildRouter` wraps
/// every handler in `pass`), so a path the router accepts is always checked by the rule of
/// the route it matched — never by a prefix of the raw path.
///
/// Credentials are throttled per client address: a request presenting one (a bearer token,
/// a login form) from an address with too many recent failures is answered 429 with
/// `Retry-After` before its credential is even looked at (no oracle while throttled).
struct RouteGate: Sendable {
    /// The tokens in force (a configuration reload replaces them; turning authentication on
    /// or off needs a restart, so `policy` holds).
    let tokens: LiveAuthenticator
    var authenticator: Authenticator { tokens.current }
    let sessions: UISessionStore
    let policy: AccessPolicy
    let throttle: AuthThrottle

    init(tokens: LiveAuthenticator, sessions: UISessionStore, metricsRequireToken: Bool, throttle: AuthThrottle) {
        self.tokens = tokens
        self.sessions = sessions
        self.throttle = throttle
        policy = AccessPolicy(authEnabled: tokens.current.isEnabled, metricsRequireToken: metricsRequireToken)
    }

    func pass(
        _ route: Route, _ request: Request, _ context: DaemonRequestContext,
        next: () async throws -> Response
    ) async throws -> Response {
        guard authenticator.isEnabled else { return try await next() }
        let access = route.access
        let bearer = request.headers[.authorization]
        let checksCredential = bearer != nil || access == .login
        let nowMs = throttle.clock()
        if checksCredential, let wait = throttle.check(context.clientAddress, nowMs: nowMs) {
            return throttled(route, retryAfter: wait)
        }
        let credential = self.credential(access, request, bearer: bearer)
        if credential == .invalidToken {
            throttle.recordFailure(context.clientAddress, kind: .bearer, nowMs: nowMs)
        }
        switch policy.decide(access, credential) {
        case .allow:
            let response = try await next()
            if access == .login && response.status == .unauthorized {
                throttle.recordFailure(context.clientAddress, kind: .login, nowMs: nowMs)
            }
            return response
        case .unauthorized(let missing):
            var response = try APIError(
                status: .unauthorized, code: "unauthorized",
                message: missing
                    ? "this endpoint needs an 'Authorization: Bearer <token>' header" : "the token is not valid"
            ).response(from: request, context: context)
            response.headers[.wwwAuthenticate] = "Bearer realm=\"monquery\""
            return response
        case .forbidden:
            if access == .session {
                return .html(
                    DashboardPage.message(
                        "Admin token needed", "The dashboard needs an admin token; this one has the viewer role.",
                        link: nil),
                    status: .forbidden)
            }
            throw APIError(status: .forbidden, code: "forbidden", message: "this endpoint needs the admin role")
        case .loginRequired:
            let target = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            let back = (try? API.nextPath(target)) ?? API.dashboardHome
            return .redirect(to: "/ui/login" + HTML.query([("next", back)]), type: .normal)
        }
    }

    /// The credential of the request as the route sees it: the session cookie counts only on
    /// dashboard routes (it is `Path=/ui`), a bearer token everywhere.
    func credential(_ access: RouteAccess, _ request: Request, bearer: String?) -> AccessPolicy.Credential {
        if access == .session, let id = request.cookies[API.sessionCookie]?.value,
            sessions.session(id, nowMs: WallClock.nowMs()) != nil
        {
            return .session
        }
        guard bearer != nil else { return .none }
        switch authenticator.role(authorization: bearer) {
        case .success(let role): return .token(role)
        case .failure(.invalid): return .invalidToken
        case .failure(.missing): return .none
        }
    }

    /// 429 with `Retry-After`: JSON for the API, a page for the dashboard.
    func throttled(_ route: Route, retryAfter: Int) -> Response {
        let message = "too many failed credentials from this address; retry in \(retryAfter) s"
        var response: Response
        if route.path.hasPrefix("/ui/") {
            response = .html(
                DashboardPage.message(
                    "Too many attempts", "Too many failed logins from this address; retry in \(retryAfter) s.",
                    link: nil),
                status: .tooManyRequests)
        } else {
            response = .json(
                .object([("error", .object([("code", "throttled"), ("message", .string(message))]))]),
                status: .tooManyRequests)
        }
        response.headers[.retryAfter] = String(retryAfter)
        return response
    }
}
