import MonCore

/// An `EXPLAIN (FORMAT JSON)` plan as the indented text an operator reads: one line per
/// node with its relation, index, condition and estimated rows.
public enum PlanText {
    /// `[{"Plan": {...}}]`, `{"Plan": {...}}` or a node itself; "" for anything else.
    public static func render(_ plan: JSONValue) -> String {
        var lines: [String] = []
        if case .array(let items) = plan, let first = items.first {
            node(first["Plan"] ?? first, depth: 0, into: &lines)
        } else if let root = plan["Plan"] {
            node(root, depth: 0, into: &lines)
        } else {
            node(plan, depth: 0, into: &lines)
        }
        return lines.joined(separator: "\n")
    }

    static func node(_ node: JSONValue, depth: Int, into lines: inout [String]) {
        guard case .object = node, depth < 64, let type = node["Node Type"]?.stringValue else { return }
        var line = String(repeating: "  ", count: depth) + (depth > 0 ? "-> " : "") + type
        if let index = node["Index Name"]?.stringValue { line += " using \(index)" }
        if let relation = node["Relation Name"]?.stringValue {
            let schema = node["Schema"]?.stringValue.map { $0 + "." } ?? ""
            line += " on \(schema)\(relation)"
            if let alias = node["Alias"]?.stringValue, alias != relation { line += " \(alias)" }
        }
        if let rows = node["Plan Rows"]?.doubleValue { line += "  (rows≈\(DashboardFormat.count(rows)))" }
        lines.append(line)
        let pad = String(repeating: "  ", count: depth) + (depth > 0 ? "     " : "  ")
        for key in ["Index Cond", "Filter", "Hash Cond", "Join Filter", "Sort Key", "Group Key"] {
            guard let value = node[key] else { continue }
            let text: String
            if case .array(let parts) = value {
                text = parts.compactMap(\.stringValue).joined(separator: ", ")
            } else {
                text = value.stringValue ?? value.encoded()
            }
            lines.append(pad + "\(key): \(text)")
        }
        if case .array(let children)? = node["Plans"] {
            for child in children { self.node(child, depth: depth + 1, into: &lines) }
        }
    }
}
