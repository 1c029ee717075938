import MonCore

/// Failed credentials (bearer tokens, dashboard logins) per client address, as a token
/// bucket: each address may fail `limit` times at once, refilled at `limit` per minute; with
/// the bucket empty the address is throttled (429 with `Retry-After`) until one attempt is
/// refilled. A pure value: the caller passes the time.
///
/// Memory is bounded: at most `capacity` addresses are tracked. When a new address must be
/// added to a full table, addresses whose bucket is full again are forgotten first, then the
/// address that failed longest ago. An attacker with more addresses than `capacity` gets no
/// more guesses per address than `limit` a minute; IPv6 addresses count per /64.
public struct FailureThrottle: Sendable {
    public let limit: Int
    public let capacity: Int
    /// Milliseconds to refill one attempt.
    let refillMs: Int64

    struct Bucket {
        /// Attempts left, in thousandths (integer arithmetic, no drift).
        var milliAttempts: Int64
        var updatedMs: Int64
    }

    private var buckets: [String: Bucket] = [:]
    /// Addresses forgotten to keep the table within `capacity`.
    public private(set) var evictions = 0

    /// `limit` failures per minute per address (≥ 1), `capacity` addresses tracked (≥ 1).
    public init(limit: Int, capacity: Int) {
        self.limit = max(1, limit)
        self.capacity = max(1, capacity)
        refillMs = max(1, 60_000 / Int64(self.limit))
    }

    public var trackedAddresses: Int { buckets.count }

    /// Seconds until `address` may try again (≥ 1), or nil when it is not throttled.
    public func retryAfter(_ address: String, nowMs: Int64) -> Int? {
        guard let bucket = buckets[Self.key(address)] else { return nil }
        let attempts = refilled(bucket, nowMs: nowMs)
        guard attempts < 1000 else { return nil }
        let waitMs = (1000 - attempts) * refillMs / 1000
        return Int(max(1, (waitMs + 999) / 1000))
    }

    /// Records one failure of `address`; true when the address is throttled after it.
    @discardableResult
    public mutating func recordFailure(_ address: String, nowMs: Int64) -> Bool {
        let key = Self.key(address)
        var bucket: Bucket
        if let existing = buckets[key] {
            bucket = existing
            bucket.milliAttempts = refilled(existing, nowMs: nowMs)
        } else {
            makeRoom(nowMs: nowMs)
            bucket = Bucket(milliAttempts: Int64(limit) * 1000, updatedMs: nowMs)
        }
        bucket.milliAttempts = max(0, bucket.milliAttempts - 1000)
        bucket.updatedMs = nowMs
        buckets[key] = bucket
        return bucket.milliAttempts < 1000
    }

    /// Attempts left (thousandths) at `nowMs`.
    func refilled(_ bucket: Bucket, nowMs: Int64) -> Int64 {
        let elapsed = max(0, nowMs - bucket.updatedMs)
        let gained = elapsed >= refillMs * Int64(limit) ? Int64(limit) * 1000 : elapsed * 1000 / refillMs
        return min(Int64(limit) * 1000, bucket.milliAttempts + gained)
    }

    private mutating func makeRoom(nowMs: Int64) {
        guard buckets.count >= capacity else { return }
        let full = Int64(limit) * 1000
        let before = buckets.count
        buckets = buckets.filter { refilled($0.value, nowMs: nowMs) < full }
        if buckets.count >= capacity, let oldest = buckets.min(by: { $0.value.updatedMs < $1.value.updatedMs }) {
            buckets[oldest.key] = nil
        }
        evictions += before - buckets.count
    }

    /// The table key: an IPv4 address as is, an IPv6 address by its first four groups (/64),
    /// so one host's many addresses count as one.
    static func key(_ address: String) -> String {
        guard address.contains(":") else { return address }
        // An IPv4 client of a dual-stack listener (`::ffff:192.0.2.1`) counts as its IPv4 address.
        if address.contains("."), let last = address.split(separator: ":").last { return String(last) }
        var groups = address.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if let gap = groups.firstIndex(of: ""), address.contains("::") {
            // Expand `::` so that the prefix has its real groups.
            let present = groups.filter { !$0.isEmpty }.count
            groups.removeAll { $0.isEmpty }
            groups.insert(contentsOf: Array(repeating: "0", count: max(0, 8 - present)), at: min(gap, groups.count))
        }
        return groups.prefix(4).map { $0.isEmpty ? "0" : $0.lowercased() }.joined(separator: ":") + "::/64"
    }
}
