import MonCore

/// Blocking trees of a `BlockingReport`: each rooted at a blocker that waits on nobody, its
/// waiters below it, their own waiters below them.
///
/// Pure and bounded whatever the report: a session appears at most once per tree, trees
/// stop at `maxDepth` levels and all trees together at `maxNodes` nodes (what is left out is
/// counted in `omitted`). Sessions that only block each other in a circle (a deadlock not yet
/// broken, or a report read mid-change) have no such root: each circle becomes a tree rooted
/// at its lowest pid, marked `cycle`.
public struct BlockingTrees: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        public var pid: Int64
        public var waiting: [Node]
    }

    public struct Tree: Sendable, Equatable {
        public var blocker: Int64
        public var waiting: [Node]
        /// Sessions below the blocker.
        public var waitingCount: Int
        /// The blocker itself waits on one of the sessions below it.
        public var cycle: Bool
    }

    /// Largest tree first.
    public var trees: [Tree]
    /// Nodes left out by `maxDepth` or `maxNodes`.
    public var omitted: Int

    public static let maxDepth = 32
    public static let maxNodes = 2000

    public init(_ report: BlockingReport, maxDepth: Int = maxDepth, maxNodes: Int = maxNodes) {
        var waitersOf: [Int64: [Int64]] = [:]
        var waiters = Set<Int64>()
        for edge in report.edges where edge.waiter != edge.blocker {
            waitersOf[edge.blocker, default: []].append(edge.waiter)
            waiters.insert(edge.waiter)
        }
        for key in waitersOf.keys { waitersOf[key] = Array(Set(waitersOf[key] ?? [])).sorted() }
        var budget = maxNodes
        var omitted = 0

        /// The waiters of `pid` not yet in this tree, depth first; `inTree` stops circles.
        func children(of pid: Int64, depth: Int, inTree: inout Set<Int64>) -> [Node] {
            var nodes: [Node] = []
            for waiter in waitersOf[pid] ?? [] where !inTree.contains(waiter) {
                guard depth < maxDepth, budget > 0 else {
                    omitted += 1
                    continue
                }
                inTree.insert(waiter)
                budget -= 1
                nodes.append(Node(pid: waiter, waiting: children(of: waiter, depth: depth + 1, inTree: &inTree)))
            }
            return nodes
        }
        func tree(_ root: Int64, cycle: Bool) -> Tree {
            var inTree: Set<Int64> = [root]
            let waiting = children(of: root, depth: 0, inTree: &inTree)
            return Tree(blocker: root, waiting: waiting, waitingCount: inTree.count - 1, cycle: cycle)
        }

        /// Adds every session below `starts` (and themselves) to `reached`, without limits.
        func reach(_ starts: [Int64], into reached: inout Set<Int64>) {
            reached.formUnion(starts)
            var stack = starts
            while let pid = stack.popLast() {
                for waiter in waitersOf[pid] ?? [] where reached.insert(waiter).inserted { stack.append(waiter) }
            }
        }
        let blockers = waitersOf.keys.sorted()
        let roots = blockers.filter { !waiters.contains($0) }
        var trees = roots.map { tree($0, cycle: false) }
        var reached = Set<Int64>()
        reach(roots, into: &reached)
        // A blocker no root reaches blocks in a circle: the circle's lowest pid roots it.
        for pid in blockers where !reached.contains(pid) {
            trees.append(tree(pid, cycle: true))
            reach([pid], into: &reached)
        }
        self.trees = trees.sorted { ($0.waitingCount, -$0.blocker) > ($1.waitingCount, -$1.blocker) }
        self.omitted = omitted
    }
}

extension BlockingTrees {
    /// One line naming the blocker of the largest tree, for an alert's `{{detail}}`:
    /// "blocked by pid 1234 (idle in transaction for 95 s: UPDATE items SET …)", plus how many
    /// other blockers there are. `statement` shapes the statement shown (cut, literals hidden).
    public func summary(_ report: BlockingReport, statement: (String) -> String) -> String {
        guard let first = trees.first else { return report.error.map { "blockers unreadable: \($0)" } ?? "" }
        let session = report.sessions[first.blocker]
        var facts: [String] = []
        let age = session?.transactionSeconds ?? session?.stateSeconds
        if let state = session?.state {
            facts.append(age.map { "\(state) for \(Int($0.rounded())) s" } ?? state)
        } else if first.blocker == 0 {
            facts.append("a prepared transaction")
        }
        var text = "blocked by pid \(first.blocker)"
        let shown = session?.statement.map(statement) ?? ""
        let inside = facts.joined() + (shown.isEmpty ? "" : (facts.isEmpty ? "" : ": ") + shown)
        if !inside.isEmpty { text += " (\(inside))" }
        text += ", \(first.waitingCount) waiting"
        if trees.count > 1 { text += "; \(trees.count - 1) other blocker\(trees.count == 2 ? "" : "s")" }
        return text
    }
}
