import Foundation
import Logging
import MonAgentKit
import MonCore
import MonQueryKit

#if canImport(Glibc)
    import Glibc
#endif

/// Median, minimum and maximum of a list of milliseconds (and the raw list when asked).
struct Stats: Codable {
    var count: Int
    var median: Double
    var p90: Double
    var p99: Double
    var min: Double
    var max: Double
    var mean: Double

    init(_ values: [Double]) {
        let sorted = values.sorted()
        count = sorted.count
        func at(_ q: Double) -> Double {
            guard !sorted.isEmpty else { return .nan }
            return sorted[Swift.min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded()))]
        }
        median = at(0.5)
        p90 = at(0.9)
        p99 = at(0.99)
        min = sorted.first ?? .nan
        max = sorted.last ?? .nan
        mean = sorted.isEmpty ? .nan : sorted.reduce(0, +) / Double(sorted.count)
    }
}

/// Runs an async closure to completion from synchronous code (mon-bench's main is not async).
final class Blocking<T>: @unchecked Sendable {
    private var value: T?
    private let done = DispatchSemaphore(value: 0)

    static func run(_ body: @escaping @Sendable () async -> T) -> T {
        let box = Blocking<T>()
        Task.detached {
            box.value = await body()
            box.done.signal()
        }
        box.done.wait()
        return box.value!
    }
}

/// `mon-bench cycle`: wall time of the agent's collection cycle, called directly through
/// MonCore (the same collectors `monagent run` builds: HostCollectors.make, CollectionCycle,
/// PostgresCollector, RedisCollector), and the "pread floor": the same /proc files read
/// with descriptors kept open and pread(2) in a plain loop.
enum CycleCommand {
    struct Report: Codable {
        var command = "cycle"
        var iterations: Int
        var warmup: Int
        var pauseMs: Int
        var processGroups: [String]
        var pids: Int
        var samplesPerHostCycle: Int
        /// The six host collectors one after the other (the /proc part of a cycle).
        var procMs: Stats
        /// CollectionCycle.run over the host collectors: the /proc part plus the agent's own
        /// per-collector samples (what the Sampler does each tick before it queues the batch).
        var hostCycleMs: Stats
        var perCollectorMs: [String: Stats]
        var postgresMs: Stats?
        var redisMs: Stats?
        /// Host cycle + PostgreSQL + Redis, one after the other (in the agent they run in
        /// separate tasks, so the wall time of a tick is the largest of the three).
        var fullSequentialMs: Stats?
        var floor: Floor?
        var failures: [String]
    }

    struct Floor: Codable {
        var files: Int
        var directories: Int
        var missing: Int
        /// pread of every file with descriptors opened once (and rewinddir+readdir of the
        /// directories the cycle lists).
        var preadMs: Stats
        /// open + read + close of every file each iteration (and opendir/readdir/closedir).
        var openReadCloseMs: Stats
        var bytes: Int
    }

