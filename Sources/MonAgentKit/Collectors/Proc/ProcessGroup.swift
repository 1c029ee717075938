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
