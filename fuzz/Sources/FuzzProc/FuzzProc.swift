// Fuzz target: the /proc parsers of the agent's host and process collectors.
//
// The first input byte picks the parser (modulo the number of parsers), the rest is the
// file's content. The parsers are documented as total: any bytes give a value or a
// ProcParseError, never a trap. Invariants checked on what they return:
//  - numbers they promise finite are finite (CPU seconds, load averages, PSI averages),
//    CPU seconds are ≥ 0 and `usageRatio` between two readings is nil or in 0...1;
//  - MemInfo: effective available ≤ total (so `usedBytes` cannot underflow);
//  - names are non-empty and free of the separators they were split on; mountpoints absolute;
//  - `MountsParser.unescape` leaves text without a backslash unchanged;
//  - cmdline: arguments joined by NUL are a prefix of valid UTF-8 input.
import FuzzMain
import FuzzSupport
import MonAgentKit
import MonCore
import MonQueryKit

enum Parser: UInt8, CaseIterable {
    case stat, meminfo, diskstats, netdev, mounts, loadavg, pressure, sockstat, pidStat, pidCmdline
}

private func check(_ parser: Parser, _ body: [UInt8]) {
    switch parser {
    case .stat:
        guard let stat = try? ProcStatParser.parse(body, userHZ: 100) else { return }
        for times in [stat.total] + Array(stat.perCPU.values) {
            invariant(times.values.allSatisfy { $0.isFinite && $0 >= 0 }, "CPU seconds not finite or negative")
            if let ratio = CPUCollector.usageRatio(from: ProcStat.CPUTimes(), to: times) {
                invariant(ratio >= 0 && ratio <= 1, "usage ratio \(ratio) outside 0...1")
            }
            if let ratio = CPUCollector.usageRatio(from: times, to: stat.total) {
                invariant(ratio >= 0 && ratio <= 1, "usage ratio \(ratio) outside 0...1")
            }
        }
        invariant(stat.perCPU.keys.allSatisfy { $0 >= 0 }, "negative CPU index")
    case .meminfo:
        guard let info = try? MemInfoParser.parse(body) else { return }
        invariant(info.effectiveAvailableBytes <= info.totalBytes, "available > total")
        _ = info.usedBytes
    case .diskstats:
        guard let disks = try? DiskStatsParser.parse(body) else { return }
        let collector = DiskCollector()
        for disk in disks {
            invariant(!disk.device.isEmpty && !disk.device.contains(" "), "bad device name '\(disk.device)'")
            _ = collector.isIgnored(disk.device)
        }
    case .netdev:
        guard let interfaces = try? NetDevParser.parse(body) else { return }
        for interface in interfaces {
            invariant(
                !interface.interface.isEmpty && !interface.interface.contains(":")
                    && !interface.interface.contains(" "),
                "bad interface name '\(interface.interface)'")
        }
    case .mounts:
        guard let mounts = try? MountsParser.parse(body) else { return }
        for mount in mounts {
            // On bytes: `hasPrefix("/")` compares grapheme clusters, and "/" followed by a
            // combining mark (U+059A in ci53's input) is one cluster that is not "/".
            invariant(
                mount.mountpoint.utf8.first == UInt8(ascii: "/"), "mountpoint '\(mount.mountpoint)' is not absolute")
        }
        _ = FilesystemCollector.select(mounts, ignoring: FilesystemCollector.defaultIgnoredTypes)
        let text = String(decoding: body, as: UTF8.self)
        let unescaped = MountsParser.unescape(Substring(text))
        if !text.contains("\\") { invariant(unescaped == text, "unescape changed text without a backslash") }
    case .loadavg:
        guard let load = try? LoadAvgParser.parse(body) else { return }
        invariant(
            load.load1.isFinite && load.load5.isFinite && load.load15.isFinite, "load average not finite: \(load)")
    case .pressure:
        guard let pressure = try? PressureParser.parse(body) else { return }
        for stall in [pressure.some] + (pressure.full.map { [$0] } ?? []) {
            invariant(
                stall.avg10.isFinite && stall.avg60.isFinite && stall.avg300.isFinite, "PSI average not finite")
        }
    case .sockstat:
        _ = try? SockStatParser.parse(body)
    case .pidStat:
        guard let stat = try? ProcessStatParser.parse(body) else { return }
        invariant(stat.pid >= 0, "negative pid")
        _ = stat.cpuTicks
        _ = ProcessGroup.group(in: ProcessGroup.defaults, comm: stat.comm, arguments: { [stat.comm] })
    case .pidCmdline:
        let arguments = ProcessCmdlineParser.parse(body)
        invariant(arguments.last?.isEmpty != true, "trailing empty argument")
        if String(validating: body, as: UTF8.self) != nil {
            let joined = Array(arguments.joined(separator: "\0").utf8)
            invariant(body.starts(with: joined), "arguments joined by NUL are not a prefix of the input")
        }
        _ = ProcessGroup.group(in: ProcessGroup.defaults, comm: "", arguments: { arguments })
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    guard let selector = input.first else { return 0 }
    let parser = Parser(rawValue: selector % UInt8(Parser.allCases.count))!
    check(parser, Array(input.dropFirst()))
    return 0
}

/// The entry point SwiftPM links this executable with; runs libFuzzer.
@_cdecl("FuzzProc_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    mon_fuzz_main(argc, argv)
}
