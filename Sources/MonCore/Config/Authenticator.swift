import Foundation

/// Who may call the API: bearer tokens with a role. The configuration holds SHA-256
/// hashes of the tokens (`auth.viewer_tokens`, `auth.admin_tokens`), never the tokens.
public struct Authenticator: Sendable {
    public enum Role: Int, Sendable, Comparable {
        /// Metrics and summaries; query texts truncated.
        case viewer = 1
        /// Also logs, full query texts and exports.
        case admin = 2

        public var name: String { self == .admin ? "admin" : "viewer" }
        public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public struct Token: Sendable {
        public var name: String
        public var role: Role
        public var hash: [UInt8]

        public init(name: String, role: Role, hash: [UInt8]) {
            self.name = name
            self.role = role
            self.hash = hash
        }
    }

    public enum Failure: Error, Equatable {
        /// No `Authorization: Bearer` header (401).
        case missing
        /// A token that matches no configured hash (401).
        case invalid
    }

    public let tokens: [Token]

    /// No tokens: authentication is off (the daemon says so at start).
    public var isEnabled: Bool { !tokens.isEmpty }

    public init(tokens: [Token]) { self.tokens = tokens }

    /// The caller's role from the `Authorization` header; admin for everyone when off.
    public func role(authorization: String?) -> Result<Role, Failure> {
        guard isEnabled else { return .success(.admin) }
        guard let authorization, authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
            return .failure(.missing)
        }
        let token = authorization.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return match(token: token).map { .success($0.role) } ?? .failure(.invalid)
    }

    /// The configured token `token` is (the highest role when listed twice), nil when none.
    /// Every configured hash is compared, in constant time, whatever matches; the token
    /// itself is only hashed, never kept.
    public func match(token: String) -> Token? {
        let digest = SHA256.hash(Array(token.utf8))
        var found: Token? = nil
        for candidate in tokens where SHA256.constantTimeEqual(candidate.hash, digest) {
            if found.map({ candidate.role > $0.role }) ?? true { found = candidate }
        }
        return found
    }

    /// `auth.viewer_tokens` / `auth.admin_tokens`: lists of `name:sha256hex` (or bare hex).
    public init(source: ConfigSource) throws {
        var tokens: [Token] = []
        for (key, role) in [("auth.viewer_tokens", Role.viewer), ("auth.admin_tokens", Role.admin)] {
            tokens += try Self.hashes(source, key: key, defaultName: role.name).map {
                Token(name: $0.name, role: role, hash: $0.hash)
            }
        }
        self.init(tokens: tokens)
    }

    /// A list of `name:sha256hex` (or bare hex) under `key`; an entry that is not one is an
    /// error naming its index (and never echoing it: it may be a raw token pasted by mistake).
    static func hashes(_ source: ConfigSource, key: String, defaultName: String) throws -> [(
        name: String, hash: [UInt8]
    )] {
        try source.stringList(key, default: []).enumerated().map { index, entry in
            let parts = entry.split(separator: ":", maxSplits: 1).map(String.init)
            let name = parts.count == 2 ? parts[0] : "\(defaultName)-\(index + 1)"
            let hex = (parts.last ?? "").lowercased()
            guard hex.count == 64, let hash = Self.bytes(hex: hex) else {
                throw ConfigError(
                    key: "\(key)[\(index)]",
                    message: "expected name:<64 hex digits of the token's SHA-256> (see `monquery hash-token`)")
            }
            return (name, hash)
        }
    }

    package static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        return out
    }

    package static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
