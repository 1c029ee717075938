/// Parses `/proc/[pid]/stat` (proc(5)):
///
/// ```
/// 7719 (cat) R 7703 7703 6928 0 -1 4194304 114 0 0 0 0 0 0 0 20 0 1 0 105580 3133440 359 ...
/// ```
/// `comm` is whatever lies between the first `(` and the **last** `)`: a process may
/// name itself `a) (b` and the fields after it are still found.
///
/// Parsed on the bytes in place (no String of the file, no array of fields): it runs for
/// every process the process collector identifies and every member it follows.
/// A comm holding a newline (`prctl(PR_SET_NAME)` allows it) is still found.
public enum ProcessStatParser {
    public static let file = "/proc/[pid]/stat"

    public static func parse(_ bytes: [UInt8]) throws -> ProcessStat {
        try bytes.withUnsafeBufferPointer { try parse($0) }
    }

    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> ProcessStat {
        let open = bytes.firstIndex(of: UInt8(ascii: "("))
        let close = bytes.lastIndex(of: UInt8(ascii: ")"))
        guard bytes.contains(where: { !isSpace($0) }) else { throw error(.empty, line: 0, "no content") }
        guard let open, let close, open < close else {
            let head = String(decoding: bytes.prefix(40), as: UTF8.self)
            throw error(.malformed, line: 1, "no '(comm)' in '\(head)'")
        }
        var pidStart = 0
        var pidEnd = open
        while pidStart < pidEnd, isSpace(bytes[pidStart]) { pidStart += 1 }
        while pidEnd > pidStart, isSpace(bytes[pidEnd - 1]) { pidEnd -= 1 }
        let pidBytes = UnsafeBufferPointer(rebasing: bytes[pidStart..<pidEnd])
        guard let pidValue = signedInteger(pidBytes), pidValue >= 0, pidValue <= Int64(Int32.max) else {
            let text = String(decoding: pidBytes.prefix(20), as: UTF8.self)
            throw error(.malformed, line: 1, "bad pid '\(text)'")
        }
        let comm = String(decoding: UnsafeBufferPointer(rebasing: bytes[(open + 1)..<close]), as: UTF8.self)

        // Field N of proc(5) is number N - 3 after the comm: state is 0, utime 11, stime 12,
        // num_threads 17, starttime 19, rss 21.
        var state: UnsafeBufferPointer<UInt8>?
        var numbers = (utime: UInt64(0), stime: UInt64(0), threads: Int64(0), start: UInt64(0), rss: Int64(0))
        var index = 0
        var position = close + 1
        while index <= 21 {
            while position < bytes.count, isSpace(bytes[position]) { position += 1 }
            guard position < bytes.count else { break }
            let fieldStart = position
            while position < bytes.count, !isSpace(bytes[position]) { position += 1 }
            let field = UnsafeBufferPointer(rebasing: bytes[fieldStart..<position])
            switch index {
            case 0: state = field
            case 11: numbers.utime = try unsigned(field, "utime")
            case 12: numbers.stime = try unsigned(field, "stime")
            case 17: numbers.threads = try signed(field, "num_threads")
            case 19: numbers.start = try unsigned(field, "starttime")
            case 21: numbers.rss = try signed(field, "rss")
            default: break
            }
            index += 1
        }
        guard index > 21, let state else {
            throw error(.truncated, line: 1, "expected at least 24 fields, got \(index + 2)")
        }
        return ProcessStat(
            pid: Int32(pidValue),
            comm: comm,
            state: String(decoding: state, as: UTF8.self),
            utimeTicks: numbers.utime,
            stimeTicks: numbers.stime,
            threads: numbers.threads,
            startTimeTicks: numbers.start,
            rssPages: numbers.rss > 0 ? UInt64(numbers.rss) : 0
        )
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
    }

    private static func error(_ code: ProcParseError.Code, line: Int, _ reason: String) -> ProcParseError {
        ProcParseError(code, file: file, line: line, reason: reason)
    }

    private static func unsigned(_ field: UnsafeBufferPointer<UInt8>, _ what: String) throws -> UInt64 {
        guard let value = ProcBytes.unsignedInteger(field) else {
            let text = String(decoding: field.prefix(40), as: UTF8.self)
            throw error(.malformed, line: 1, "\(what) is not an unsigned integer: '\(text)'")
        }
        return value
    }

    private static func signed(_ field: UnsafeBufferPointer<UInt8>, _ what: String) throws -> Int64 {
        guard let value = signedInteger(field) else {
            let text = String(decoding: field.prefix(40), as: UTF8.self)
            throw error(.malformed, line: 1, "\(what) is not an integer: '\(text)'")
        }
        return value
    }

    private static func signedInteger(_ field: UnsafeBufferPointer<UInt8>) -> Int64? {
        ProcBytes.signedInteger(field)
    }
}
