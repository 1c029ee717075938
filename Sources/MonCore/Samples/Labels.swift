/// A label set kept sorted by name, so equal sets compare and hash equal.
public struct Labels: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public struct Pair: Sendable, Hashable {
        public var name: String
        public var value: String
    }

    public private(set) var pairs: [Pair]

    public init() { pairs = [] }

    public init(_ dictionary: [String: String]) {
        pairs = dictionary.map { Pair(name: $0.key, value: $0.value) }.sorted { $0.name < $1.name }
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        // Straight into the sorted pairs (no Dictionary): labels are built for every sample of a cycle.
        pairs = []
        pairs.reserveCapacity(elements.count)
        for (name, value) in elements { set(name, value) }
    }

    /// Pairs in any order, as a decoder reads them; a repeated name keeps its last value.
    /// Linear when they arrive sorted (the encoder writes them so), n log n otherwise: a frame
    /// of samples with 255 labels each must not cost n² string compares per sample.
    public init(decodedPairs: [Pair]) {
        var ascending = true
        for index in decodedPairs.indices.dropFirst() where !(decodedPairs[index - 1].name < decodedPairs[index].name) {
            ascending = false
            break
        }
        if ascending {
            pairs = decodedPairs
            return
        }
        // Stable by name (arrival order breaks ties), then the last of each name wins.
        let ordered = decodedPairs.indices.sorted {
            (decodedPairs[$0].name, $0) < (decodedPairs[$1].name, $1)
        }
        pairs = []
        pairs.reserveCapacity(decodedPairs.count)
        for index in ordered {
            let pair = decodedPairs[index]
            if let last = pairs.last, last.name == pair.name {
                pairs[pairs.count - 1] = pair
            } else {
                pairs.append(pair)
            }
        }
    }

    public subscript(name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    public var isEmpty: Bool { pairs.isEmpty }
    public var count: Int { pairs.count }

    public func makeIterator() -> IndexingIterator<[Pair]> { pairs.makeIterator() }

    /// Adds or replaces one label, keeping the order.
    public mutating func set(_ name: String, _ value: String) {
        if let index = pairs.firstIndex(where: { $0.name == name }) {
            pairs[index].value = value
        } else {
            let index = pairs.firstIndex { $0.name > name } ?? pairs.endIndex
            pairs.insert(Pair(name: name, value: value), at: index)
        }
    }

    /// Canonical text form `a="x",b="y"` with Prometheus escaping; the series identity in storage.
    public var canonicalKey: String {
        var out = ""
        for (index, pair) in pairs.enumerated() {
            if index > 0 { out += "," }
            out += pair.name
            out += "=\""
            out += Labels.escape(pair.value)
            out += "\""
        }
        return out
    }

    /// Escapes a label value as the Prometheus text format requires (`\\`, `\"`, `\n`).
    public static func escape(_ value: String) -> String {
        // Scalars, not Characters: a combining mark after a quote, or "\r\n", is one Character.
        guard value.unicodeScalars.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
        var out = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
            case "\"": out.append(contentsOf: "\\\"".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }
}
