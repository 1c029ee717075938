import MonCore

/// Parses `/proc/loadavg`: `2.04 0.80 0.30 4/89 7401`. On the bytes in place (read every cycle).
public enum LoadAvgParser {
    public static let file = "/proc/loadavg"

    public static func parse(_ bytes: [UInt8]) throws -> LoadAverage {
        try bytes.withUnsafeBufferPointer { try parse($0) }
    }

    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> LoadAverage {
        var load: LoadAverage?
        try ProcBytes.forEachLine(bytes) { number, line in
            guard load == nil else { return }
            var fields = ProcBytes.Fields(line)
            var averages = (0.0, 0.0, 0.0)
            for (index, name) in ["load1", "load5", "load15"].enumerated() {
                guard let field = fields.next() else {
                    throw error(.truncated, line: number, "expected 3 load averages, got \(index)")
                }
                guard let value = ProcBytes.finiteDouble(field) else {
                    throw error(.malformed, line: number, "\(name) is not a number: '\(ProcBytes.text(field))'")
                }
                switch index {
                case 0: averages.0 = value
                case 1: averages.1 = value
                default: averages.2 = value
                }
            }
            var result = LoadAverage(load1: averages.0, load5: averages.1, load15: averages.2)
            if let tasks = fields.next() {
                guard let slash = tasks.firstIndex(of: UInt8(ascii: "/")),
                    !tasks[(slash + 1)...].contains(UInt8(ascii: "/"))
                else {
                    throw error(.malformed, line: number, "expected runnable/total, got '\(ProcBytes.text(tasks))'")
                }
                result.runnable = try unsigned(UnsafeBufferPointer(rebasing: tasks[..<slash]), line: number, "runnable")
                result.tasks = try unsigned(UnsafeBufferPointer(rebasing: tasks[(slash + 1)...]), line: number, "tasks")
            }
            load = result
        }
        guard let load else { throw error(.empty, line: 0, "no content") }
        return load
    }

    private static func unsigned(_ field: UnsafeBufferPointer<UInt8>, line: Int, _ what: String) throws -> UInt64 {
        guard let value = ProcBytes.unsignedInteger(field) else {
            throw error(.malformed, line: line, "\(what) is not an unsigned integer: '\(ProcBytes.text(field))'")
        }
        return value
    }

    private static func error(_ code: ProcParseError.Code, line: Int, _ reason: String) -> ProcParseError {
        ProcParseError(code, file: file, line: line, reason: reason)
    }
}
