import MonCore

/// The Linux host collectors, built together.
public enum HostCollectors {
    /// cpu, memory, disk, filesystem, network, process — in that order, all reading `procRoot`.
    public static func make(
        procRoot: String = "/proc", processGroups: [ProcessGroup] = ProcessGroup.defaults
    ) -> [any Collector] {
        let procFS = ProcFS(root: procRoot)
        return [
            CPUCollector(procFS: procFS),
            MemoryCollector(procFS: procFS),
            DiskCollector(procFS: procFS),
            FilesystemCollector(procFS: procFS),
            NetworkCollector(procFS: procFS),
            ProcessCollector(procFS: procFS, groups: processGroups),
        ]
    }
}
