/// Per-group totals over the processes in `/proc/[pid]`.
///
/// Each process belongs to at most one `ProcessGroup` (see `ProcessGroup.group(in:comm:arguments:)`).
/// Every configured group is reported, with `mon_process_processes` 0 when nothing matches.
/// Processes that exit between listing and reading, zombies, and unreadable fd
/// directories are skipped silently: they are the normal churn of a host.
///
/// - `mon_process_processes{group}`, `mon_process_threads{group}`, `mon_process_open_fds{group}`
/// - `mon_process_cpu_seconds_total{group}` counter: utime + stime of the live members;
///   it drops when a member exits
/// - `mon_process_cpu_usage_ratio{group}` from the second cycle on: CPU seconds used by
///   members seen in both cycles, per wall second (1.0 = one core busy). Tracking each
///   process (pid + start time) keeps an exit or a fork from making the ratio vanish or spike.
/// - `mon_process_resident_memory_bytes{group}`: rss pages × page size
public final class ProcessCollector: Collector {
    public let name = "process"
    public let procFS: ProcFS
    public let groups: [ProcessGroup]
    public let clockTicksPerSecond: Double
    public let pageSize: Int

    /// A process across pid reuse.
    private struct Identity: Hashable {
        var pid: Int32
        var startTimeTicks: UInt64
    }

    private struct Totals {
        var count = 0
        var cpuTicks: UInt64 = 0
        var usedTicks: UInt64 = 0
        var rssPages: UInt64 = 0
        var threads: Int64 = 0
        var openFDs = 0
    }

    private var previousTicks: [Identity: UInt64] = [:]
    private var previousTimestampMs: Int64?

    public init(
        procFS: ProcFS = ProcFS(),
        groups: [ProcessGroup] = ProcessGroup.defaults,
        clockTicksPerSecond: Double = ProcFS.clockTicksPerSecond,
        pageSize: Int = ProcFS.pageSize
    ) {
        self.procFS = procFS
        self.groups = groups
        self.clockTicksPerSecond = clockTicksPerSecond > 0 ? clockTicksPerSecond : 100
        self.pageSize = max(pageSize, 1)
    }

    public func collect(timestampMs: Int64) throws -> [Sample] {
        let pids = try procFS.pids()
        var totals = [Totals](repeating: Totals(), count: groups.count)
        var currentTicks: [Identity: UInt64] = [:]

        for pid in pids {
            guard let bytes = try? procFS.read("\(pid)/stat"), let stat = try? ProcessStatParser.parse(bytes),
                stat.state != "Z", stat.state != "X"
            else { continue }
            let procFS = self.procFS
            let index = ProcessGroup.group(in: groups, comm: stat.comm) {
                guard let cmdline = try? procFS.read("\(pid)/cmdline") else { return [] }
                return ProcessCmdlineParser.parse(cmdline)
            }
            guard let index else { continue }

            totals[index].count += 1
            totals[index].cpuTicks &+= stat.cpuTicks
            totals[index].rssPages &+= stat.rssPages
            totals[index].threads &+= stat.threads
            if let fds = try? procFS.countEntries("\(pid)/fd") { totals[index].openFDs += fds }

            let identity = Identity(pid: pid, startTimeTicks: stat.startTimeTicks)
            currentTicks[identity] = stat.cpuTicks
            if let old = previousTicks[identity], stat.cpuTicks >= old {
                totals[index].usedTicks &+= stat.cpuTicks - old
            }
        }

        var elapsedSeconds: Double?
        if let previousTimestampMs, timestampMs > previousTimestampMs {
            elapsedSeconds = Double(timestampMs - previousTimestampMs) / 1000
        }
        previousTicks = currentTicks
        previousTimestampMs = timestampMs

        var samples: [Sample] = []
        samples.reserveCapacity(groups.count * 6)
        for (group, total) in zip(groups, totals) {
            let labels: Labels = ["group": group.name]
            samples.append(
                Sample("mon_process_processes", labels, value: Double(total.count), timestampMs: timestampMs))
            samples.append(
                Sample(
                    "mon_process_cpu_seconds_total", labels, value: Double(total.cpuTicks) / clockTicksPerSecond,
                    kind: .counter, timestampMs: timestampMs))
            if let elapsedSeconds {
                samples.append(
                    Sample(
                        "mon_process_cpu_usage_ratio", labels,
                        value: Double(total.usedTicks) / clockTicksPerSecond / elapsedSeconds, timestampMs: timestampMs)
                )
            }
            samples.append(
                Sample(
                    "mon_process_resident_memory_bytes", labels, value: Double(total.rssPages) * Double(pageSize),
                    timestampMs: timestampMs))
            samples.append(
                Sample("mon_process_threads", labels, value: Double(total.threads), timestampMs: timestampMs))
            samples.append(
                Sample("mon_process_open_fds", labels, value: Double(total.openFDs), timestampMs: timestampMs))
        }
        return samples
    }
}
