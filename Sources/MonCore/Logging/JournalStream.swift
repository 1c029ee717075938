import Foundation

/// Whether a descriptor is connected to systemd's journal.
///
/// systemd sets `JOURNAL_STREAM=<device>:<inode>` for a service whose standard output or
/// error goes to the journal (systemd.exec(5)). A child that inherited the variable but
/// writes elsewhere (a test harness under systemd redirecting to a file) must not be taken
/// for the journal, so the descriptor's device and inode are compared, as sd-daemon advises.
public enum JournalStream {
    /// `(device, inode)` from the variable's value, nil when absent or malformed.
    public static func parse(_ value: String?) -> (device: UInt64, inode: UInt64)? {
        guard let value else { return nil }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
        return (device, inode)
    }

    /// `(device, inode)` of an open descriptor, nil when `fstat` fails.
    public static func identity(of descriptor: Int32) -> (device: UInt64, inode: UInt64)? {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        return (UInt64(status.st_dev), UInt64(status.st_ino))
    }

    /// True when `JOURNAL_STREAM` names the file `descriptor` is open on.
    public static func isConnected(environment: [String: String], descriptor: Int32 = 2) -> Bool {
        guard let stream = parse(environment["JOURNAL_STREAM"]), let actual = identity(of: descriptor) else {
            return false
        }
        return stream == actual
    }
}
