import MonCore

/// Space on mounted filesystems: `self/mounts`, then statvfs on each mountpoint.
///
/// Pseudo filesystems (proc, sysfs, tmpfs, cgroup…) are skipped, as are repeated
/// mountpoints (the last mount, the one visible, wins) and filesystems of size 0.
/// A mountpoint statvfs cannot read (stale NFS, permissions) is skipped, not fatal.
///
/// `mon_host_filesystem_{size,free,avail}_bytes{mountpoint,device,fstype}` and
/// `mon_host_filesystem_used_ratio` (used / (used + avail), as df's Use%).
public final class FilesystemCollector: Collector {
    public let name = "filesystem"
    public let procFS: ProcFS
    /// Filesystem types never reported.
    public let ignoredTypes: Set<String>
    private let usage: (String) throws -> FilesystemUsage
    private let mountsFile: ProcFile
    /// The last mount table read and the mounts selected from it: the table rarely changes,
    /// and parsing it was the dearest step of the host cycle (perf, BENCHMARKS.md), so it is
    /// parsed again only when its bytes differ from the last read.
    private var lastMounts: (bytes: [UInt8], selected: [Mount])?
    /// Times the mount table was parsed (for tests).
    public private(set) var mountTableParses = 0

    /// Kernel-internal filesystems with no disk behind them. `overlay` is kept: it is
    /// the root filesystem of a container.
    public static let defaultIgnoredTypes: Set<String> = [
        "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs",
        "efivarfs", "fusectl", "fuse.lxcfs", "hugetlbfs", "mqueue", "nsfs", "proc", "pstore", "ramfs",
        "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "sysfs", "tmpfs", "tracefs",
    ]

    /// - Parameter usage: statvfs of one mountpoint; replaceable for tests.
    public init(
        procFS: ProcFS = ProcFS(),
        ignoredTypes: Set<String> = FilesystemCollector.defaultIgnoredTypes,
        usage: @escaping (String) throws -> FilesystemUsage = ProcFS.filesystemUsage(atPath:)
    ) {
        self.procFS = procFS
        self.ignoredTypes = ignoredTypes
        self.usage = usage
        mountsFile = procFS.file("self/mounts")
    }

    public func collect(timestampMs: Int64) throws -> [Sample] {
        let mounts = try mountsFile.withBytes { bytes -> [Mount] in
            if let lastMounts, lastMounts.bytes.elementsEqual(bytes) { return lastMounts.selected }
            let selected = FilesystemCollector.select(try MountsParser.parse(bytes), ignoring: ignoredTypes)
            mountTableParses += 1
            lastMounts = (Array(bytes), selected)
            return selected
        }
        var samples: [Sample] = []
        for mount in mounts {
            guard let space = try? usage(mount.mountpoint), space.sizeBytes > 0 else { continue }
            let labels: Labels = ["mountpoint": mount.mountpoint, "device": mount.device, "fstype": mount.fstype]
            samples.append(
                Sample(
                    "mon_host_filesystem_size_bytes", labels, value: Double(space.sizeBytes), timestampMs: timestampMs))
            samples.append(
                Sample(
                    "mon_host_filesystem_free_bytes", labels, value: Double(space.freeBytes), timestampMs: timestampMs))
            samples.append(
                Sample(
                    "mon_host_filesystem_avail_bytes", labels, value: Double(space.availableBytes),
                    timestampMs: timestampMs))
            if let ratio = space.usedRatio {
                samples.append(Sample("mon_host_filesystem_used_ratio", labels, value: ratio, timestampMs: timestampMs))
            }
        }
        return samples
    }

    /// The mounts worth reporting, in order of first appearance: ignored types dropped,
    /// one entry per mountpoint (the last one mounted there).
    public static func select(_ mounts: [Mount], ignoring ignoredTypes: Set<String>) -> [Mount] {
        var order: [String] = []
        var latest: [String: Mount] = [:]
        for mount in mounts {
            if latest[mount.mountpoint] == nil { order.append(mount.mountpoint) }
            latest[mount.mountpoint] = mount
        }
        return order.compactMap { latest[$0] }.filter { !ignoredTypes.contains($0.fstype) }
    }
}
