import MonCore

/// Decides whether a `pg_stat_statements` text may be planned, and how the planning session
/// is pinned (pure: unit-tested without a server).
///
/// Only one plain `SELECT`, `INSERT`, `UPDATE`, `DELETE` or `WITH …` statement is planned:
/// a text with a `;` left after its end (two statements, or one hidden in a comment or a
/// string) is refused, and so is any other kind (`DO`, `CALL`, DDL, `COPY`, `EXPLAIN`, …).
/// EXPLAIN without ANALYZE never executes the statement, nor a VOLATILE function in it; what
/// planning itself runs (an IMMUTABLE function folded into a constant, a STABLE one evaluated
/// to estimate a selectivity — shown by `HostileInputTests.leastPrivilegeExplain`) runs in a
/// read-only transaction it cannot leave, with a pinned `search_path`, a statement and a lock
/// timeout, as the agent's own role.
public enum ExplainableStatement {
    /// Why a text is not planned.
    public struct Refusal: Error, Sendable, Equatable {
        public var message: String
    }

    static let keywords: Set<String> = ["select", "insert", "update", "delete", "with"]

    /// The text to plan (trailing spaces and `;` removed), or why there is none.
    public static func check(_ text: String) -> Result<String, Refusal> {
        if text.contains("\u{0}") { return .failure(Refusal(message: "the statement text contains a NUL byte")) }
        let word = firstWord(text)
        guard keywords.contains(word) else {
            return .failure(
                Refusal(message: "only SELECT, INSERT, UPDATE, DELETE and WITH statements are explained"))
        }
        var end = text.endIndex
        while end > text.startIndex {
            let before = text.index(before: end)
            guard text[before].isWhitespace || text[before] == ";" else { break }
            end = before
        }
        let body = text[..<end]
        guard !body.contains(";") else {
            return .failure(
                Refusal(message: "the statement text contains ';': only a single statement is explained"))
        }
        return .success(String(body))
    }

    /// The first word after leading spaces and comments, lower-cased ("" when none).
    static func firstWord(_ text: String) -> String {
        var rest = Substring(text)
        while true {
            rest = rest.drop { $0.isWhitespace }
            if rest.hasPrefix("--") {
                rest = rest.drop { $0 != "\n" }
            } else if rest.hasPrefix("/*"), let end = rest.range(of: "*/") {
                rest = rest[end.upperBound...]
            } else {
                break
            }
        }
        return rest.prefix { $0.isLetter }.lowercased()
    }

    /// `pg_catalog`, then `schemas` (quoted), then `pg_temp`: built-in names always win, the
    /// application's tables resolve as in its default `search_path`, and no schema named after
    /// the agent's role (`"$user"`) or a temporary object can shadow them.
    public static func searchPath(_ schemas: [String]) -> String {
        (["pg_catalog"] + schemas.map(quoteIdentifier) + ["pg_temp"]).joined(separator: ", ")
    }

    /// `name` as a quoted SQL identifier (`"` doubled).
    public static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }
}
