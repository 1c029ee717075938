import MonCore

/// One stored span as a trace reads it back.
public struct TraceSpan: Sendable, Equatable {
    public var host: String
    public var spanID: String
    public var parentSpanID: String?
    public var service: String
    public var name: String
    public var kind: String
    public var startNs: Int64
    public var durationNs: Int64
    public var status: String
    public var statusMessage: String
    /// JSON object text.
    public var attributes: String
    /// JSON array text.
    public var events: String

    public init(
        host: String = "", spanID: String, parentSpanID: String? = nil, service: String = "", name: String = "",
        kind: String = "internal", startNs: Int64, durationNs: Int64, status: String = "unset",
        statusMessage: String = "", attributes: String = "{}", events: String = "[]"
    ) {
        self.host = host
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.service = service
        self.name = name
        self.kind = kind
        self.startNs = startNs
        self.durationNs = durationNs
        self.status = status
        self.statusMessage = statusMessage
        self.attributes = attributes
        self.events = events
    }

    /// End, saturating (a stored duration is never negative, but may be absurd).
    public var endNs: Int64 {
        let (end, overflow) = startNs.addingReportingOverflow(max(0, durationNs))
        return overflow ? .max : end
    }
}

/// A trace's spans as a tree, in display order (depth first, children by start), with each
/// span's self time and the critical path.
///
/// Built from whatever was stored, however odd: a span whose parent is not in the trace (not
/// received, or expired) is shown as a root (`missingParent`); spans whose parents form a
/// cycle are cut at the earliest of them, shown as a root (`inCycle`); a span id stored
/// twice keeps its first row (earliest start) and counts in `duplicates`. Iterative
/// throughout: a chain of any length does not recurse.
public struct TraceTree: Sendable {
    public struct Node: Sendable, Equatable {
        public var span: TraceSpan
        public var depth: Int
        /// The index in `nodes` of the parent shown above it; nil for a root.
        public var parent: Int?
        /// Children in `nodes`, by start.
        public var children: [Int]
        /// Duration minus the union of its children's intervals clipped to its own (ns).
        public var selfTimeNs: Int64
        public var onCriticalPath: Bool
        /// Its parent id names no span of the trace.
        public var missingParent: Bool
        /// Its parent chain loops back to it: cut here.
        public var inCycle: Bool
    }

    /// Depth-first, children ordered by start (then span id).
    public private(set) var nodes: [Node] = []
    /// Span ids on the critical path, from the root down.
    public private(set) var criticalPath: [String] = []
    /// Rows dropped because their span id was already in the trace.
    public private(set) var duplicates = 0
    /// The earliest start and the latest end of all spans (0 when empty).
    public private(set) var startNs: Int64 = 0
    public private(set) var endNs: Int64 = 0
    /// Index in `nodes` of the trace's root: the earliest span without a parent id, else the
    /// earliest root shown; nil when empty.
    public private(set) var root: Int?

    public var durationNs: Int64 { endNs.subtractingReportingOverflow(startNs).overflow ? .max : endNs - startNs }
    public var maxDepth: Int { nodes.map(\.depth).max() ?? 0 }

