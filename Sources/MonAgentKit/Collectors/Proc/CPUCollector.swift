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

    /// Previous times per `cpu` label value, for the usage ratio.
    private var previous: [String: ProcStat.CPUTimes] = [:]
    private let statFile: ProcFile
    private let loadavgFile: ProcFile
    private let pressureFiles: [ProcFile]

    public init(procFS: ProcFS = ProcFS(), clockTicksPerSecond: Double = ProcFS.clockTicksPerSecond) {
        self.procFS = procFS
        self.clockTicksPerSecond = clockTicksPerSecond
        statFile = procFS.file("stat")
        loadavgFile = procFS.file("loadavg")
        pressureFiles = Pressure.resources.map { procFS.file("pressure/" + $0) }
    }

    public func collect(timestampMs: Int64) throws -> [Sample] {
        let stat = try ProcStatParser.parse(statFile.read(), userHZ: clockTicksPerSecond)
        let load = try LoadAvgParser.parse(loadavgFile.read())
        var samples: [Sample] = []
        samples.reserveCapacity(16 + stat.perCPU.count * 9)

        var current: [String: ProcStat.CPUTimes] = ["all": stat.total]
        for (index, times) in stat.perCPU { current[String(index)] = times }
        for cpu in current.keys.sorted(by: CPUCollector.cpuOrder) {
            guard let times = current[cpu] else { continue }
            for (mode, seconds) in zip(ProcStat.CPUTimes.modes, times.values) {
                samples.append(
                    Sample(
                        "mon_host_cpu_seconds_total", ["cpu": cpu, "mode": mode], value: seconds, kind: .counter,
                        timestampMs: timestampMs))
            }
            if let old = previous[cpu], let ratio = CPUCollector.usageRatio(from: old, to: times) {
                samples.append(Sample("mon_host_cpu_usage_ratio", ["cpu": cpu], value: ratio, timestampMs: timestampMs))
            }
        }
        previous = current

        samples.append(Sample("mon_host_cpu_cores", value: Double(stat.perCPU.count), timestampMs: timestampMs))
        samples.append(Sample("mon_host_load1", value: load.load1, timestampMs: timestampMs))
        samples.append(Sample("mon_host_load5", value: load.load5, timestampMs: timestampMs))
        samples.append(Sample("mon_host_load15", value: load.load15, timestampMs: timestampMs))

        let optional: [(String, UInt64?, MetricKind)] = [
            ("mon_host_context_switches_total", stat.contextSwitches, .counter),
            ("mon_host_forks_total", stat.processesCreated, .counter),
            ("mon_host_boot_time_seconds", stat.bootTime, .gauge),
            ("mon_host_processes_running", stat.processesRunning, .gauge),
            ("mon_host_processes_blocked", stat.processesBlocked, .gauge),
        ]
        for (metric, value, kind) in optional {
            if let value { samples.append(Sample(metric, value: Double(value), kind: kind, timestampMs: timestampMs)) }
        }

        for (resource, file) in zip(Pressure.resources, pressureFiles) {
            guard let bytes = try file.readIfPresent() else { continue }
            let pressure = try PressureParser.parse(bytes)
            let stalls = [("some", pressure.some), ("full", pressure.full)]
            for case (let kind, let stall?) in stalls {
                let labels: Labels = ["resource": resource, "kind": kind]
                samples.append(
                    Sample(
                        "mon_host_pressure_stalled_seconds_total", labels,
                        value: Double(stall.totalMicroseconds) / 1_000_000, kind: .counter, timestampMs: timestampMs))
                samples.append(
                    Sample("mon_host_pressure_ratio", labels, value: stall.avg10 / 100, timestampMs: timestampMs))
                samples.append(
                    Sample(
                        "mon_host_pressure_avg60_ratio", labels, value: stall.avg60 / 100, timestampMs: timestampMs))
                samples.append(
                    Sample(
                        "mon_host_pressure_avg300_ratio", labels, value: stall.avg300 / 100, timestampMs: timestampMs))
            }
        }
        return samples
    }

    /// 1 − Δ(idle + iowait) / Δtotal, clamped to 0...1; nil when no time passed or a counter went back.
    public static func usageRatio(from old: ProcStat.CPUTimes, to new: ProcStat.CPUTimes) -> Double? {
        let total = new.total - old.total
        let idle = new.idleTotal - old.idleTotal
        guard total > 0, idle >= 0 else { return nil }
        return min(1, max(0, 1 - idle / total))
    }

    /// "all" first, then CPUs numerically.
    private static func cpuOrder(_ lhs: String, _ rhs: String) -> Bool {
        switch (Int(lhs), Int(rhs)) {
        case let (left?, right?): return left < right
        case (nil, .some): return true
        case (.some, nil): return false
        case (nil, nil): return lhs < rhs
        }
    }
}
