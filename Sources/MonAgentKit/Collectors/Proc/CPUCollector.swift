import MonCore

/// CPU time, utilisation, load average and pressure stall information.
///
/// Reads `stat` and `loadavg` (both required) and `pressure/{cpu,memory,io}` (each
/// optional: absent before Linux 4.20 or with `psi=0`).
///
/// - `mon_host_cpu_seconds_total{cpu="all"|"N",mode}` counter
/// - `mon_host_cpu_usage_ratio{cpu}` 1 − Δ(idle+iowait)/Δtotal, from the second cycle on
/// - `mon_host_cpu_cores`, `mon_host_load1`, `mon_host_load5`, `mon_host_load15`
/// - `mon_host_context_switches_total`, `mon_host_forks_total` counters,
///   `mon_host_boot_time_seconds`, `mon_host_processes_running`, `mon_host_processes_blocked`
/// - `mon_host_pressure_stalled_seconds_total{resource,kind}` counter,
///   `mon_host_pressure_ratio{resource,kind}` (avg10 / 100), `mon_host_pressure_avg60_ratio`,
///   `mon_host_pressure_avg300_ratio` (same labels, avg60 / 100 and avg300 / 100)
public final class CPUCollector: Collector {
    public let name = "cpu"
    public let procFS: ProcFS
    /// USER_HZ used to turn ticks into seconds.
    public let clockTicksPerSecond: Double

    /// Previous times per CPU (`-1` for "all"), for the usage ratio.
    private var previous: [Int: ProcStat.CPUTimes] = [:]
    /// The label sets of one CPU (`-1` for "all"), made once: the usage ratio's, then one per mode.
    private var labels: [Int: (usage: Labels, modes: [Labels])] = [:]
    private let statFile: ProcFile
    private let loadavgFile: ProcFile
    private let pressureFiles: [ProcFile]
    /// `["resource": r, "kind": "some"|"full"]` per pressure file.
    private let pressureLabels: [(some: Labels, full: Labels)]

    public init(procFS: ProcFS = ProcFS(), clockTicksPerSecond: Double = ProcFS.clockTicksPerSecond) {
        self.procFS = procFS
        self.clockTicksPerSecond = clockTicksPerSecond
        statFile = procFS.file("stat")
        loadavgFile = procFS.file("loadavg")
        pressureFiles = Pressure.resources.map { procFS.file("pressure/" + $0) }
        pressureLabels = Pressure.resources.map {
            (["resource": $0, "kind": "some"], ["resource": $0, "kind": "full"])
        }
    }

    public func collect(timestampMs: Int64) throws -> [Sample] {
        let userHZ = clockTicksPerSecond
        let stat = try statFile.withBytes { try ProcStatParser.parse($0, userHZ: userHZ) }
        let load = try loadavgFile.withBytes { try LoadAvgParser.parse($0) }
        var samples: [Sample] = []
        samples.reserveCapacity(32 + stat.perCPU.count * 9)

        appendCPU(-1, stat.total, to: &samples, timestampMs: timestampMs)
        for cpu in stat.perCPU.keys.sorted() {
            guard let times = stat.perCPU[cpu] else { continue }
            appendCPU(cpu, times, to: &samples, timestampMs: timestampMs)
        }
        if previous.count > stat.perCPU.count + 1 {
            previous = previous.filter { $0.key == -1 || stat.perCPU[$0.key] != nil }
        }

        samples.append(Sample("mon_host_cpu_cores", value: Double(stat.perCPU.count), timestampMs: timestampMs))
        samples.append(Sample("mon_host_load1", value: load.load1, timestampMs: timestampMs))
        samples.append(Sample("mon_host_load5", value: load.load5, timestampMs: timestampMs))
        samples.append(Sample("mon_host_load15", value: load.load15, timestampMs: timestampMs))

        if let value = stat.contextSwitches {
            samples.append(
                Sample(
                    "mon_host_context_switches_total", value: Double(value), kind: .counter, timestampMs: timestampMs))
        }
        if let value = stat.processesCreated {
            samples.append(
                Sample("mon_host_forks_total", value: Double(value), kind: .counter, timestampMs: timestampMs))
        }
        if let value = stat.bootTime {
            samples.append(Sample("mon_host_boot_time_seconds", value: Double(value), timestampMs: timestampMs))
        }
        if let value = stat.processesRunning {
            samples.append(Sample("mon_host_processes_running", value: Double(value), timestampMs: timestampMs))
        }
        if let value = stat.processesBlocked {
            samples.append(Sample("mon_host_processes_blocked", value: Double(value), timestampMs: timestampMs))
        }

        for (file, labels) in zip(pressureFiles, pressureLabels) {
            guard let pressure = try file.withBytesIfPresent({ try PressureParser.parse($0) }) else { continue }
            CPUCollector.appendStall(pressure.some, labels.some, to: &samples, timestampMs: timestampMs)
            if let full = pressure.full {
                CPUCollector.appendStall(full, labels.full, to: &samples, timestampMs: timestampMs)
            }
        }
        return samples
    }

