import MonCore

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
///
/// Cost per cycle (DESIGN §11): /proc is listed every cycle, but a process is identified
/// (its `stat` and, when a `cmdline` pattern is configured, its `cmdline` read) only when its
/// pid is new, and once more on the next cycle (a fork that has not exec'd yet); after that a
/// process in no group is identified again only every `reidentifyEveryCycles` cycles, spread
/// over the cycles by pid (a process that execs into a group member later in life is found
/// within that many cycles). A member's `stat` stays open and is re-read with `pread`; a
/// read that fails (the process is gone, even if its pid was reused), a changed start time
/// (pid reuse) or a changed comm (exec) makes it identified afresh. Vanished pids are forgotten.
/// A member's open descriptors are counted when it is identified, then every
/// `countFDsEveryCycles` cycles (listing `fd/` was a tenth of the /proc part, BENCHMARKS.md).
/// The kept descriptors count in the agent's own `mon_process_open_fds{group="monagent"}`.
public final class ProcessCollector: Collector {
    public let name = "process"
    public let procFS: ProcFS
    public let groups: [ProcessGroup]
    public let clockTicksPerSecond: Double
    public let pageSize: Int
    /// How often (in cycles) a process in no group is identified again; default 12 (1 min at 5 s).
    public let reidentifyEveryCycles: Int
    /// How often (in cycles) a member's open descriptors (`fd/`) are counted again; default 6
    /// (30 s at 5 s), spread over the cycles by pid. A new member is counted at once.
    public let countFDsEveryCycles: Int

    /// A process across pid reuse.
    private struct Identity: Hashable {
        var pid: Int32
        var startTimeTicks: UInt64
    }

    /// What is remembered about a pid between cycles.
    private struct Tracked {
        var startTimeTicks: UInt64
        var comm: String
        /// Index into `groups`; nil when the process is in no group (or a zombie, or unparsable).
        var group: Int?
        /// The member's `stat`, kept open; nil for processes in no group.
        var stat: ProcFile?
        /// The cycle the pid was first listed in.
        var firstCycle: Int
        /// Entries of the member's `fd/` when last counted; nil until counted.
        var openFDs: Int? = nil
    }

    private struct Totals {
        var count = 0
        var cpuTicks: UInt64 = 0
        var usedTicks: UInt64 = 0
        var rssPages: UInt64 = 0
        var threads: Int64 = 0
        var openFDs = 0
    }

    private var tracked: [Int32: Tracked] = [:]
    /// Per group, the `comm` values it matches (a name longer than 15 bytes also as the kernel
    /// truncates it: `ProcessGroup.matches(comm:)`).
    private let commNames: [Set<String>]
    private let hasCmdlinePatterns: Bool
    /// Kept between reads of `cmdline`.
    private var cmdlineBuffer: [UInt8] = []
    private var cycle = 0
    private var previousTicks: [Identity: UInt64] = [:]
    private var previousTimestampMs: Int64?

    public init(
        procFS: ProcFS = ProcFS(),
        groups: [ProcessGroup] = ProcessGroup.defaults,
        clockTicksPerSecond: Double = ProcFS.clockTicksPerSecond,
        pageSize: Int = ProcFS.pageSize,
        reidentifyEveryCycles: Int = 12,
        countFDsEveryCycles: Int = 6
    ) {
        self.procFS = procFS
        self.groups = groups
        self.clockTicksPerSecond = clockTicksPerSecond > 0 ? clockTicksPerSecond : 100
        self.pageSize = max(pageSize, 1)
        self.reidentifyEveryCycles = max(reidentifyEveryCycles, 1)
        self.countFDsEveryCycles = max(countFDsEveryCycles, 1)
        commNames = groups.map { group in
            Set(
                group.comm.flatMap { name in
                    name.utf8.count > ProcessGroup.commLength
                        ? [name, String(decoding: name.utf8.prefix(ProcessGroup.commLength), as: UTF8.self)] : [name]
                })
        }
        hasCmdlinePatterns = groups.contains { !$0.cmdline.isEmpty }
    }

    /// Number of pids currently remembered, and how many of them have a kept `stat` (tests, bench).
    public var trackedCounts: (pids: Int, open: Int) {
        (tracked.count, tracked.values.reduce(0) { $0 + ($1.stat?.isOpen == true ? 1 : 0) })
    }

