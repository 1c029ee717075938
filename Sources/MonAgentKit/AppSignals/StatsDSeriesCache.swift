import Glibc

/// Series identities seen recently — a StatsD line's type, name and `#` section, as bytes —
/// each with what it resolved to (`AppAggregator.Route`). A line is found again by hashing
/// and comparing its bytes in place, so a known series costs no String, no label set and no
/// sanitizing. Bounded: when `maxEntries` identities (or `maxBytes` of their bytes) are held,
/// the next new one empties it first; what it held is always worked out again the same way.
/// `maxEntries` 0 keeps nothing (every line is resolved afresh, for tests).
struct StatsDSeriesCache<Payload> {
    let maxEntries: Int
    let maxBytes: Int
    /// One per identity, in the order they were inserted; indexed by the slot `find` returns.
    var payloads: [Payload] = []
    /// Open addressing, linear probing: an index into `entries` + 1, 0 when free.
    private var table: [Int32]
    private var entries: [Entry] = []
    /// The name and tag bytes of every identity, back to back.
    private var bytes: [UInt8] = []

    private struct Entry {
        var hash: UInt64
        var offset: Int
        var nameCount: Int32
        var tagsCount: Int32
        var kind: StatsDLine.Kind
    }

    init(maxEntries: Int, maxBytes: Int = 1 << 20) {
        self.maxEntries = max(0, maxEntries)
        self.maxBytes = maxBytes
        var capacity = 16
        while capacity < 2 * self.maxEntries { capacity *= 2 }
        table = [Int32](repeating: 0, count: capacity)
    }

    var count: Int { entries.count }

    /// The slot of the line's identity, or nil when it is not held.
    func find(_ line: StatsDRawLine) -> Int? {
        guard maxEntries > 0 else { return nil }
        let hash = Self.hash(line)
        let mask = table.count - 1
        var position = Int(truncatingIfNeeded: hash) & mask
        while true {
            let stored = Int(table[position])
            if stored == 0 { return nil }
            let entry = entries[stored - 1]
            if entry.hash == hash, entry.kind == line.kind, Int(entry.nameCount) == line.name.count,
                Int(entry.tagsCount) == line.tags.count, matches(entry, line)
            {
                return stored - 1
            }
            position = (position + 1) & mask
        }
    }

    /// Holds the line's identity (not held yet) with its payload; returns its slot. Empties
    /// the cache first when it is full.
    mutating func insert(_ line: StatsDRawLine, _ payload: Payload) -> Int {
        let size = line.name.count + line.tags.count
        if entries.count >= maxEntries || bytes.count + size > maxBytes {
            payloads.removeAll(keepingCapacity: true)
            entries.removeAll(keepingCapacity: true)
            bytes.removeAll(keepingCapacity: true)
            for index in table.indices { table[index] = 0 }
        }
        let hash = Self.hash(line)
        let entry = Entry(
            hash: hash, offset: bytes.count, nameCount: Int32(line.name.count), tagsCount: Int32(line.tags.count),
            kind: line.kind)
        bytes.append(contentsOf: line.name)
        bytes.append(contentsOf: line.tags)
        entries.append(entry)
        payloads.append(payload)
        let mask = table.count - 1
        var position = Int(truncatingIfNeeded: hash) & mask
        while table[position] != 0 { position = (position + 1) & mask }
        table[position] = Int32(entries.count)
        return entries.count - 1
    }

    private func matches(_ entry: Entry, _ line: StatsDRawLine) -> Bool {
        bytes.withUnsafeBytes { stored in
            Self.equal(stored, entry.offset, line.name)
                && Self.equal(stored, entry.offset + Int(entry.nameCount), line.tags)
        }
    }

    private static func equal(_ stored: UnsafeRawBufferPointer, _ offset: Int, _ bytes: UnsafeRawBufferPointer) -> Bool
    {
        guard bytes.count > 0, let base = stored.baseAddress, let other = bytes.baseAddress else { return true }
        return memcmp(base + offset, other, bytes.count) == 0
    }

    /// A 64-bit hash of the type, the name and the tags, eight bytes at a time.
    static func hash(_ line: StatsDRawLine) -> UInt64 {
        var hash = 0x9E37_79B9_7F4A_7C15 &* UInt64(line.name.count &+ 1)
        hash = mix(hash, line.kind.code)
        hash = add(line.name, to: hash)
        hash = mix(hash, 0x7C)
        hash = add(line.tags, to: hash)
        hash ^= hash >> 32
        hash &*= 0xD6E8_FEB8_6659_FD93
        hash ^= hash >> 32
        return hash
    }

    @inline(__always)
    private static func mix(_ hash: UInt64, _ word: UInt64) -> UInt64 {
        let product = (hash ^ word).multipliedFullWidth(by: 0x9FB2_1C65_1E98_DF25)
        return product.high ^ product.low
    }

    @inline(__always)
    private static func add(_ bytes: UnsafeRawBufferPointer, to start: UInt64) -> UInt64 {
        var hash = start
        var index = 0
        let count = bytes.count
        while index + 8 <= count {
            hash = mix(hash, bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            index += 8
        }
        if index < count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while index < count {
                tail |= UInt64(bytes[index]) << shift
                shift += 8
                index += 1
            }
            hash = mix(hash, tail)
        }
        return hash
    }
}

extension StatsDLine.Kind {
    /// A number per type, for hashing.
    fileprivate var code: UInt64 {
        switch self {
        case .counter: 1
        case .gauge: 2
        case .timer: 3
        case .histogram: 4
        case .distribution: 5
        case .set: 6
        }
    }
}
