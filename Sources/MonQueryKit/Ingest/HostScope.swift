import MonCore

/// The hosts an ingest credential (a token, a local user or group) may write: an agent
/// announcing another host in HELLO is refused.
///
/// Written in the configuration as a `hosts=` option after the entry, hosts separated by
/// `|` (the environment form of a list is comma-separated, so an entry holds no comma):
/// `web-2:<sha256>:hosts=web-2|web-2b`, `deploy:hosts=web-1`, `hosts=*` for any host.
public enum HostScope: Sendable, Equatable, CustomStringConvertible {
    /// Any host: root, the daemon's own user, an entry saying `hosts=*`.
    case any
    /// Only these hosts.
    case only(Set<String>)

    public func allows(_ host: String) -> Bool {
        switch self {
        case .any: true
        case .only(let hosts): hosts.contains(host)
        }
    }

    /// Both scopes' hosts (a peer matching two entries may write the hosts of either).
    public func union(_ other: HostScope) -> HostScope {
        switch (self, other) {
        case (.only(let a), .only(let b)): .only(a.union(b))
        default: .any
        }
    }

    /// True unless the scope is `.any`.
    public var isRestricted: Bool { self != .any }

    /// `any host` or the hosts, sorted, for log lines and errors.
    public var description: String {
        switch self {
        case .any: "any host"
        case .only(let hosts): hosts.sorted().joined(separator: "|")
        }
    }

    /// Longest host name accepted in a binding or a HELLO (a DNS name is at most 253).
    public static let maxHostBytes = 255

    /// True for a host name an agent may announce: 1 … 255 bytes, no control character,
    /// space, `|` or `,` (those cannot be written in a binding).
    public static func isValidHost(_ host: Substring) -> Bool {
        guard !host.isEmpty, host.utf8.count <= maxHostBytes else { return false }
        return !host.unicodeScalars.contains {
            $0.value < 0x21 || $0.value == 0x7F || $0 == "|" || $0 == ","
        }
    }

    /// The scope an entry's `hosts=` option gives; `key` names the entry in errors.
    static func parse(option: Substring, key: String) throws -> HostScope {
        guard option.hasPrefix("hosts=") else {
            throw ConfigError(
                key: key, message: "unknown option '\(option.prefix(40))'; expected hosts=NAME|NAME or hosts=*")
        }
        let list = option.dropFirst("hosts=".count)
        if list == "*" { return .any }
        let hosts = list.split(separator: "|", omittingEmptySubsequences: false)
        for host in hosts where !isValidHost(host) {
            throw ConfigError(
                key: key,
                message:
                    "'\(host.prefix(80))' is not a host name (1 to \(maxHostBytes) bytes, no space, control character, '|' or ',')"
            )
        }
        return .only(Set(hosts.map(String.init)))
    }
}
