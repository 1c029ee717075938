/// Where and how to reach a Redis server, parsed from a URL.
///
/// Accepted forms (port defaults to 6379, database to 0):
/// - `redis://host`, `redis://host:port/db`, `redis://[::1]:6379`
/// - `redis://:password@host:port/db` — `AUTH password`
/// - `redis://user:password@host:port/db` — `AUTH user password` (Redis 6 ACL)
/// - `redis://user@host` — `AUTH user <password given separately>`
/// - `unix:///path/redis.sock`, `unix:///path/redis.sock?db=N`, `unix://:password@/path/redis.sock`
///
/// User and password may be percent-encoded (`%40` for `@`). `rediss://` is refused: the
/// hiredis this is built on has no TLS. `description` is `redacted`: the password never
/// reaches a log line, an error, or a test failure message.
public struct RedisURL: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public enum Endpoint: Sendable, Hashable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public static let defaultPort = 6379

    public var endpoint: Endpoint
    /// ACL user for `AUTH user password`; nil for the `default` user.
    public var username: String?
    public var password: String?
    /// Database index for `SELECT`; 0 needs no `SELECT`.
    public var database: Int

    public init(endpoint: Endpoint, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
    }

    /// Parses `redis://...` or `unix://...`; the error names the URL with its password redacted.
    ///
    /// Reasons never quote pieces of the input: a malformed URL may have its password anywhere.
    public init(_ string: String) throws(RedisError) {
        self = try RedisURLParser(string).parse()
    }

    /// The URL with the password replaced by `***`: `redis://app:***@cache:6379/2`.
    public var redacted: String {
        var userInfo = ""
        if let username { userInfo += Self.percentEncode(username) }
        if password != nil { userInfo += ":***" }
        if !userInfo.isEmpty { userInfo += "@" }
        switch endpoint {
        case .tcp(let host, let port):
            let shownHost = host.contains(":") ? "[\(host)]" : host
            return "redis://\(userInfo)\(shownHost):\(port)/\(database)"
        case .unix(let path):
            return "unix://\(userInfo)\(path)" + (database == 0 ? "" : "?db=\(database)")
        }
    }

    public var description: String { redacted }
    public var debugDescription: String { "RedisURL(\(redacted))" }

    public var customMirror: Mirror {
        Mirror(self, children: ["redacted": redacted], displayStyle: .struct)
    }

    /// Redacts a URL string that may not parse: everything between `://` and the last `@`
    /// except a user name before a `:`, and any `password=` query value.
    public static func redact(_ string: String) -> String {
        var text = string
        if let schemeEnd = text.range(of: "://"), let at = text[schemeEnd.upperBound...].lastIndex(of: "@") {
            let userInfo = text[schemeEnd.upperBound..<at]
            let replacement: String
            if let colon = userInfo.firstIndex(of: ":") {
                replacement = userInfo[..<colon] + ":***"
            } else {
                replacement = "***"
            }
            text.replaceSubrange(schemeEnd.upperBound..<at, with: replacement)
        }
        return SecretRedaction.redactURL(text)
    }

    static func percentEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if byte < 0x80,
                scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "-._~".contains(Character(scalar))
            {
                out.unicodeScalars.append(scalar)
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// The parsing behind `RedisURL.init(_:)`; every error carries the redacted input.
private struct RedisURLParser {
    let input: String

    init(_ input: String) { self.input = input }

    func parse() throws(RedisError) -> RedisURL {
        guard !input.isEmpty else { throw failure("the URL is empty") }
        guard !input.contains(where: { $0.isWhitespace }) else { throw failure("the URL contains whitespace") }
        guard let schemeEnd = input.range(of: "://") else {
            throw failure("expected redis://host[:port][/db] or unix:///path/redis.sock")
        }
        let scheme = input[..<schemeEnd.lowerBound].lowercased()
        var rest = input[schemeEnd.upperBound...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        var query: Substring = ""
        if let question = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: question)...]
            rest = rest[..<question]
        }
        switch scheme {
        case "redis":
            return try parseTCP(rest, query: query)
        case "unix":
            return try parseUnix(rest, query: query)
        case "rediss":
            throw failure("TLS (rediss://) is not supported: the hiredis library in use has no TLS")
        default:
            throw failure("unknown scheme '\(scheme.prefix(20))', expected redis:// or unix://")
        }
    }

    private func parseTCP(_ rest: Substring, query: Substring) throws(RedisError) -> RedisURL {
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let (username, password, hostPort) = try splitUserInfo(rest[..<authorityEnd])
        let (host, port) = try splitHostPort(hostPort)
        var database: Int?
        let path = rest[authorityEnd...]
        if path.count > 1 {
            database = try databaseIndex(path.dropFirst(), what: "path")
        }
        let queryDatabase = try parseQuery(query)
        if database != nil, queryDatabase != nil {
            throw failure("the database is given both in the path and as ?db=")
        }
        return RedisURL(
            endpoint: .tcp(host: host, port: port),
            username: username,
            password: password,
            database: database ?? queryDatabase ?? 0
        )
    }

    private func parseUnix(_ rest: Substring, query: Substring) throws(RedisError) -> RedisURL {
        guard let slash = rest.firstIndex(of: "/") else {
            throw failure("expected an absolute socket path: unix:///path/redis.sock")
        }
        let authority = rest[..<slash]
        var username: String?
        var password: String?
        if !authority.isEmpty {
            guard authority.last == "@" else {
                throw failure("a unix:// URL has no host; write unix:///path/redis.sock")
            }
            (username, password, _) = try splitUserInfo(authority)
        }
        let path = try percentDecode(rest[slash...], what: "socket path")
        guard path.count > 1, !path.hasSuffix("/") else {
            throw failure("the socket path names a directory, not a socket")
        }
        guard path.utf8.count < 108 else {
            throw failure("the socket path is \(path.utf8.count) bytes, longer than the 107 a unix socket allows")
        }
        return RedisURL(
            endpoint: .unix(path: path),
            username: username,
            password: password,
            database: try parseQuery(query) ?? 0
        )
    }

    /// `user:password@host` → (user, password, host); the user is nil when empty.
    private func splitUserInfo(
        _ authority: Substring
    ) throws(RedisError) -> (username: String?, password: String?, rest: Substring) {
        guard let at = authority.lastIndex(of: "@") else { return (nil, nil, authority) }
        let userInfo = authority[..<at]
        let rest = authority[authority.index(after: at)...]
        guard let colon = userInfo.firstIndex(of: ":") else {
            let username = try percentDecode(userInfo, what: "user name")
            guard !username.isEmpty else { throw failure("the user name before '@' is empty") }
            return (username, nil, rest)
        }
        let username = try percentDecode(userInfo[..<colon], what: "user name")
        let password = try percentDecode(userInfo[userInfo.index(after: colon)...], what: "password")
        guard !password.isEmpty else { throw failure("the password after ':' is empty") }
        return (username.isEmpty ? nil : username, password, rest)
    }

    private func splitHostPort(_ hostPort: Substring) throws(RedisError) -> (String, Int) {
        var host: Substring
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw failure("unterminated '[' in the host") }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw failure("unexpected text after the bracketed host") }
                portText = after.dropFirst()
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw failure("the bracketed host is not an IPv6 address")
            }
        } else {
            let parts = hostPort.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else {
                throw failure("too many ':' in the host; put an IPv6 address in brackets")
            }
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
            let allowed = host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) }
            guard allowed else { throw failure("the host may only have letters, digits, '-', '.' and '_'") }
        }
        guard !host.isEmpty else { throw failure("the host is empty") }
        var port = RedisURL.defaultPort
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = Int(portText), (1...65_535).contains(value)
            else { throw failure("the port is not a number in 1-65535") }
            port = value
        }
        return (String(host), port)
    }

    /// `db=N` is the only query parameter; anything else is an error (with its value not shown).
    private func parseQuery(_ query: Substring) throws(RedisError) -> Int? {
        var database: Int?
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts[0] == "db", parts.count == 2 else {
                throw failure("unknown query parameter '\(parts[0].prefix(20))'; only ?db=N is accepted")
            }
            guard database == nil else { throw failure("?db= is given twice") }
            database = try databaseIndex(parts[1], what: "?db=")
        }
        return database
    }

    private func databaseIndex(_ text: Substring, what: String) throws(RedisError) -> Int {
        guard !text.isEmpty, text.count <= 9, text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(text)
        else {
            throw failure("the database in the \(what) is not a number")
        }
        return value
    }

    private func percentDecode(_ text: Substring, what: String) throws(RedisError) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw failure("bad percent-escape in the \(what)")
            }
            bytes.append(high << 4 | low)
        }
        let decoded = String(decoding: bytes, as: UTF8.self)
        guard decoded.utf8.elementsEqual(bytes) else { throw failure("the \(what) is not valid UTF-8") }
        return decoded
    }

    private func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private func failure(_ reason: String) -> RedisError {
        RedisError(code: .invalidURL, message: "bad Redis URL '\(RedisURL.redact(input))': \(reason)")
    }
}
