/// Parses `/proc/[pid]/stat` (proc(5)):
///
/// ```
/// 7719 (cat) R 7703 7703 6928 0 -1 4194304 114 0 0 0 0 0 0 0 20 0 1 0 105580 3133440 359 ...
/// ```
/// `comm` is whatever lies between the first `(` and the **last** `)`: a process may
/// name itself `a) (b` and the fields after it are still found.
public enum ProcessStatParser {
    public static let file = "/proc/[pid]/stat"

    public static func parse(_ bytes: [UInt8]) throws -> ProcessStat {
        let text = ProcText(bytes, file: file)
        try text.requireNotBlank()
        let line = text.lines.first { !ProcText.fields($0).isEmpty } ?? ""
        guard let open = line.firstIndex(of: "("), let close = line.lastIndex(of: ")"), open < close else {
            throw text.error(.malformed, line: 1, "no '(comm)' in '\(line.prefix(40))'")
        }
        let pidText = line[..<open].trimmingSpaces
        guard let pid = Int32(pidText), pid >= 0 else {
            throw text.error(.malformed, line: 1, "bad pid '\(pidText.prefix(20))'")
        }
        let comm = String(line[line.index(after: open)..<close])
        // fields[0] is field 3 (state) of proc(5); field N is fields[N - 3].
        let fields = ProcText.fields(line[line.index(after: close)...])
        guard fields.count >= 22 else {
            throw text.error(.truncated, line: 1, "expected at least 24 fields, got \(fields.count + 2)")
        }
        let rss = try text.int64(fields[21], line: 1, "rss")
        return ProcessStat(
            pid: pid,
            comm: comm,
            state: String(fields[0]),
            utimeTicks: try text.uint64(fields[11], line: 1, "utime"),
            stimeTicks: try text.uint64(fields[12], line: 1, "stime"),
            threads: try text.int64(fields[17], line: 1, "num_threads"),
            startTimeTicks: try text.uint64(fields[19], line: 1, "starttime"),
            rssPages: rss > 0 ? UInt64(rss) : 0
        )
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var result = self
        while result.first == " " { result.removeFirst() }
        while result.last == " " { result.removeLast() }
        return result
    }
}
