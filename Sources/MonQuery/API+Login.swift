import Hummingbird
import MonCore
import MonQueryKit
import NIOCore

extension API {
    /// Name of the dashboard's session cookie.
    static let sessionCookie = "monquery_session"
    /// Where a login goes when no (valid) `next` is given.
    static let dashboardHome = DashboardPage.Section.advanced.path

    /// `next`: a path under `/ui/` (with its query) to return to after login; anything else
    /// (another site, a scheme, `//host`) is refused so the login cannot redirect away.
    static func nextPath(_ text: String?) throws(ParameterError) -> String {
        guard let text else { return dashboardHome }
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._~%?&=+,:;@!$*()'-".utf8)
        // Canonical like any request target (no `..`, no escapes in the path): the redirect
        // lands exactly where it says, and would pass the daemon's own target check.
        guard text.hasPrefix("/ui/"), !text.hasPrefix("/ui//"), !text.contains("//"), text.utf8.count <= 2000,
            text.utf8.allSatisfy({ allowed.contains($0) }), (try? RequestTarget(parsing: text)) != nil
        else {
            throw ParameterError("next", "must be a path under /ui/ on this server")
        }
        return text
    }

    static let nextPattern = "^/ui/[A-Za-z0-9/._~%?&=+,:;@!$*()'-]{0,1996}$"

    /// `GET /` — a 303 to the dashboard's first page, whoever asks: the target is fixed (no
    /// parameter chooses it) and the page behind it checks the session or token itself.
    func home(_ request: Request) throws -> Response {
        _ = try QueryParameters(request, allowed: [])
        return .redirect(to: Self.dashboardHome, type: .normal)
    }

    /// `GET /ui/login[?next=]` — the login form (or straight on when authentication is off).
    func loginForm(_ request: Request) throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["next"])
        let next = try Self.nextPath(parameters["next"])
        guard authenticator.isEnabled else { return .redirect(to: next, type: .normal) }
        return .html(DashboardPage.login(next: next, message: nil))
    }

    struct LoginForm: Decodable {
        var token: String?
        var next: String?
    }

    /// `POST /ui/login` (form: `token`, `next`) — checks the token with the API's
    /// authenticator; an admin token gets a session cookie and a 303 to `next`, a viewer
    /// token a 403 page, anything else the form again (401). Neither the token nor the
    /// session id is logged.
    func login(_ request: Request) async throws -> Response {
        var request = request
        _ = try QueryParameters(request, allowed: [])
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: 16_384)
        } catch is NIOTooManyBytesError {
            // A 400 like any other bad form, not the 500 Hummingbird makes of this error.
            throw ParameterError("token", "the form is larger than 16 KiB")
        }
        let form: LoginForm
        do {
            form = try URLEncodedFormDecoder().decode(LoginForm.self, from: String(buffer: body))
        } catch {
            throw ParameterError(
                "token", "the body must be a form (application/x-www-form-urlencoded) with token and next")
        }
        let next = try Self.nextPath(form.next.flatMap { $0.isEmpty ? nil : $0 })
        guard authenticator.isEnabled else { return .redirect(to: next, type: .normal) }
        guard let token = form.token else { throw ParameterError("token", "required: an admin API token") }
        guard let match = authenticator.match(token: token) else {
            return .html(DashboardPage.login(next: next, message: "That token is not valid."), status: .unauthorized)
        }
        guard match.role == .admin else {
            return .html(
                DashboardPage.message(
                    "Admin token needed",
                    "The token '\(match.name)' has the viewer role; the dashboard shows logs and query texts and needs an admin token.",
                    link: ("/ui/login" + HTML.query([("next", next)]), "Log in with another token")),
                status: .forbidden)
        }
        let id = sessions.create(tokenName: match.name, nowMs: WallClock.nowMs())
        var response = Response.redirect(to: next, type: .normal)
        response.headers[.setCookie] = sessionCookieHeader(
            value: id, maxAge: sessions.lifetimeSeconds, secure: isSecure(request))
        return response
    }

    /// `POST /ui/logout` — ends the session (removed from memory, not only from the browser).
    func logout(_ request: Request) throws -> Response {
        _ = try QueryParameters(request, allowed: [])
        if let id = request.cookies[Self.sessionCookie]?.value { sessions.remove(id) }
        var response = Response.redirect(to: "/ui/login", type: .normal)
        response.headers[.setCookie] = sessionCookieHeader(value: "", maxAge: 0, secure: isSecure(request))
        return response
    }

    /// `Set-Cookie` of the session: HttpOnly (no script reads it), SameSite=Strict (no other
    /// site's page or form sends it), Path=/ui (the API never receives it).
    func sessionCookieHeader(value: String, maxAge: Int, secure: Bool) -> String {
        "\(Self.sessionCookie)=\(value); Path=/ui; Max-Age=\(maxAge); HttpOnly; SameSite=Strict"
            + (secure ? "; Secure" : "")
    }

    /// The daemon speaks plain HTTP; a TLS proxy in front says so with `X-Forwarded-Proto`
    /// or `Forwarded`. Trusting the header is safe here: it can only add `Secure`.
    func isSecure(_ request: Request) -> Bool {
        if settings.uiSecureCookie { return true }
        for field in request.headers {
            let name = field.name.canonicalName
            let value = field.value.lowercased()
            if name == "x-forwarded-proto",
                value.split(separator: ",").first?.trimmingCharacters(in: .whitespaces) == "https"
            {
                return true
            }
            if name == "forwarded", value.contains("proto=https") { return true }
        }
        return false
    }

    /// `GET /ui/assets/dashboard.css` and `.js` (no token: they hold no data).
    func asset(_ request: Request) throws -> Response {
        _ = try QueryParameters(request, allowed: [])
        let css = request.uri.path.hasSuffix(".css")
        var response = Response(
            status: .ok,
            headers: [
                .contentType: css ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8",
                .cacheControl: "no-cache",
            ],
            body: .init(byteBuffer: ByteBuffer(string: css ? DashboardAssets.css : DashboardAssets.javascript)))
        response.headers[.xContentTypeOptions] = "nosniff"
        return response
    }
}

extension Response {
    /// An HTML page or fragment; no caching, no framing, no inline script (CSP).
    static func html(_ html: HTML, status: HTTPResponse.Status = .ok) -> Response {
        var response = Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: html.text)))
        response.headers[.contentSecurityPolicy] =
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        return response
    }
}
