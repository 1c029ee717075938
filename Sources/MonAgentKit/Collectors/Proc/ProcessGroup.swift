import MonCore

/// A named set of processes the process collector sums up (all uvicorn workers, all postgres backends).
///
/// A process matches when its `comm` (from `/proc/[pid]/stat`, at most 15 bytes) equals
/// one of `comm`, or its command line (arguments joined by spaces) contains one of
/// `cmdline`. So `python -m uvicorn app:app` and `/usr/bin/python3 /venv/bin/uvicorn`
/// both match `cmdline: ["uvicorn"]`.
public struct ProcessGroup: Sendable, Hashable, Codable {
    /// The `group` label value.
    public var name: String
    /// Exact executable names; longer than 15 bytes compares against the kernel's truncation.
    public var comm: [String]
    /// Substrings of the command line.
    public var cmdline: [String]

    public init(name: String, comm: [String] = [], cmdline: [String] = []) {
        self.name = name
        self.comm = comm
        self.cmdline = cmdline
    }

    /// uvicorn, postgres, redis-server and the agent itself.
    public static let defaults: [ProcessGroup] = [
        ProcessGroup(name: "uvicorn", cmdline: ["uvicorn"]),
        ProcessGroup(name: "postgres", comm: ["postgres"], cmdline: ["postgres:"]),
        ProcessGroup(name: "redis-server", comm: ["redis-server"]),
        ProcessGroup(name: "monagent", comm: ["monagent"]),
    ]

    /// Length of `comm` in /proc (TASK_COMM_LEN − 1).
    public static let commLength = 15

    public func matches(comm processComm: String) -> Bool {
        comm.contains { pattern in
            pattern == processComm
                || (pattern.utf8.count > ProcessGroup.commLength
                    && String(decoding: pattern.utf8.prefix(ProcessGroup.commLength), as: UTF8.self) == processComm)
        }
    }

    public func matches(commandLine: String) -> Bool {
        !commandLine.isEmpty && cmdline.contains { !$0.isEmpty && commandLine.contains($0) }
    }

    /// `matches(commandLine:)` on the raw bytes of `/proc/[pid]/cmdline`, without a String: the
    /// arguments joined by spaces is the file with its trailing NULs dropped and the other NULs
    /// read as spaces, and a pattern is searched for byte by byte (so a cmdline that is not
    /// UTF-8 matches on its valid parts).
    public func matches(cmdline: UnsafeBufferPointer<UInt8>) -> Bool {
        var length = cmdline.count
        while length > 0, cmdline[length - 1] == 0 { length -= 1 }
        guard length > 0 else { return false }
        let text = UnsafeBufferPointer(rebasing: cmdline[0..<length])
        return self.cmdline.contains { pattern in
            var pattern = pattern
            return pattern.withUTF8 { ProcessGroup.contains(text, $0) }
        }
    }

    /// Whether `needle` occurs in `haystack` read with NUL as a space; an empty needle never does.
    static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = needle.first, needle.count <= haystack.count else { return false }
        var start = 0
        while start <= haystack.count - needle.count {
            let byte = haystack[start] == 0 ? UInt8(ascii: " ") : haystack[start]
            if byte == first {
                var offset = 1
                while offset < needle.count {
                    let other = haystack[start + offset] == 0 ? UInt8(ascii: " ") : haystack[start + offset]
                    if other != needle[offset] { break }
                    offset += 1
                }
                if offset == needle.count { return true }
            }
            start += 1
        }
        return false
    }

    /// The group a process belongs to: the first group whose `comm` matches; failing
    /// that, the first whose `cmdline` matches. `arguments` is called only when needed.
    public static func group(
        in groups: [ProcessGroup], comm: String, arguments: () -> [String]
    ) -> Int? {
        if let index = groups.firstIndex(where: { $0.matches(comm: comm) }) { return index }
        guard groups.contains(where: { !$0.cmdline.isEmpty }) else { return nil }
        let commandLine = arguments().joined(separator: " ")
        return groups.firstIndex { $0.matches(commandLine: commandLine) }
    }
}
