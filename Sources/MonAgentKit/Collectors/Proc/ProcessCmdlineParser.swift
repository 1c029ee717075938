import MonCore

/// Parses `/proc/[pid]/cmdline`: arguments separated (and usually terminated) by NUL.
///
/// Never fails: kernel threads and zombies have an empty cmdline, which gives `[]`.
/// Processes that rewrite their title (`postgres: checkpointer`) put spaces where
/// NULs would be; they come back as one element.
public enum ProcessCmdlineParser {
    public static let file = "/proc/[pid]/cmdline"

    public static func parse(_ bytes: [UInt8]) -> [String] {
        var arguments = bytes.split(separator: 0, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        while arguments.last?.isEmpty == true { arguments.removeLast() }
        return arguments
    }
}
