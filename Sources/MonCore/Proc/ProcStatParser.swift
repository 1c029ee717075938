/// Parses `/proc/stat` (proc(5)).
///
/// ```
/// cpu  23005 0 4761 181037 569 0 152 147 0 0
/// cpu0 10375 0 2112 92226 24 0 56 64 0 0
/// ctxt 330623
/// btime 1795927346
/// ```
/// Parsed on the bytes in place (no String of the file, no array of fields): the CPU collector
/// reads it every cycle.
public enum ProcStatParser {
    public static let file = "/proc/stat"

    /// Parses the file; CPU times are divided by `userHZ` (`ProcFS.clockTicksPerSecond`).
    ///
    /// A `cpu` line needs at least user, nice, system and idle; columns missing on old
    /// kernels (iowait, irq, softirq, steal) count as zero. Lines this parser does not
    /// use (`intr`, `softirq`) are skipped unread.
    public static func parse(_ bytes: [UInt8], userHZ: Double) throws -> ProcStat {
        try bytes.withUnsafeBufferPointer { try parse($0, userHZ: userHZ) }
    }

    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>, userHZ: Double) throws -> ProcStat {
        if ProcBytes.isBlankText(bytes) { throw error(.empty, line: 0, "no content") }
        guard userHZ > 0, userHZ.isFinite else {
            throw error(.malformed, line: 0, "clock ticks per second must be positive, got \(userHZ)")
        }

        var total: ProcStat.CPUTimes?
        var stat = ProcStat(total: ProcStat.CPUTimes())
        try ProcBytes.forEachLine(bytes) { number, line in
            // `intr` and `softirq` hold hundreds of numbers: look at the key before the rest.
            var fields = ProcBytes.Fields(line)
            guard let key = fields.next() else { return }
            if key.count >= 3, key[0] == UInt8(ascii: "c"), key[1] == UInt8(ascii: "p"), key[2] == UInt8(ascii: "u") {
                let times = try cpuTimes(&fields, line: number, userHZ: userHZ)
                if key.count == 3 {
                    total = times
                } else if let index = ProcBytes.signedInteger(UnsafeBufferPointer(rebasing: key[3...])), index >= 0,
                    index <= Int.max
                {
                    stat.perCPU[Int(index)] = times
                } else {
                    throw error(.malformed, line: number, "bad CPU name '\(ProcBytes.text(key))'")
                }
                return
            }
            if ProcBytes.equals(key, "ctxt") {
                stat.contextSwitches = try single(key, &fields, line: number)
            } else if ProcBytes.equals(key, "btime") {
                stat.bootTime = try single(key, &fields, line: number)
            } else if ProcBytes.equals(key, "processes") {
                stat.processesCreated = try single(key, &fields, line: number)
            } else if ProcBytes.equals(key, "procs_running") {
                stat.processesRunning = try single(key, &fields, line: number)
            } else if ProcBytes.equals(key, "procs_blocked") {
                stat.processesBlocked = try single(key, &fields, line: number)
            }
        }
        guard let total else { throw error(.truncated, line: 0, "no aggregate 'cpu' line") }
        stat.total = total
        return stat
    }

    private static func cpuTimes(
        _ fields: inout ProcBytes.Fields, line: Int, userHZ: Double
    ) throws -> ProcStat.CPUTimes {
        var ticks = ProcNumbers()
        var count = 0
        while count < 8, let field = fields.next() {
            guard let value = ProcBytes.unsignedInteger(field) else {
                let mode = ProcStat.CPUTimes.modes[count]
                throw error(.malformed, line: line, "\(mode) is not an unsigned integer: '\(ProcBytes.text(field))'")
            }
            ticks[count] = value
            count += 1
        }
        guard count >= 4 else {
            throw error(.truncated, line: line, "expected at least 4 CPU times, got \(count)")
        }
        func seconds(_ index: Int) -> Double { Double(ticks.value(index)) / userHZ }
        return ProcStat.CPUTimes(
            user: seconds(0), nice: seconds(1), system: seconds(2), idle: seconds(3),
            iowait: seconds(4), irq: seconds(5), softirq: seconds(6), steal: seconds(7)
        )
    }

    private static func single(
        _ key: UnsafeBufferPointer<UInt8>, _ fields: inout ProcBytes.Fields, line: Int
    ) throws -> UInt64 {
        guard let field = fields.next() else {
            throw error(.truncated, line: line, "'\(ProcBytes.text(key))' has no value")
        }
        guard let value = ProcBytes.unsignedInteger(field) else {
            throw error(
                .malformed, line: line,
                "\(ProcBytes.text(key)) is not an unsigned integer: '\(ProcBytes.text(field))'")
        }
        return value
    }

    private static func error(_ code: ProcParseError.Code, line: Int, _ reason: String) -> ProcParseError {
        ProcParseError(code, file: file, line: line, reason: reason)
    }
}