    public func collect(timestampMs: Int64) throws -> [Sample] {
        let pids = try procFS.pids()
        cycle += 1
        var totals = [Totals](repeating: Totals(), count: groups.count)
        var currentTicks: [Identity: UInt64] = [:]
        currentTicks.reserveCapacity(previousTicks.count + 8)
        var next: [Int32: Tracked] = [:]
        next.reserveCapacity(pids.count)

        for pid in pids {
            let known = tracked[pid]
            if let known, known.group == nil, !identificationDue(pid: pid, known) {
                next[pid] = known
                continue
            }
            var entry: Tracked?
            var stat: ProcessStat?
            var firstCycle = known?.firstCycle ?? cycle
            if let known, let file = known.stat {
                if let fresh = try? file.withBytes({ try ProcessStatParser.parse($0) }),
                    fresh.startTimeTicks == known.startTimeTicks, fresh.comm == known.comm
                {
                    entry = known
                    stat = fresh
                } else {
                    // Gone (even if the pid is reused), a new start time, an exec or garbage: whatever
                    // is there now is identified as new, and checked again on the next cycle.
                    firstCycle = cycle
                }
            }
            if entry == nil {
                guard let identified = identify(pid: pid, firstCycle: firstCycle) else { continue }
                entry = identified.tracked
                stat = identified.stat
            }
            guard var entry, let stat else { continue }
            guard let index = entry.group, stat.state != "Z", stat.state != "X" else {
                next[pid] = entry
                continue
            }
            if entry.openFDs == nil || (Int(pid) &+ cycle) % countFDsEveryCycles == 0 {
                entry.openFDs = (try? procFS.countEntries("\(pid)/fd")) ?? 0
            }
            next[pid] = entry

            totals[index].count += 1
            totals[index].cpuTicks &+= stat.cpuTicks
            totals[index].rssPages &+= stat.rssPages
            totals[index].threads &+= stat.threads
            totals[index].openFDs += entry.openFDs ?? 0

            let identity = Identity(pid: pid, startTimeTicks: stat.startTimeTicks)
            currentTicks[identity] = stat.cpuTicks
            if let old = previousTicks[identity], stat.cpuTicks >= old {
                totals[index].usedTicks &+= stat.cpuTicks - old
            }
        }
        tracked = next

        var elapsedSeconds: Double?
        if let previousTimestampMs, timestampMs > previousTimestampMs {
            elapsedSeconds = Double(timestampMs - previousTimestampMs) / 1000
        }
        previousTicks = currentTicks
        previousTimestampMs = timestampMs
        return samples(totals, elapsedSeconds: elapsedSeconds, timestampMs: timestampMs)
    }

    /// Whether a process in no group is identified again this cycle: on the cycle after it
    /// was first listed (it may exec right after its fork), then every `reidentifyEveryCycles`.
    private func identificationDue(pid: Int32, _ known: Tracked) -> Bool {
        known.firstCycle == cycle - 1 || (Int(pid) &+ cycle) % reidentifyEveryCycles == 0
    }

    /// Reads `stat` (and `cmdline` when needed) of a process and finds its group. Nil when the
    /// process is gone; a process whose `stat` does not parse is remembered in no group.
    private func identify(pid: Int32, firstCycle: Int) -> (tracked: Tracked, stat: ProcessStat?)? {
        let file = procFS.file("\(pid)/stat", reopens: false, initialCapacity: 512)
        let parsed: ProcessStat?
        do {
            parsed = try file.withBytes { try? ProcessStatParser.parse($0) }
        } catch {
            return nil
        }
        guard let stat = parsed else {
            let entry = Tracked(
                startTimeTicks: 0, comm: "", group: nil, stat: nil, firstCycle: firstCycle)
            return (entry, nil)
        }
        var group: Int?
        if stat.state != "Z", stat.state != "X" { group = self.group(pid: pid, comm: stat.comm) }
        if group == nil { file.close() }
        let entry = Tracked(
            startTimeTicks: stat.startTimeTicks, comm: stat.comm, group: group, stat: group == nil ? nil : file,
            firstCycle: firstCycle)
        return (entry, stat)
    }

    /// `ProcessGroup.group(in:comm:arguments:)` without Strings for the command line: the
    /// `cmdline` is read into a kept buffer, and only when no group matches on `comm`.
    private func group(pid: Int32, comm: String) -> Int? {
        if let index = commNames.firstIndex(where: { $0.contains(comm) }) { return index }
        guard hasCmdlinePatterns, let count = try? procFS.read("\(pid)/cmdline", into: &cmdlineBuffer) else {
            return nil
        }
        let groups = self.groups
        return cmdlineBuffer.withUnsafeBufferPointer { buffer in
            let cmdline = UnsafeBufferPointer(rebasing: buffer[0..<count])
            return groups.firstIndex { $0.matches(cmdline: cmdline) }
        }
    }

    private func samples(_ totals: [Totals], elapsedSeconds: Double?, timestampMs: Int64) -> [Sample] {
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
