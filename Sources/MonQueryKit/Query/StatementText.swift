import MonCore

/// How SQL statement texts are shown to the viewer role and in alert summaries.
public enum StatementText {
    /// Characters of a statement's text shown to the viewer role (`/postgres/slow_queries`,
    /// the blocking trees of `/postgres/connections`, alert details).
    public static let viewerCharacters = 40

    /// The first `viewerCharacters` characters, with "…" when there were more.
    public static func truncated(_ text: String) -> String {
        text.count > viewerCharacters ? String(text.prefix(viewerCharacters)) + "…" : text
    }

    /// A live statement (from `pg_stat_activity`, literals and all) for the viewer role: the
    /// content of every quoted literal replaced by `?`, then truncated.
    public static func forViewer(_ text: String) -> String {
        truncated(maskingLiterals(text))
    }

    /// `'…'` literals (and `E'…'`, whose `\'` does not close them) become `'?'`.
    public static func maskingLiterals(_ text: String) -> String {
        var out = ""
        var inLiteral = false
        var escapes = false
        var previous: Character = " "
        var skipNext = false
        for character in text {
            if inLiteral {
                if skipNext {
                    skipNext = false
                } else if escapes && character == "\\" {
                    skipNext = true
                } else if character == "'" {
                    inLiteral = false
                    out.append("'")
                }
            } else {
                out.append(character)
                if character == "'" {
                    inLiteral = true
                    escapes = previous == "E" || previous == "e"
                    out.append("?")
                }
            }
            previous = character
        }
        return out
    }
}
