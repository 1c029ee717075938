import MonCore

/// Parses `/proc/loadavg`: `2.04 0.80 0.30 4/89 7401`.
public enum LoadAvgParser {
    public static let file = "/proc/loadavg"

    public static func parse(_ bytes: [UInt8]) throws -> LoadAverage {
        let text = ProcText(bytes, file: file)
        try text.requireNotBlank()
        guard let (number, line) = text.numberedLines.first else {
            throw text.error(.empty, line: 0, "no content")
        }
        let fields = ProcText.fields(line)
        guard fields.count >= 3 else {
            throw text.error(.truncated, line: number, "expected 3 load averages, got \(fields.count)")
        }
        var load = LoadAverage(
            load1: try text.double(fields[0], line: number, "load1"),
            load5: try text.double(fields[1], line: number, "load5"),
            load15: try text.double(fields[2], line: number, "load15")
        )
        if fields.count >= 4 {
            let parts = fields[3].split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw text.error(.malformed, line: number, "expected runnable/total, got '\(fields[3].prefix(40))'")
            }
            load.runnable = try text.uint64(parts[0], line: number, "runnable")
            load.tasks = try text.uint64(parts[1], line: number, "tasks")
        }
        return load
    }
}
