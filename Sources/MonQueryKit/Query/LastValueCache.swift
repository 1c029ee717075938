import Glibc
import MonCore
import Synchronization

/// The latest value of every series, and a running histogram per histogram series, fed
/// by the ingest writer after each commit. `/metrics` renders from here: a scrape never
/// queries the database. Series silent for `staleAfterMs` are left out and forgotten.
///
/// Built for a scrape of 10 000+ series in a few milliseconds: each series' sort key and
/// its escaped exposition labels are computed once, when it first appears; entries stay in
/// one array kept sorted (re-sorted only after new series arrived), so a snapshot is a
/// copy-on-write reference to that array and rendering is appending precomputed bytes.
public final class LastValueCache: Sendable {
    public struct Key: Hashable, Sendable {
        public var host: String
        public var name: String
        public var labels: Labels
    }

    public struct Value: Sendable {
        public var kind: MetricKind
        public var value: Double
        public var timestampMs: Int64
    }

    public struct Cumulative: Sendable {
        /// Every window merged since the daemon started (a Prometheus histogram is cumulative).
        public var histogram: Histogram
        public var timestampMs: Int64
    }

    /// What never changes about a series, computed once.
    public final class Series: Sendable {
        public let key: Key
        /// name, host, canonical labels, separated by 0 bytes: the exposition order.
        let sortKey: [UInt8]
        /// The metric name as UTF-8.
        public let nameBytes: [UInt8]
        /// `host="…",label="…"`: sanitized names, escaped values, without the braces.
        public let labelBytes: [UInt8]
        /// `name{labels} `: a value line up to its value, in one piece.
        public let linePrefix: [UInt8]

        /// `nameBytes`: the family's shared copy (`Table.names`), so that telling whether two
        /// neighbours are one family is an identity check.
        init(_ key: Key, nameBytes: [UInt8]) {
            self.key = key
            var sort = Array(key.name.utf8)
            sort.append(0)
            sort.append(contentsOf: key.host.utf8)
            sort.append(0)
            sort.append(contentsOf: key.labels.canonicalKey.utf8)
            sortKey = sort
            self.nameBytes = nameBytes
            var labels: [UInt8] = []
            for (index, (name, value)) in PrometheusText.exposedLabels(key).enumerated() {
                if index > 0 { labels.append(UInt8(ascii: ",")) }
                labels.append(contentsOf: PrometheusText.labelName(name).utf8)
                labels.append(contentsOf: "=\"".utf8)
                labels.append(contentsOf: Labels.escape(value).utf8)
                labels.append(UInt8(ascii: "\""))
            }
            labelBytes = labels
            linePrefix = nameBytes + [UInt8(ascii: "{")] + labels + Array("} ".utf8)
        }

