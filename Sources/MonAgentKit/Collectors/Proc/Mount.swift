import MonCore

/// One line of `/proc/self/mounts`, octal escapes decoded.
public struct Mount: Sendable, Hashable {
    /// The mount source, e.g. `/dev/vda1`, `overlay`, `tmpfs`.
    public var device: String
    public var mountpoint: String
    public var fstype: String
    /// Mount options, e.g. `["rw", "relatime"]`.
    public var options: [String]

    public init(device: String, mountpoint: String, fstype: String, options: [String] = []) {
        self.device = device
        self.mountpoint = mountpoint
        self.fstype = fstype
        self.options = options
    }
}
