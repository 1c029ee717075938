/// Parses `/proc/stat` (proc(5)).
///
/// ```
/// cpu  23005 0 4761 181037 569 0 152 147 0 0
/// cpu0 10375 0 2112 92226 24 0 56 64 0 0
/// ctxt 330623
/// btime 1795927346
/// ```
public enum ProcStatParser {
    public static let file = "/proc/stat"
    private static let wanted: Set<Substring> = ["ctxt", "btime", "processes", "procs_running", "procs_blocked"]

    /// Parses the file; CPU times are divided by `userHZ` (`ProcFS.clockTicksPerSecond`).
    ///
    /// A `cpu` line needs at least user, nice, system and idle; columns missing on old
    /// kernels (iowait, irq, softirq, steal) count as zero. Lines this parser does not
    /// use (`intr`, `softirq`) are skipped unread.
    public static func parse(_ bytes: [UInt8], userHZ: Double) throws -> ProcStat {
        let text = ProcText(bytes, file: file)
        try text.requireNotBlank()
        guard userHZ > 0, userHZ.isFinite else {
            throw text.error(.malformed, line: 0, "clock ticks per second must be positive, got \(userHZ)")
        }

        var total: ProcStat.CPUTimes?
        var stat = ProcStat(total: ProcStat.CPUTimes())
        for (number, line) in text.numberedLines {
            // `intr` and `softirq` hold hundreds of numbers: look at the key before splitting.
            guard let key = ProcText.firstField(line), key.hasPrefix("cpu") || wanted.contains(key) else { continue }
            let fields = ProcText.fields(line)
            if key.hasPrefix("cpu") {
                let times = try cpuTimes(fields, text: text, line: number, userHZ: userHZ)
                let suffix = key.dropFirst(3)
                if suffix.isEmpty {
                    total = times
                } else if let index = Int(suffix), index >= 0 {
                    stat.perCPU[index] = times
                } else {
                    throw text.error(.malformed, line: number, "bad CPU name '\(key.prefix(40))'")
                }
                continue
            }
            switch key {
            case "ctxt": stat.contextSwitches = try single(fields, text: text, line: number)
            case "btime": stat.bootTime = try single(fields, text: text, line: number)
            case "processes": stat.processesCreated = try single(fields, text: text, line: number)
            case "procs_running": stat.processesRunning = try single(fields, text: text, line: number)
            case "procs_blocked": stat.processesBlocked = try single(fields, text: text, line: number)
            default: continue
            }
        }
        guard let total else { throw text.error(.truncated, line: 0, "no aggregate 'cpu' line") }
        stat.total = total
        return stat
    }

    private static func cpuTimes(
        _ fields: [Substring], text: ProcText, line: Int, userHZ: Double
    ) throws -> ProcStat.CPUTimes {
        guard fields.count >= 5 else {
            throw text.error(.truncated, line: line, "expected at least 4 CPU times, got \(fields.count - 1)")
        }
        var seconds = [Double](repeating: 0, count: ProcStat.CPUTimes.modes.count)
        for (index, mode) in ProcStat.CPUTimes.modes.enumerated() where index + 1 < fields.count {
            seconds[index] = Double(try text.uint64(fields[index + 1], line: line, mode)) / userHZ
        }
        return ProcStat.CPUTimes(
            user: seconds[0], nice: seconds[1], system: seconds[2], idle: seconds[3],
            iowait: seconds[4], irq: seconds[5], softirq: seconds[6], steal: seconds[7]
        )
    }

    private static func single(_ fields: [Substring], text: ProcText, line: Int) throws -> UInt64 {
        guard fields.count >= 2 else { throw text.error(.truncated, line: line, "'\(fields[0])' has no value") }
        return try text.uint64(fields[1], line: line, String(fields[0]))
    }
}
