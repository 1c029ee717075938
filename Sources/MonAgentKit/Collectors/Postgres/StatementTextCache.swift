/// Query texts of `pg_stat_statements` entries, each fetched once.
///
/// The entries are polled with `pg_stat_statements(showtext := false)`; a text is read
/// (`showtext := true`, which makes the server read its whole query-text file) only for
/// statements that ran since the previous poll and whose text is not held yet. A text is
/// forgotten when its entry leaves the view (evicted, or reset and not run since) or is
/// reset, so a query id that comes back after `pg_stat_statements_reset()` gets its text read
/// again. Bounded by `capacity` texts and `maxTotalBytes`: beyond them a text serves the poll
/// that read it and is read again next time.
public struct StatementTextCache: Sendable {
    public let capacity: Int
    public let maxTextBytes: Int
    public let maxTotalBytes: Int
    private var texts: [StatementKey: String] = [:]
    private var totalBytes = 0
    /// Texts the server answered NULL for (not kept: asked again the next time the statement runs).
    public private(set) var nullTexts = 0
    /// Texts not kept because the cache was full.
    public private(set) var notKept = 0

    public init(capacity: Int = 5000, maxTextBytes: Int = 8192, maxTotalBytes: Int = 4 << 20) {
        self.capacity = capacity
        self.maxTextBytes = maxTextBytes
        self.maxTotalBytes = maxTotalBytes
    }

    public var count: Int { texts.count }
    public var bytes: Int { totalBytes }

    public subscript(key: StatementKey) -> String? { texts[key] }

    /// The statements among `deltas` whose text must be read: reset ones lose the text they had.
    public mutating func keysToFetch(for deltas: [StatementDelta]) -> [StatementKey] {
        var missing: [StatementKey] = []
        for delta in deltas {
            if delta.reset { forget(delta.key) }
            if texts[delta.key] == nil { missing.append(delta.key) }
        }
        return missing
    }

    /// Takes a text read from the server (`nil`: SQL NULL) and returns it as shipped
    /// (its first `maxTextBytes` bytes).
    @discardableResult
    public mutating func store(_ text: String?, for key: StatementKey) -> String? {
        guard let text else {
            nullTexts += 1
            return nil
        }
        let shipped = Self.truncated(text, maxBytes: maxTextBytes)
        let size = shipped.utf8.count
        forget(key)
        guard texts.count < capacity, totalBytes + size <= maxTotalBytes else {
            notKept += 1
            return shipped
        }
        texts[key] = shipped
        totalBytes += size
        return shipped
    }

    /// Forgets the texts of statements the view no longer holds.
    public mutating func retain(where isPresent: (StatementKey) -> Bool) {
        guard texts.contains(where: { !isPresent($0.key) }) else { return }
        texts = texts.filter { isPresent($0.key) }
        totalBytes = texts.values.reduce(0) { $0 + $1.utf8.count }
    }

    public mutating func removeAll() {
        texts.removeAll()
        totalBytes = 0
    }

    private mutating func forget(_ key: StatementKey) {
        if let old = texts.removeValue(forKey: key) { totalBytes -= old.utf8.count }
    }

    /// The first `maxBytes` bytes of UTF-8 (a character cut in two becomes U+FFFD).
    static func truncated(_ text: String, maxBytes: Int) -> String {
        text.utf8.count > maxBytes ? String(decoding: text.utf8.prefix(maxBytes), as: UTF8.self) : text
    }
}
