import Foundation
import MonCore

/// Derives index suggestions from an `EXPLAIN (FORMAT JSON)` plan.
///
/// Rules, deliberately simple and explainable: a sequential scan with a filter on a
/// table above a size threshold suggests an index on the filtered columns — a trigram
/// GIN index when the filter is a LIKE/ILIKE (a B-tree cannot serve `'%x%'`), a B-tree
/// index for equality and range comparisons.
public enum PlanAdvisor {
    public struct Suggestion: Sendable, Equatable {
        public var table: String
        public var columns: [String]
        /// `trigram_index` or `btree_index`.
        public var kind: String
        public var reason: String
        public var sql: String

        public var json: JSONValue {
            .object([
                ("table", .string(table)), ("columns", .array(columns.map { .string($0) })), ("kind", .string(kind)),
                ("reason", .string(reason)), ("sql", .string(sql)),
            ])
        }
    }

    /// A sequential scan found in a plan.
    public struct SeqScan: Sendable, Equatable {
        public var relation: String
        public var schema: String?
        public var filter: String?
        public var planRows: Double?
    }

    /// `orders` stays as is; `Order Items` becomes `"Order Items"` (embedded quotes doubled).
    public static func quoteIdentifier(_ name: String) -> String {
        let plain = name.unicodeScalars.enumerated().allSatisfy { index, scalar in
            ("a"..."z").contains(scalar) || scalar == "_"
                || (index > 0 && (("0"..."9").contains(scalar) || scalar == "$"))
        }
        if plain && !name.isEmpty { return name }
        return "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Every Seq Scan node of the plan (JSON text as returned by EXPLAIN).
    public static func seqScans(planJSON: String) -> [SeqScan] {
        guard let root = try? JSONSerialization.jsonObject(with: Data(planJSON.utf8)) else { return [] }
        var scans: [SeqScan] = []
        func walk(_ node: Any) {
            if let list = node as? [Any] {
                list.forEach(walk)
                return
            }
            guard let object = node as? [String: Any] else { return }
            if let plan = object["Plan"] { walk(plan) }
            if object["Node Type"] as? String == "Seq Scan", let relation = object["Relation Name"] as? String {
                scans.append(
                    SeqScan(
                        relation: relation,
                        schema: object["Schema"] as? String,
                        filter: object["Filter"] as? String,
                        planRows: object["Plan Rows"] as? Double
                    )
                )
            }
            if let children = object["Plans"] { walk(children) }
        }
        walk(root)
        return scans
    }

    /// Columns compared in a filter, split by whether the comparison is a LIKE.
    public static func filteredColumns(_ filter: String) -> (like: [String], compared: [String]) {
        let pattern = #"([A-Za-z_][A-Za-z0-9_]*)\)?(?:::[A-Za-z ]+(?:\[\])?\)?)?\s+(!?~~\*?|=|<>|<=|>=|<|>)\s"#
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return ([], []) }
        var like: [String] = []
        var compared: [String] = []
        let range = NSRange(filter.startIndex..., in: filter)
        for match in regex.matches(in: filter, range: range) {
            guard let columnRange = Range(match.range(at: 1), in: filter),
                let operatorRange = Range(match.range(at: 2), in: filter)
            else { continue }
            let column = String(filter[columnRange])
            let op = String(filter[operatorRange])
            if op.hasPrefix("!") || op == "<>" { continue }  // negations are not served by an index
            if op.hasPrefix("~~") {
                if !like.contains(column) { like.append(column) }
            } else if !compared.contains(column) {
                compared.append(column)
            }
        }
        return (like, compared)
    }

    /// Suggestions for the plan; `tableBytes` gives a table's size (nil when unknown).
    public static func suggestions(
        planJSON: String,
        minTableBytes: Double,
        tableBytes: (String) -> Double?
    ) -> [Suggestion] {
        var out: [Suggestion] = []
        for scan in seqScans(planJSON: planJSON) {
            guard let filter = scan.filter else { continue }
            let table = (scan.schema.map { quoteIdentifier($0) + "." } ?? "") + quoteIdentifier(scan.relation)
            let size = tableBytes(table) ?? 0
            guard size >= minTableBytes else { continue }
            let megabytes = (size / 1_048_576 * 10).rounded() / 10
            let (like, compared) = filteredColumns(filter)
            for column in like {
                out.append(
                    Suggestion(
                        table: table,
                        columns: [column],
                        kind: "trigram_index",
                        reason:
                            "sequential scan of \(table) (\(megabytes) MB) filtering \(column) with LIKE; a B-tree cannot serve '%...%' patterns",
                        sql:
                            "CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX CONCURRENTLY ON \(table) USING gin (\(column) gin_trgm_ops);"
                    )
                )
            }
            if !compared.isEmpty {
                out.append(
                    Suggestion(
                        table: table,
                        columns: compared,
                        kind: "btree_index",
                        reason:
                            "sequential scan of \(table) (\(megabytes) MB) filtering on \(compared.joined(separator: ", "))",
                        sql: "CREATE INDEX CONCURRENTLY ON \(table) (\(compared.joined(separator: ", ")));"
                    )
                )
            }
        }
        return out
    }
}
