import MonCore

/// `ingest.tokens`: SHA-256 hashes of the tokens remote agents present over TCP, each bound
/// to the hosts its agents may write.
///
/// Entries are `name:<64 hex digits>` (the token may write host `name` only),
/// `name:<hex>:hosts=web-2|web-2b` (those hosts), or `name:<hex>:hosts=*` (any host: a relay).
public struct IngestTokens: Sendable {
    public struct Entry: Sendable {
        public var name: String
        public var hash: [UInt8]
        public var hosts: HostScope

        public init(name: String, hash: [UInt8], hosts: HostScope) {
            self.name = name
            self.hash = hash
            self.hosts = hosts
        }
    }

    public let entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    /// Entries without a binding, each limited to the host named like the token.
    public init(hashes: [(name: String, hash: [UInt8])]) {
        self.init(entries: hashes.map { Entry(name: $0.name, hash: $0.hash, hosts: .only([$0.name])) })
    }

    public init(source: ConfigSource) throws {
        let key = "ingest.tokens"
        self.init(
            entries: try source.stringList(key, default: []).enumerated().map { index, entry in
                try Self.parse(entry, key: "\(key)[\(index)]")
            })
    }

    /// One entry; an error names it by index and never echoes it (it may be a raw token
    /// pasted by mistake).
    static func parse(_ entry: String, key: String) throws -> Entry {
        let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
        let shape = "expected name:<64 hex digits of the token's SHA-256>[:hosts=NAME|NAME] (see `monquery hash-token`)"
        guard parts.count == 2 || parts.count == 3, let hash = Authenticator.bytes(hex: parts[1].lowercased()),
            hash.count == 32
        else {
            throw ConfigError(key: key, message: shape)
        }
        let name = String(parts[0])
        guard HostScope.isValidHost(parts[0]) else {
            throw ConfigError(key: key, message: "the token needs a name (no space, '|' or ','); " + shape)
        }
        let hosts = try parts.count == 3 ? HostScope.parse(option: parts[2], key: key) : .only([name])
        return Entry(name: name, hash: hash, hosts: hosts)
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    /// The configured entry `token` is, compared in constant time against every one.
    public func match(_ token: String) -> Entry? {
        let digest = SHA256.hash(Array(token.utf8))
        var found: Entry? = nil
        for candidate in entries where SHA256.constantTimeEqual(candidate.hash, digest) { found = candidate }
        return found
    }

    /// The name of the configured token `token` is.
    public func name(of token: String) -> String? { match(token)?.name }
}