        /// Byte order of the sort keys (`memcmp`; the generic `lexicographicallyPrecedes` compared
        /// byte by byte and was most of a fleet summary's time).
        static func precedes(_ a: Series, _ b: Series) -> Bool {
            a.sortKey.withUnsafeBytes { x in
                b.sortKey.withUnsafeBytes { y in
                    let common = min(x.count, y.count)
                    let order = common == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, common)
                    return order != 0 ? order < 0 : x.count < y.count
                }
            }
        }
    }

    public struct Entry<V: Sendable>: Sendable {
        public let series: Series
        public var value: V
        public var key: Key { series.key }
    }

    /// Entries in exposition order, and where each key is.
    struct Table<V: Sendable> {
        var entries: [Entry<V>] = []
        var index: [Key: Int] = [:]
        /// Entries were appended since the last sort.
        var unsorted = false
        /// One UTF-8 copy of each metric name in use, shared by its series.
        var names: [String: [UInt8]] = [:]
        /// Where each metric name's entries are: `values(named:)` reads a few names of a fleet's
        /// cache (the summary: 10 of ~300 per host) without walking every entry under the lock.
        var byName: [String: [Int]] = [:]

        mutating func update(_ key: Key, _ body: (inout V?) -> Void) {
            if let position = index[key] {
                var value: V? = entries[position].value
                body(&value)
                if let value { entries[position].value = value }
            } else {
                var value: V?
                body(&value)
                guard let value else { return }
                index[key] = entries.count
                byName[key.name, default: []].append(entries.count)
                let nameBytes = names[key.name] ?? Array(key.name.utf8)
                names[key.name] = nameBytes
                entries.append(Entry(series: Series(key, nameBytes: nameBytes), value: value))
                unsorted = true
            }
        }

        /// Drops entries `isLive` refuses and restores the order: cheap when nothing changed.
        mutating func prepare(isLive: (V) -> Bool) {
            var changed = false
            if entries.contains(where: { !isLive($0.value) }) {
                entries.removeAll { !isLive($0.value) }
                names.removeAll(keepingCapacity: true)
                for entry in entries { names[entry.series.key.name] = entry.series.nameBytes }
                changed = true
            }
            if unsorted {
                entries.sort { Series.precedes($0.series, $1.series) }
                unsorted = false
                changed = true
            }
            guard changed else { return }
            index.removeAll(keepingCapacity: true)
            byName.removeAll(keepingCapacity: true)
            for (position, entry) in entries.enumerated() {
                index[entry.series.key] = position
                byName[entry.series.key.name, default: []].append(position)
            }
        }
    }

    struct State {
        var values = Table<Value>()
        var histograms = Table<Cumulative>()
    }

    /// Live entries in exposition order (by name, then host and labels).
    public struct Snapshot: Sendable {
        public var values: [Entry<Value>]
        public var histograms: [Entry<Cumulative>]
    }

    public let staleAfterMs: Int64
    private let state = Mutex(State())

    public init(staleAfterMs: Int64 = 5 * 60 * 1000) {
        self.staleAfterMs = staleAfterMs
    }

    public func record(_ batch: CommittedBatch) {
        state.withLock { state in
            for sample in batch.samples {
                let key = Key(host: batch.host, name: sample.name, labels: sample.labels)
                state.values.update(key) { value in
                    if let existing = value, existing.timestampMs > sample.timestampMs { return }
                    value = Value(kind: sample.kind, value: sample.value, timestampMs: sample.timestampMs)
                }
            }
            for sample in batch.histograms {
                let key = Key(host: batch.host, name: sample.name, labels: sample.labels)
                state.histograms.update(key) { value in
                    var cumulative = value ?? Cumulative(histogram: Histogram(), timestampMs: 0)
                    cumulative.histogram.merge(sample.histogram)
                    cumulative.timestampMs = max(cumulative.timestampMs, sample.timestampMs)
                    value = cumulative
                }
            }
        }
    }

    /// Current entries in exposition order; stale ones are dropped (and forgotten).
    public func snapshot(nowMs: Int64) -> Snapshot {
        state.withLock { state in
            let oldest = nowMs - staleAfterMs
            state.values.prepare { $0.timestampMs >= oldest }
            state.histograms.prepare { $0.timestampMs >= oldest }
            return Snapshot(values: state.values.entries, histograms: state.histograms.entries)
        }
    }

    /// Live values of the series named in `names` (of `host` only, when given), in exposition
    /// order: for callers that read a few metrics (the summary cards, alert rules). Unlike
    /// `snapshot` it neither sorts the cache nor forgets stale entries: only the entries of
    /// those names are read under the lock (`Table.byName`), then the matches are sorted.
    public func values(named names: Set<String>, host: String? = nil, nowMs: Int64) -> [Entry<Value>] {
        let oldest = nowMs - staleAfterMs
        let (matches, inOrder) = state.withLock { state in
            var positions: [Int] = []
            for name in names {
                for position in state.values.byName[name] ?? [] {
                    let entry = state.values.entries[position]
                    if entry.value.timestampMs >= oldest && (host == nil || entry.series.key.host == host) {
                        positions.append(position)
                    }
                }
            }
            // While the table is in exposition order, so are the positions: sorting integers
            // replaces comparing sort keys byte by byte (most of a fleet summary's time).
            let inOrder = !state.values.unsorted
            if inOrder { positions.sort() }
            return (positions.map { state.values.entries[$0] }, inOrder)
        }
        return inOrder ? matches : matches.sorted { Series.precedes($0.series, $1.series) }
    }

    public var count: Int { state.withLock { $0.values.entries.count + $0.histograms.entries.count } }
}
