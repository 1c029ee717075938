import Foundation
import MonCore

/// How monquery proves who it is to an Alertmanager or a webhook: a bearer token or basic
/// auth, each secret read from a file at start. The secrets go into the `Authorization`
/// header only: never logged, never in an error message, never in `check-config`.
public enum NotifierAuth: Sendable, Equatable {
    case none
    case bearer(String)
    case basic(username: String, password: String)

    /// The `Authorization` header's value.
    public var header: String? {
        switch self {
        case .none: nil
        case .bearer(let token): "Bearer \(token)"
        case .basic(let username, let password): "Basic \(Data("\(username):\(password)".utf8).base64EncodedString())"
        }
    }

    /// What `check-config` says: the kind, never the secret.
    public var kind: String {
        switch self {
        case .none: "none"
        case .bearer: "bearer token"
        case .basic(let username, _): "basic auth as \(username)"
        }
    }

    /// `<bearerKey>` (a file holding the token), or `<basicKey>.username` with
    /// `<basicKey>.password_file`; not both.
    static func load(_ source: ConfigSource, bearerKey: String, basicKey: String?) throws -> NotifierAuth {
        let token = try secret(source, bearerKey)
        var basic: NotifierAuth = .none
        if let basicKey {
            let username = source.string("\(basicKey).username", default: "")
            let password = try secret(source, "\(basicKey).password_file")
            switch (username.isEmpty, password) {
            case (true, nil): break
            case (false, let password?): basic = .basic(username: username, password: password)
            case (true, _?):
                throw ConfigError(key: "\(basicKey).username", message: "is required with \(basicKey).password_file")
            case (false, nil):
                throw ConfigError(key: "\(basicKey).password_file", message: "is required with \(basicKey).username")
            }
            if token != nil, basic != .none {
                throw ConfigError(key: bearerKey, message: "give either a bearer token or basic auth, not both")
            }
        }
        return token.map { .bearer($0) } ?? basic
    }

    /// A secret file's content (nil when the key is unset or empty); an empty file is refused.
    private static func secret(_ source: ConfigSource, _ key: String) throws -> String? {
        guard let path = source.optionalString(key), !path.isEmpty else { return nil }
        guard let text = try source.secretFile(key), !text.isEmpty else {
            throw ConfigError(key: key, message: "\(path) is empty")
        }
        // A header value cannot hold a line break (it would start a header of its own).
        guard !text.contains(where: { $0.isNewline }) else {
            throw ConfigError(key: key, message: "\(path) holds more than one line")
        }
        return text
    }
}

/// `alerts.webhook_*` beyond the URL: who monquery says it is and how it checks TLS.
public struct WebhookSecurity: Sendable, Equatable {
    /// `alerts.webhook_bearer_token_file`: sent as `Authorization: Bearer …`.
    public var auth: NotifierAuth
    /// `alerts.webhook_tls.*` (ca_file, certificate_file, key_file, server_name,
    /// insecure_skip_verify) for an https URL.
    public var tls: TLSClientSettings

    public init(source: ConfigSource) throws {
        auth = try NotifierAuth.load(source, bearerKey: "alerts.webhook_bearer_token_file", basicKey: nil)
        tls = try TLSClientSettings.load(source, prefix: "alerts.webhook_tls")
    }
}

/// `alerts.alertmanager.*`: monquery posts its alerts to Alertmanager's v2 API itself.
public struct AlertmanagerSettings: Sendable, Equatable {
    /// `alerts.alertmanager.urls`: each Alertmanager's base URL (`http://127.0.0.1:9093`,
    /// or with a path prefix); every one gets every alert, as Prometheus does with a
    /// cluster. Held here as the full `…/api/v2/alerts` endpoints.
    public var endpoints: [URL]
    /// `alerts.alertmanager.timeout_seconds` (10), `.max_attempts` (5, with backoff).
    public var timeoutSeconds: Double
    public var maxAttempts: Int
    /// `alerts.alertmanager.resend_seconds` (60): firing alerts are sent again this often,
    /// each with an `endsAt` four resends (or four evaluations, the longer) ahead, so
    /// Alertmanager resolves them by itself if monquery stops.
    public var resendSeconds: Double
    /// `alerts.alertmanager.bearer_token_file`, or `.basic_auth.username` with `.basic_auth.password_file`.
    public var auth: NotifierAuth
    /// `alerts.alertmanager.tls.*`.
    public var tls: TLSClientSettings

    /// Nil when `alerts.alertmanager.urls` is empty (every key is read all the same, so a
    /// misspelt one is still reported).
    public static func load(_ source: ConfigSource) throws -> AlertmanagerSettings? {
        let key = "alerts.alertmanager"
        let urls = try source.stringList("\(key).urls", default: [])
        let settings = AlertmanagerSettings(
            endpoints: try urls.map { try endpoint($0, key: "\(key).urls") },
            timeoutSeconds: try source.double("\(key).timeout_seconds", default: 10, range: 0.1...300),
            maxAttempts: try source.int("\(key).max_attempts", default: 5, range: 1...100),
            resendSeconds: try source.double("\(key).resend_seconds", default: 60, range: 0.2...3600),
            auth: try NotifierAuth.load(source, bearerKey: "\(key).bearer_token_file", basicKey: "\(key).basic_auth"),
            tls: try TLSClientSettings.load(source, prefix: "\(key).tls"))
        return settings.endpoints.isEmpty ? nil : settings
    }

    /// The v2 alerts endpoint of an Alertmanager given by its base URL (or by that endpoint).
    static func endpoint(_ text: String, key: String) throws -> URL {
        guard var components = URLComponents(string: text), let scheme = components.scheme,
            ["http", "https"].contains(scheme), let host = components.host, !host.isEmpty
        else {
            throw ConfigError(
                key: key, message: "'\(SecretRedaction.redactURL(text).prefix(80))' is not an http(s) URL")
        }
        guard components.user == nil, components.password == nil else {
            throw ConfigError(
                key: key, message: "credentials in the URL would show in logs: use alerts.alertmanager.basic_auth")
        }
        var path = components.path
        while path.hasSuffix("/") { path.removeLast() }
        if path.hasSuffix("/api/v1/alerts") || path.hasSuffix("/api/v1") {
            throw ConfigError(
                key: key,
                message:
                    "'\(text.prefix(80))' is Alertmanager's API v1, removed in 0.27 (410 Gone): give its base URL, e.g. http://127.0.0.1:9093 (monquery posts to /api/v2/alerts)"
            )
        }
        if !path.hasSuffix("/api/v2/alerts") { path += "/api/v2/alerts" }
        components.path = path
        guard let url = components.url else {
            throw ConfigError(key: key, message: "'\(text.prefix(80))' is not an http(s) URL")
        }
        return url
    }
}
