import MonCore

/// Whether a request may reach a route, from the route's `RouteAccess` and the credential the
/// request carries: a pure decision, made where the route is dispatched.
public struct AccessPolicy: Sendable, Equatable {
    /// Tokens are configured (`auth.*_tokens`); without them everything is open (loopback only).
    public var authEnabled: Bool
    /// `prometheus.require_token`.
    public var metricsRequireToken: Bool

    public init(authEnabled: Bool, metricsRequireToken: Bool) {
        self.authEnabled = authEnabled
        self.metricsRequireToken = metricsRequireToken
    }

    /// What the request presents.
    public enum Credential: Sendable, Equatable {
        /// No `Authorization: Bearer` header (and no session cookie).
        case none
        /// A bearer token that matches no configured hash.
        case invalidToken
        /// A valid bearer token and its role.
        case token(Authenticator.Role)
        /// A live dashboard session (an admin logged in at `/ui/login`); only `/ui` sees it.
        case session
    }

    public enum Decision: Sendable, Equatable {
        case allow
        /// 401 (API) with why.
        case unauthorized(missing: Bool)
        /// 403: the role is too low.
        case forbidden(needs: Authenticator.Role)
        /// A dashboard page without a session: 303 to the login form.
        case loginRequired
    }

    public func decide(_ access: RouteAccess, _ credential: Credential) -> Decision {
        guard authEnabled, !access.isOpen(metricsRequireToken: metricsRequireToken) else { return .allow }
        switch (access, credential) {
        case (.open, _), (.login, _):
            return .allow
        case (.session, .session), (.session, .token(.admin)):
            return .allow
        case (.session, .token(.viewer)):
            return .forbidden(needs: .admin)
        case (.session, .none), (.session, .invalidToken):
            return .loginRequired
        case (.admin, .token(.admin)), (.viewer, .token), (.scrape, .token):
            return .allow
        case (.admin, .token(.viewer)):
            return .forbidden(needs: .admin)
        case (_, .invalidToken):
            return .unauthorized(missing: false)
        case (_, .none), (_, .session):
            return .unauthorized(missing: true)
        }
    }
}