    public init(_ rows: [TraceSpan]) {
        // Duplicates: the first by (start, stored order) wins.
        let ordered = rows.enumerated().sorted { ($0.element.startNs, $0.offset) < ($1.element.startNs, $1.offset) }
        var spans: [TraceSpan] = []
        var indexByID: [String: Int] = [:]
        spans.reserveCapacity(rows.count)
        for (_, span) in ordered {
            guard indexByID[span.spanID] == nil else {
                duplicates += 1
                continue
            }
            indexByID[span.spanID] = spans.count
            spans.append(span)
        }
        guard !spans.isEmpty else { return }
        startNs = spans.map(\.startNs).min()!
        endNs = spans.map(\.endNs).max()!

        // Children of each span (input order is by start, so each list is by start already;
        // ties by span id for a stable order).
        var childrenOf = [[Int]](repeating: [], count: spans.count)
        var roots: [Int] = []
        var missing = Set<Int>()
        for (index, span) in spans.enumerated() {
            if let parentID = span.parentSpanID, let parent = indexByID[parentID], parent != index {
                childrenOf[parent].append(index)
            } else {
                if span.parentSpanID != nil { missing.insert(index) }
                roots.append(index)
            }
        }
        for index in childrenOf.indices where childrenOf[index].count > 1 {
            childrenOf[index].sort { (spans[$0].startNs, spans[$0].spanID) < (spans[$1].startNs, spans[$1].spanID) }
        }

        var nodeOf = [Int?](repeating: nil, count: spans.count)
        var built: [Node] = []
        built.reserveCapacity(spans.count)
        func walk(from start: Int, cycle: Bool) {
            // Explicit stack: (span index, parent node, depth).
            var stack: [(Int, Int?, Int)] = [(start, nil, 0)]
            while let (index, parent, depth) = stack.popLast() {
                guard nodeOf[index] == nil else { continue }
                let node = built.count
                nodeOf[index] = node
                built.append(
                    Node(
                        span: spans[index], depth: depth, parent: parent, children: [], selfTimeNs: 0,
                        onCriticalPath: false, missingParent: missing.contains(index),
                        inCycle: cycle && index == start))
                if let parent { built[parent].children.append(node) }
                for child in childrenOf[index].reversed() where nodeOf[child] == nil {
                    stack.append((child, node, depth + 1))
                }
            }
        }
        for index in roots { walk(from: index, cycle: false) }
        // What is left is in (or under) a cycle: cut each at its earliest span.
        for index in spans.indices where nodeOf[index] == nil { walk(from: index, cycle: true) }
        nodes = built

        for node in nodes.indices { nodes[node].selfTimeNs = Self.selfTime(of: node, nodes) }
        let mainRoot =
            nodes.indices.first { nodes[$0].parent == nil && nodes[$0].span.parentSpanID == nil }
            ?? nodes.indices.first { nodes[$0].parent == nil }
        root = mainRoot
        if let mainRoot {
            let path = Self.criticalPath(from: mainRoot, nodes)
            for node in path { nodes[node].onCriticalPath = true }
            criticalPath = path.map { nodes[$0].span.spanID }
        }
    }

    /// Duration minus the union of the children's intervals clipped to the node's own.
    static func selfTime(of node: Int, _ nodes: [Node]) -> Int64 {
        let span = nodes[node].span
        let lo = span.startNs
        let hi = span.endNs
        var intervals: [(Int64, Int64)] = []
        for child in nodes[node].children {
            let start = max(lo, nodes[child].span.startNs)
            let end = min(hi, nodes[child].span.endNs)
            if start < end { intervals.append((start, end)) }
        }
        intervals.sort { $0.0 < $1.0 }
        var covered: Int64 = 0
        var current: (Int64, Int64)?
        for interval in intervals {
            if let open = current, interval.0 <= open.1 {
                current = (open.0, max(open.1, interval.1))
            } else {
                if let open = current { covered += open.1 - open.0 }
                current = interval
            }
        }
        if let open = current { covered += open.1 - open.0 }
        let (length, overflow) = hi.subtractingReportingOverflow(lo)
        return overflow ? .max : max(0, length - covered)
    }

    /// The spans that gate the root's end: from the root, the child ending last (within the
    /// window still to explain), its own critical path, then the child ending last before that
    /// child started, and so on. Root first, then depth first.
    static func criticalPath(from root: Int, _ nodes: [Node]) -> [Int] {
        var path: [Int] = []
        // (node, window end): the part of the node's time still to explain ends there.
        var stack: [(Int, Int64)] = [(root, nodes[root].span.endNs)]
        while let (node, windowEnd) = stack.popLast() {
            path.append(node)
            var limit = min(windowEnd, nodes[node].span.endNs)
            let lo = nodes[node].span.startNs
            var picked: [(Int, Int64)] = []
            // By end, latest first: the first child still starting before `limit` has the latest
            // end clipped to it. One pass: a child passed over starts at or after `limit`, which
            // only decreases, so it can never be picked later.
            let byEnd = nodes[node].children.sorted {
                (nodes[$0].span.endNs, nodes[$1].span.startNs) > (nodes[$1].span.endNs, nodes[$0].span.startNs)
            }
            for child in byEnd {
                guard limit > lo else { break }
                guard nodes[child].span.startNs < limit else { continue }
                picked.append((child, min(nodes[child].span.endNs, limit)))
                limit = nodes[child].span.startNs
            }
            // Visited in time order (earliest segment first) after this node.
            for entry in picked { stack.append(entry) }
        }
        return path
    }
}
