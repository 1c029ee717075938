/// Array literals for bound parameters (`$1::text[]`), quoted element by element.
public enum PostgresArray {
    /// `["a", "b\"c"]` → `{"a","b\"c"}`.
    public static func text(_ values: [String]) -> String {
        "{"
            + values.map { value in
                var quoted = "\""
                for scalar in value.unicodeScalars {
                    if scalar == "\"" || scalar == "\\" { quoted.unicodeScalars.append("\\") }
                    quoted.unicodeScalars.append(scalar)
                }
                return quoted + "\""
            }.joined(separator: ",") + "}"
    }

    /// `[1, 2]` → `{1,2}`.
    public static func integers(_ values: [Int64]) -> String {
        "{" + values.map(String.init).joined(separator: ",") + "}"
    }

    /// `{1,-2,3}` → `[1, -2, 3]` (the text form of an integer array; anything else is skipped).
    public static func parseIntegers(_ text: String) -> [Int64] {
        guard text.hasPrefix("{"), text.hasSuffix("}") else { return [] }
        return text.dropFirst().dropLast().split(separator: ",").compactMap { Int64($0) }
    }
}
