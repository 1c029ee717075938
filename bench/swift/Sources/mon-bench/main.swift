import Foundation

/// mon-bench — benchmark helpers that use MonCore directly.
///
///   mon-bench render --series N [--repeat R] [--warmup W] [--hosts H] [--observations O]
///                    [--formats text004,openmetrics] [--gzip] [--dump FILE]
///       Fills a LastValueCache with N series (1 % request-duration histograms of O
///       observations, the rest gauges and counters with 1–3 labels over H hosts), then
///       times W + R scrapes' worth of snapshot + PrometheusText render + finish (and
///       Array(text.utf8), and Gzip.compress with --gzip) per format. Prints JSON with
///       median/min/max milliseconds of the last R, and the bytes. --dump writes the text
///       (FILE.<format> when several formats).
///
///   mon-bench push --socket PATH --series N [--hosts H] [--observations O] [--timeout S]
///       Sends the same N series (timestamp now) to a running monquery's ingest socket:
///       per host one connection, HELLO → WELCOME, one BATCH → ACK. Prints JSON.
///
///   mon-bench cycle [--iterations N] [--warmup W] [--pause-ms P] [--groups a,b,c]
///                   [--postgres-url URL] [--redis-url URL] [--floor-files FILE] [--host-only]
///       Times the agent's collectors called directly (Cycle.swift); --floor-files also times
///       reading the listed /proc files with kept descriptors + pread.
///
///   mon-bench ingest --socket PATH [--agents A] [--batch-samples N] [--duration-ms D]
///                    [--warmup-batches W] [--host-prefix P]
///       A (--agents) synthetic agents push batches of N samples as fast as ACKs allow (Ingest.swift).
///
///   mon-bench fleet --socket PATH --agents N [--duration-ms D] [--interval-ms 5000] [--series 300]
///                   [--endpoints 10] [--log-rate 5] [--slow-every 12] [--phase spread|aligned]
///                   [--threads 2] [--grace-ms 15000] [--progress-ms 10000] [--host-prefix fleet]
///                   [--warmup-batches 1] [--analyze-url URL] [--connect-concurrency 64]
///       N synthetic agents shaped like monagent hosts, one batch per interval each (Fleet.swift).
///
///   mon-bench send-one --socket PATH --host H --value X [--name N] [--labels k=v,...]
///   mon-bench insert --database-url URL [--table T] [--duration-ms D] [--series S]
///   mon-bench prepare-db --database-url URL [--days-back N]
///   mon-bench rollup --database-url URL [--chunk-minutes M]

struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `--name value` and `--flag` arguments.
final class Options {
    private var values: [String: String] = [:]
    private var flags: Set<String> = []
    private var used: Set<String> = []

    init(_ arguments: ArraySlice<String>, flagNames: Set<String>) throws {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            guard argument.hasPrefix("--") else { throw UsageError("unexpected argument \(argument)") }
            let name = String(argument.dropFirst(2))
            if flagNames.contains(name) {
                flags.insert(name)
            } else {
                guard let value = rest.popFirst() else { throw UsageError("\(argument) needs a value") }
                values[name] = value
            }
        }
    }

    func string(_ name: String) -> String? {
        used.insert(name)
        return values[name]
    }

    func int(_ name: String, default fallback: Int) throws -> Int {
        guard let text = string(name) else { return fallback }
        guard let value = Int(text.replacingOccurrences(of: "_", with: "")), value >= 0 else {
            throw UsageError("--\(name) needs a whole number, got \(text)")
        }
        return value
    }

    func flag(_ name: String) -> Bool {
        used.insert(name)
        return flags.contains(name)
    }

    /// Refuses options nobody asked for (typos).
    func finish() throws {
        let unknown = Set(values.keys).union(flags).subtracting(used)
        if !unknown.isEmpty { throw UsageError("unknown option(s): \(unknown.sorted().map { "--" + $0 })") }
    }
}

let usage = """
    usage: mon-bench render --series N [--repeat R] [--warmup W] [--hosts H] [--observations O]
                            [--formats text004,openmetrics] [--gzip] [--dump FILE]
           mon-bench push --socket PATH --series N [--hosts H] [--observations O] [--timeout S]
           mon-bench cycle [--iterations N] [--warmup W] [--pause-ms P] [--groups a,b,c]
                           [--postgres-url URL] [--redis-url URL] [--floor-files FILE] [--host-only]
           mon-bench ingest --socket PATH [--agents A] [--batch-samples N] [--duration-ms D]
                            [--warmup-batches W] [--host-prefix P]
           mon-bench fleet --socket PATH --agents N [--duration-ms D] [--interval-ms 5000] [--series 300]
                           [--endpoints 10] [--log-rate 5] [--slow-every 12] [--phase spread|aligned]
                           [--threads 2] [--grace-ms 15000] [--progress-ms 10000] [--host-prefix fleet]
                           [--warmup-batches 1] [--analyze-url URL] [--connect-concurrency 64]
           mon-bench send-one --socket PATH --host H --value X [--name N] [--labels k=v,...]
           mon-bench insert --database-url URL [--table T] [--duration-ms D] [--series S]
           mon-bench prepare-db --database-url URL [--days-back N]
           mon-bench rollup --database-url URL [--chunk-minutes M]
    """

let arguments = CommandLine.arguments
do {
    guard arguments.count >= 2 else { throw UsageError(usage) }
    let options = try Options(arguments.dropFirst(2), flagNames: ["gzip", "host-only"])
    switch arguments[1] {
    case "render": try RenderCommand.run(options)
    case "push": try PushCommand.run(options)
    case "cycle": try CycleCommand.run(options)
    case "ingest": try IngestCommand.run(options)
    case "fleet": try FleetCommand.run(options)
    case "send-one": try SendOneCommand.run(options)
    case "insert": try InsertCommand.run(options)
    case "prepare-db": try PrepareDBCommand.run(options)
    case "rollup": try RollupCommand.run(options)
    case "-h", "--help", "help":
        print(usage)
    default: throw UsageError(usage)
    }
} catch {
    FileHandle.standardError.write(Data("mon-bench: \(error)\n".utf8))
    exit(2)
}
