/// A listen address of a config key (`http.listen`, `statsd.address`, …).
public enum ListenAddress {
    /// `127.0.0.1:8089`, `[::1]:8089`, `:8089` (all interfaces, said explicitly).
    public static func parse(_ text: String, key: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":") else {
            throw ConfigError(key: key, message: "'\(text)' must be host:port")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ConfigError(key: key, message: "'\(text)' has no valid port (0-65535)")
        }
        return (host, port)
    }
}
