import Foundation
import MonCore

/// `reports.smtp.*` of monquery.yaml: the mail server the report digest goes through
/// (`SMTPTransport`, libcurl's SMTP client). Checked once, where it is read: the URL's
/// scheme and host, that no password rides in the URL, that AUTH never travels in clear.
public struct SMTPSettings: Sendable, Equatable {
    /// How STARTTLS is used on an `smtp://` URL (an `smtps://` one is TLS from the start).
    public enum StartTLS: String, Sendable, CaseIterable {
        /// Refuse to send unless the server upgrades the connection (the default).
        case required
        /// Upgrade when the server offers it, send in clear otherwise.
        case opportunistic
        /// Never upgrade (a relay on this host).
        case off
    }

    /// `url` — `smtp://host:port` (STARTTLS as `starttls` says, port 25 by default; 587 is
    /// the usual submission port) or `smtps://host:port` (TLS at once, 465 by default).
    public var url: String
    /// `starttls` — required (default), opportunistic or off.
    public var startTLS: StartTLS
    /// `username` — for SMTP AUTH (default: no AUTH); needs `password_file`.
    public var username: String?
    /// `password_file` — the AUTH password, read once at start; never in the configuration
    /// itself, the logs, an error message, the API or `ps`.
    public var password: String?
    /// `from` — the envelope sender and the `From:` header (required).
    public var from: MailAddress
    /// `timeout_seconds` (default 60, 1–600): one delivery's whole exchange, connection included.
    public var timeoutSeconds: Int
    /// `ca_file` — PEM file of the authorities the server's certificate is checked against
    /// (default: the system's).
    public var caFile: String?
    /// `insecure_skip_verify` (default false) — accept any server certificate (tests only).
    public var insecureSkipVerify: Bool
    /// `retry_seconds` (default [60, 300, 1800]) — the waits before the second, third, …
    /// attempt of a delivery that failed; after the last one the mail is given up (`failed`).
    public var retrySeconds: [Int]

    public static let defaultRetrySeconds = [60, 300, 1800]

    /// `<prefix>.*` (nil when `<prefix>.url` is absent), or a `ConfigError` naming the key.
    public static func load(_ source: ConfigSource, prefix: String) throws -> SMTPSettings? {
        let key = { (name: String) in "\(prefix).\(name)" }
        let startTLS = try source.choice(key("starttls"), default: StartTLS.required)
        let username = source.optionalString(key("username"))
        let password = try source.secretFile(key("password_file"))
        let fromText = source.optionalString(key("from"))
        let timeout = try source.int(key("timeout_seconds"), default: 60, range: 1...600)
        let caFile = source.optionalString(key("ca_file"))
        let insecure = try source.bool(key("insecure_skip_verify"), default: false)
        let retries = try source.stringList(key("retry_seconds"), default: defaultRetrySeconds.map(String.init))
        guard let url = source.optionalString(key("url")) else {
            for (name, set) in [
                ("username", username != nil), ("password_file", password != nil), ("from", fromText != nil),
                ("ca_file", caFile != nil),
            ] where set {
                throw ConfigError(key: key(name), message: "is set but \(key("url")) is not")
            }
            return nil
        }
        try checkURL(url, key: key("url"))
        guard let fromText else {
            throw ConfigError(key: key("from"), message: "is required with \(key("url")): the sender's address")
        }
        let from: MailAddress
        do {
            from = try MailAddress(fromText)
        } catch {
            throw ConfigError(key: key("from"), message: error.message)
        }
        if let username {
            guard username.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }), username.count <= 256
            else {
                throw ConfigError(
                    key: key("username"), message: "must be 1 to 256 characters without control characters")
            }
            guard password != nil else {
                throw ConfigError(key: key("password_file"), message: "is required with \(key("username"))")
            }
            if url.lowercased().hasPrefix("smtp://") && startTLS != .required {
                throw ConfigError(
                    key: key("starttls"),
                    message:
                        "is \(startTLS.rawValue) but \(key("username")) is set: the password could cross the network in clear; use starttls: required or an smtps:// URL"
                )
            }
        } else if password != nil {
            throw ConfigError(key: key("username"), message: "is required with \(key("password_file"))")
        }
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw ConfigError(key: key("ca_file"), message: "cannot read \(caFile)")
        }
        var retrySeconds: [Int] = []
        for text in retries {
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), (1...86_400).contains(value) else {
                throw ConfigError(
                    key: key("retry_seconds"), message: "'\(text.prefix(40))' is not a number of seconds (1 to 86400)")
            }
            retrySeconds.append(value)
        }
        guard retrySeconds.count <= 20 else {
            throw ConfigError(key: key("retry_seconds"), message: "lists \(retrySeconds.count) waits; at most 20")
        }
        return SMTPSettings(
            url: url, startTLS: startTLS, username: username, password: password, from: from,
            timeoutSeconds: timeout, caFile: caFile, insecureSkipVerify: insecure, retrySeconds: retrySeconds)
    }

    /// `smtp://host[:port][/]` or `smtps://…`; no user or password in it (`password_file`).
    static func checkURL(_ url: String, key: String) throws {
        let lower = url.lowercased()
        guard let scheme = ["smtp://", "smtps://"].first(where: { lower.hasPrefix($0) }) else {
            throw ConfigError(
                key: key,
                message: "'\(SecretRedaction.redactURL(String(url.prefix(120))))' must start with smtp:// or smtps://")
        }
        guard url.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw ConfigError(key: key, message: "contains a space, a control character or a non-ASCII character")
        }
        var authority = Substring(url.dropFirst(scheme.count))
        if let slash = authority.firstIndex(of: "/") {
            guard authority[slash...] == "/" else {
                throw ConfigError(key: key, message: "must be scheme://host:port, without a path")
            }
            authority = authority[..<slash]
        }
        guard !authority.contains("@") else {
            throw ConfigError(
                key: key,
                message:
                    "must not carry a user or password ('\(SecretRedaction.redactURL(url))'): set username and password_file"
            )
        }
        guard !authority.isEmpty, !authority.contains("?"), !authority.contains("#") else {
            throw ConfigError(key: key, message: "'\(url.prefix(120))' has no host")
        }
        if authority.hasPrefix("[") {
            guard authority.contains("]") else { throw ConfigError(key: key, message: "has an unclosed '['") }
        }
        if let colon = authority.lastIndex(of: ":"), !authority[colon...].contains("]") {
            guard let port = Int(authority[authority.index(after: colon)...]), (1...65_535).contains(port) else {
                throw ConfigError(key: key, message: "'\(url.prefix(120))' has a port that is not 1 to 65535")
            }
        }
    }
}