    static func run(_ options: Options) throws {
        let iterations = try options.int("iterations", default: 1000)
        let warmup = try options.int("warmup", default: 20)
        let pauseMs = try options.int("pause-ms", default: 5)
        let groupNames = (options.string("groups") ?? "postgres,redis-server,monagent")
            .split(separator: ",").map(String.init)
        let postgresURL = options.string("postgres-url")
        let redisURL = options.string("redis-url")
        let floorFile = options.string("floor-files")
        let hostOnly = options.flag("host-only")
        try options.finish()

        let groups = groupNames.map { name -> ProcessGroup in
            switch name {
            case "postgres": return ProcessGroup(name: "postgres", comm: ["postgres"], cmdline: ["postgres:"])
            default: return ProcessGroup(name: name, comm: [name])
            }
        }
        let collectors = HostCollectors.make(procRoot: "/proc", processGroups: groups)
        let cycle = CollectionCycle(collectors: collectors)
        var logger = Logger(label: "mon-bench")
        logger.logLevel = .error
        let postgres = hostOnly ? nil : postgresURL.map { PostgresCollector(config: .init(url: $0), logger: logger) }
        let redis = hostOnly ? nil : redisURL.map { RedisCollector(config: .init(url: $0), logger: logger) }

        let clock = ContinuousClock()
        var procMs: [Double] = []
        var hostCycleMs: [Double] = []
        var perCollector: [String: [Double]] = [:]
        var postgresMs: [Double] = []
        var redisMs: [Double] = []
        var fullMs: [Double] = []
        var failures: Set<String> = []
        var samples = 0
        for index in 0..<(warmup + iterations) {
            let timed = index >= warmup
            let now = WallClock.nowMs()
            // The collectors one by one (the /proc part), then CollectionCycle as the Sampler calls it.
            var proc = 0.0
            for collector in collectors {
                let start = clock.now
                do { _ = try collector.collect(timestampMs: now) } catch {
                    failures.insert("\(collector.name): \(error)")
                }
                let ms = start.duration(to: clock.now).milliseconds
                proc += ms
                if timed { perCollector[collector.name, default: []].append(ms) }
            }
            let cycleStart = clock.now
            let result = cycle.run(timestampMs: now)
            let host = cycleStart.duration(to: clock.now).milliseconds
            samples = result.samples.count
            for failure in result.failures { failures.insert("\(failure.collector): \(failure.error)") }
            var full = host
            if let postgres {
                let start = clock.now
                _ = Blocking.run { await postgres.collect(timestampMs: now) }
                let ms = start.duration(to: clock.now).milliseconds
                full += ms
                if timed { postgresMs.append(ms) }
            }
            if let redis {
                let start = clock.now
                _ = Blocking.run { await redis.collect(timestampMs: now) }
                let ms = start.duration(to: clock.now).milliseconds
                full += ms
                if timed { redisMs.append(ms) }
            }
            if timed {
                procMs.append(proc)
                hostCycleMs.append(host)
                fullMs.append(full)
            }
            if pauseMs > 0 { usleep(useconds_t(pauseMs * 1000)) }
        }
        var floor: Floor? = nil
        if let floorFile {
            floor = try measureFloor(listFile: floorFile, iterations: iterations, warmup: warmup, pauseMs: pauseMs)
        }
        let pids = (try? ProcFS().pids().count) ?? 0
        try printJSON(
            Report(
                iterations: iterations, warmup: warmup, pauseMs: pauseMs, processGroups: groupNames, pids: pids,
                samplesPerHostCycle: samples, procMs: Stats(procMs), hostCycleMs: Stats(hostCycleMs),
                perCollectorMs: perCollector.mapValues { Stats($0) },
                postgresMs: postgres == nil ? nil : Stats(postgresMs), redisMs: redis == nil ? nil : Stats(redisMs),
                fullSequentialMs: (postgres == nil && redis == nil) ? nil : Stats(fullMs), floor: floor,
                failures: failures.sorted()))
    }

    /// Reads the paths (one a line; a trailing "/" marks a directory) with kept descriptors
    /// and pread, and with open/read/close, alternating per iteration.
    static func measureFloor(listFile: String, iterations: Int, warmup: Int, pauseMs: Int) throws -> Floor {
        let lines = try String(contentsOfFile: listFile, encoding: .utf8).split(separator: "\n").map(String.init)
        let files = lines.filter { !$0.hasSuffix("/") && !$0.isEmpty }
        let directories = lines.filter { $0.hasSuffix("/") }.map { String($0.dropLast()) }
        var fds: [Int32] = []
        var missing = 0
        for path in files {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { missing += 1 } else { fds.append(fd) }
        }
        var dirs: [OpaquePointer] = []
        for path in directories {
            if let dir = opendir(path) { dirs.append(dir) } else { missing += 1 }
        }
        let openPaths = files
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let clock = ContinuousClock()
        var preadMs: [Double] = []
        var orcMs: [Double] = []
        var bytes = 0
        for index in 0..<(warmup + iterations) {
            // Kept descriptors + pread.
            var total = 0
            let t0 = clock.now
            buffer.withUnsafeMutableBytes { raw in
                for fd in fds {
                    var offset = 0
                    while true {
                        let count = pread(fd, raw.baseAddress, raw.count, off_t(offset))
                        if count <= 0 { break }
                        offset += count
                    }
                    total += offset
                }
            }
            for dir in dirs {
                rewinddir(dir)
                while readdir(dir) != nil {}
            }
            let t1 = clock.now
            // open + read + close.
            buffer.withUnsafeMutableBytes { raw in
                for path in openPaths {
                    let fd = open(path, O_RDONLY | O_CLOEXEC)
                    if fd < 0 { continue }
                    while read(fd, raw.baseAddress, raw.count) > 0 {}
                    close(fd)
                }
            }
            for path in directories {
                if let dir = opendir(path) {
                    while readdir(dir) != nil {}
                    closedir(dir)
                }
            }
            let t2 = clock.now
            if index >= warmup {
                preadMs.append((t1 - t0).milliseconds)
                orcMs.append((t2 - t1).milliseconds)
                bytes = total
            }
            if pauseMs > 0 { usleep(useconds_t(pauseMs * 1000)) }
        }
        for fd in fds { close(fd) }
        for dir in dirs { closedir(dir) }
        return Floor(
            files: fds.count, directories: dirs.count, missing: missing, preadMs: Stats(preadMs),
            openReadCloseMs: Stats(orcMs), bytes: bytes)
    }
}
