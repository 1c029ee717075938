/// Recognises the application's cache hit/miss counters in the forms real StatsD clients
/// send, and names them the one way the API reads: `<prefix>cache_hit_total{cache="<type>"}`
/// and `<prefix>cache_miss_total{cache="<type>"}`.
///
/// Accepted (DogStatsD tags or the plain `statsd` client, which has none):
/// - `cache.hit` / `cache.miss` (also `cache.hits`, `cache.misses`, `cache_hit`, `cache_miss`)
///   tagged `cache:<type>`, `cache_type:<type>`, `cache_name:<type>` or `type:<type>`;
/// - tag-less `cache.hit.<type>` / `cache.miss.<type>`;
/// - tag-less `cache.<type>.hit` / `cache.<type>.miss`.
///
/// `<type>` is a configured cache type's name (`redis.cache_types[].name`, e.g.
/// `search_results`) or its key prefix (`search` or `search:` for pattern `search:*`), which
/// maps to the name; any other value is kept as sent (cut to 200 bytes). At most
/// `maxTypes` distinct types are kept; further ones fold into `other` (counted).
public struct CacheCounterNames: Sendable {
    public enum Outcome: String, Sendable {
        case hit
        case miss
    }

    /// A recognised cache counter.
    public struct Match: Sendable, Equatable {
        public var outcome: Outcome
        /// The type as sent (before mapping), nil when the counter names none.
        public var rawType: String?
    }

    public static let maxTypes = 64
    public static let typeTagNames = ["cache", "cache_type", "cache_name", "type"]
    static let words: [String: Outcome] = ["hit": .hit, "hits": .hit, "miss": .miss, "misses": .miss]

    /// Configured type names by themselves and by their key prefix.
    let aliases: [String: String]

    /// Sent values longer than this are cut (like every label value the agent keeps).
    public static let maxTypeBytes = 200

    /// - Parameter cacheTypes: the configured types (`redis.cache_types[]`: name, key pattern).
    public init(cacheTypes: [(name: String, pattern: String)]) {
        var aliases: [String: String] = [:]
        for type in cacheTypes {
            if let prefix = Self.keyPrefix(type.pattern), !prefix.isEmpty {
                aliases[prefix] = type.name
                aliases[prefix + ":"] = type.name
            }
        }
        for type in cacheTypes { aliases[type.name] = type.name }
        self.aliases = aliases
    }

    /// The literal part of a glob before its first wildcard, without a trailing `:`
    /// (`search:*` → `search`).
    static func keyPrefix(_ pattern: String) -> String? {
        let literal = pattern.prefix { !"*?[\\".contains($0) }
        guard literal.count < pattern.count else { return nil }
        return String(literal.hasSuffix(":") ? literal.dropLast() : literal)
    }

    /// The cache counter `name` (with its tags) stands for, or nil when it is not one.
    public static func match(_ name: String, tags: [(name: String, value: String)]) -> Match? {
        if let outcome = tagged(name) {
            let type = typeTagNames.lazy.compactMap { tagName in tags.first { $0.name == tagName }?.value }.first
            return Match(outcome: outcome, rawType: type)
        }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[0] == "cache" else { return nil }
        if let outcome = words[String(parts[1])] {
            let type = parts[2...].joined(separator: ".")
            return type.isEmpty ? nil : Match(outcome: outcome, rawType: type)
        }
        if let outcome = words[String(parts[parts.count - 1])] {
            let type = parts[1..<(parts.count - 1)].joined(separator: ".")
            return type.isEmpty ? nil : Match(outcome: outcome, rawType: type)
        }
        return nil
    }

    private static func tagged(_ name: String) -> Outcome? {
        for separator in [".", "_"] where name.hasPrefix("cache" + separator) {
            return words[String(name.dropFirst(6))]
        }
        return nil
    }

    /// The configured type name a sent type stands for, else the sent value (cut).
    public func resolve(_ rawType: String) -> String {
        aliases[rawType] ?? rawType.prefix(utf8Bytes: Self.maxTypeBytes)
    }

    /// The metric name the API reads for `outcome` (`app_cache_hit_total`).
    public static func metricName(_ outcome: Outcome, prefix: String) -> String {
        prefix + "cache_" + outcome.rawValue + "_total"
    }
}
