import MonCore

/// Aggregates a SCAN walk over the keyspace into per-cache-type counts and TTLs.
///
/// The walk is resumable: each cycle adds the keys one budgeted SCAN step visited;
/// when the cursor comes back to 0 the totals are published and a new walk starts.
/// So a keyspace of millions is counted over several cycles without blocking Redis.
public struct CacheKeyWalk: Sendable {
    /// Upper bounds (seconds) of the remaining-TTL distribution; keys above the last go to `+Inf`.
    public static let ttlBuckets: [Double] = [10, 30, 60, 300, 3600, 86_400]

    public struct TypeTotals: Sendable, Equatable {
        public var keys = 0
        public var keysWithTTL = 0
        public var ttlSecondsSum = 0.0
        /// Counts per bucket of `ttlBuckets`, plus one for `+Inf` (cumulative is computed on output).
        public var ttlBucketCounts = [Int](repeating: 0, count: CacheKeyWalk.ttlBuckets.count + 1)

        /// Keys whose `MEMORY USAGE` was sampled, and their total bytes.
        public var memorySampled = 0
        public var memoryBytesSum = 0.0

        public var keysWithoutTTL: Int { keys - keysWithTTL }
        public var averageSampledBytes: Double? { memorySampled > 0 ? memoryBytesSum / Double(memorySampled) : nil }
        public var averageTTLSeconds: Double? { keysWithTTL > 0 ? ttlSecondsSum / Double(keysWithTTL) : nil }
    }

    private let patterns: [(name: String, matcher: GlobPattern)]
    public private(set) var cursor = "0"
    private var current: [String: TypeTotals] = [:]
    /// Totals of the last completed walk, by type name (and `other`).
    public private(set) var completed: [String: TypeTotals]?
    public private(set) var walksCompleted = 0
    /// When the current (or last) walk started; nil before the first.
    public private(set) var startedMs: Int64?

    public init(types: [RedisSourceConfig.CacheType]) {
        patterns = types.map { ($0.name, GlobPattern($0.pattern)) }
    }

    /// Whether a SCAN step is due now: a walk is in progress, or none has started yet, or the
    /// last one started at least `intervalSeconds` ago (then a new walk starts at `ms`).
    public mutating func stepDue(at ms: Int64, intervalSeconds: Double) -> Bool {
        if cursor != "0" { return true }
        if let startedMs, Double(ms - startedMs) < intervalSeconds * 1000 { return false }
        startedMs = ms
        return true
    }

    /// The type a key belongs to (`other` when none matches).
    public func type(of key: String) -> String {
        patterns.first { $0.matcher.matches(key) }?.name ?? "other"
    }

    /// Adds the keys of one SCAN reply with their PTTL (ms; -1 no TTL, -2 gone) and the next cursor.
    /// `memory` holds `MEMORY USAGE` bytes for the first keys when sampling is on.
    public mutating func add(keys: [String], pttls: [Int64], memory: [Int64?] = [], nextCursor: String) {
        for (index, (key, pttl)) in zip(keys, pttls).enumerated() where pttl != -2 {
            let name = type(of: key)
            var totals = current[name] ?? TypeTotals()
            totals.keys += 1
            if index < memory.count, let bytes = memory[index] {
                totals.memorySampled += 1
                totals.memoryBytesSum += Double(bytes)
            }
            if pttl >= 0 {
                let seconds = Double(pttl) / 1000
                totals.keysWithTTL += 1
                totals.ttlSecondsSum += seconds
                let bucket = Self.ttlBuckets.firstIndex { seconds <= $0 } ?? Self.ttlBuckets.count
                totals.ttlBucketCounts[bucket] += 1
            }
            current[name] = totals
        }
        cursor = nextCursor
        if nextCursor == "0" {
            var result = current
            for (name, _) in patterns where result[name] == nil { result[name] = TypeTotals() }
            completed = result
            current = [:]
            walksCompleted += 1
        }
    }
}

/// Redis glob patterns: `*`, `?`, `[abc]`, `\x`; matched on bytes.
public struct GlobPattern: Sendable {
    private let pattern: [UInt8]

    public init(_ pattern: String) { self.pattern = Array(pattern.utf8) }

    public func matches(_ text: String) -> Bool {
        Self.match(pattern[...], Array(text.utf8)[...])
    }

    private static func match(_ p: ArraySlice<UInt8>, _ s: ArraySlice<UInt8>) -> Bool {
        var p = p
        var s = s
        var star: (ArraySlice<UInt8>, ArraySlice<UInt8>)?
        while !s.isEmpty {
            if let c = p.first {
                switch c {
                case UInt8(ascii: "*"):
                    p = p.dropFirst()
                    star = (p, s)
                    continue
                case UInt8(ascii: "?"):
                    p = p.dropFirst()
                    s = s.dropFirst()
                    continue
                case UInt8(ascii: "["):
                    if let end = p.dropFirst().firstIndex(of: UInt8(ascii: "]")), let ch = s.first {
                        let set = p[(p.startIndex + 1)..<end]
                        if set.contains(ch) {
                            p = p[(end + 1)...]
                            s = s.dropFirst()
                            continue
                        }
                    }
                case UInt8(ascii: "\\") where p.count > 1:
                    if p[p.startIndex + 1] == s.first {
                        p = p.dropFirst(2)
                        s = s.dropFirst()
                        continue
                    }
                default:
                    if c == s.first {
                        p = p.dropFirst()
                        s = s.dropFirst()
                        continue
                    }
                }
            }
            guard let (starP, starS) = star, !starS.isEmpty else { return false }
            let advanced = starS.dropFirst()
            star = (starP, advanced)
            p = starP
            s = advanced
        }
        return p.allSatisfy { $0 == UInt8(ascii: "*") }
    }
}
