import MonCore

/// The Linux host collectors, built together.
public enum HostCollectors {
    /// cpu, memory, disk, filesystem, network, process — in that order, all reading `procRoot`.
    ///
    /// `filesystemUsage` (statvfs of one mountpoint), `clockTicksPerSecond` and `pageSize` are
    /// replaceable for tests: the golden test of `monagent once` over the fixture root.
    public static func make(
        procRoot: String = "/proc", processGroups: [ProcessGroup] = ProcessGroup.defaults,
        filesystemUsage: @escaping (String) throws -> FilesystemUsage = ProcFS.filesystemUsage(atPath:),
        clockTicksPerSecond: Double = ProcFS.clockTicksPerSecond, pageSize: Int = ProcFS.pageSize
    ) -> [any Collector] {
        let procFS = ProcFS(root: procRoot)
        return [
            CPUCollector(procFS: procFS, clockTicksPerSecond: clockTicksPerSecond),
            MemoryCollector(procFS: procFS),
            DiskCollector(procFS: procFS),
            FilesystemCollector(procFS: procFS, usage: filesystemUsage),
            NetworkCollector(procFS: procFS),
            ProcessCollector(
                procFS: procFS, groups: processGroups, clockTicksPerSecond: clockTicksPerSecond, pageSize: pageSize),
        ]
    }
}