    /// The eight mode counters of one CPU (`-1`: all) and, from the second cycle on, its usage ratio.
    private func appendCPU(_ cpu: Int, _ times: ProcStat.CPUTimes, to samples: inout [Sample], timestampMs: Int64) {
        let cpuLabels: (usage: Labels, modes: [Labels])
        if let cached = labels[cpu] {
            cpuLabels = cached
        } else {
            let name = cpu < 0 ? "all" : String(cpu)
            cpuLabels = (["cpu": name], ProcStat.CPUTimes.modes.map { ["cpu": name, "mode": $0] })
            labels[cpu] = cpuLabels
        }
        let values = (
            times.user, times.nice, times.system, times.idle, times.iowait, times.irq, times.softirq, times.steal
        )
        for mode in 0..<8 {
            let seconds: Double
            switch mode {
            case 0: seconds = values.0
            case 1: seconds = values.1
            case 2: seconds = values.2
            case 3: seconds = values.3
            case 4: seconds = values.4
            case 5: seconds = values.5
            case 6: seconds = values.6
            default: seconds = values.7
            }
            samples.append(
                Sample(
                    "mon_host_cpu_seconds_total", cpuLabels.modes[mode], value: seconds, kind: .counter,
                    timestampMs: timestampMs))
        }
        if let old = previous.updateValue(times, forKey: cpu), let ratio = CPUCollector.usageRatio(from: old, to: times)
        {
            samples.append(Sample("mon_host_cpu_usage_ratio", cpuLabels.usage, value: ratio, timestampMs: timestampMs))
        }
    }

    private static func appendStall(
        _ stall: Pressure.Stall, _ labels: Labels, to samples: inout [Sample], timestampMs: Int64
    ) {
        samples.append(
            Sample(
                "mon_host_pressure_stalled_seconds_total", labels,
                value: Double(stall.totalMicroseconds) / 1_000_000, kind: .counter, timestampMs: timestampMs))
        samples.append(Sample("mon_host_pressure_ratio", labels, value: stall.avg10 / 100, timestampMs: timestampMs))
        samples.append(
            Sample("mon_host_pressure_avg60_ratio", labels, value: stall.avg60 / 100, timestampMs: timestampMs))
        samples.append(
            Sample("mon_host_pressure_avg300_ratio", labels, value: stall.avg300 / 100, timestampMs: timestampMs))
    }

    /// 1 − Δ(idle + iowait) / Δtotal, clamped to 0...1; nil when no time passed or a counter went back.
    public static func usageRatio(from old: ProcStat.CPUTimes, to new: ProcStat.CPUTimes) -> Double? {
        let total = new.total - old.total
        let idle = new.idleTotal - old.idleTotal
        guard total > 0, idle >= 0 else { return nil }
        return min(1, max(0, 1 - idle / total))
    }
}
