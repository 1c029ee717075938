import MonCore

/// How a report names statements and their plans' hints.
enum ReportText {
    /// A statement's text on one line (whitespace runs as one space), or its queryid.
    static func statement(_ statement: QueryStore.StatementSummary) -> String {
        guard let query = statement.query, !query.isEmpty else { return "queryid \(statement.queryid)" }
        return oneLine(query)
    }

    /// `text` with every run of whitespace and control characters as one space.
    static func oneLine(_ text: String) -> String {
        var out = ""
        var space = false
        for scalar in text.unicodeScalars {
            if scalar.properties.isWhitespace || scalar.value < 0x20 || scalar.value == 0x7F {
                space = !out.isEmpty
            } else {
                if space { out.unicodeScalars.append(" ") }
                space = false
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// The hints of a statement's latest plan: its index suggestions (reason and SQL), else
    /// the plan's top node, else why there is no plan; empty without a plan event.
    static func planHints(_ statement: QueryStore.StatementSummary) -> [String] {
        guard let payload = statement.plan?.value else { return [] }
        if case .array(let suggestions)? = payload["suggestions"], !suggestions.isEmpty {
            return suggestions.map { suggestion in
                let reason = suggestion["reason"]?.stringValue ?? "index suggestion"
                let sql = suggestion["sql"]?.stringValue.map { ": " + $0 } ?? ""
                return oneLine(reason + sql)
            }
        }
        if let plan = payload["plan"]?.stringValue.flatMap(JSONValue.parse) {
            let top = PlanText.render(plan).split(separator: "\n").first.map(String.init) ?? ""
            if !top.isEmpty { return ["plan: " + oneLine(top)] }
        }
        if let error = payload["error"]?.stringValue { return ["no plan: " + oneLine(error)] }
        return []
    }
}
