// Fuzz target: the agent's StatsD receiver.
//
// The input is one UDP datagram. StatsDParser.lines splits it, StatsDParser.parse reads
// each line; then the datagram goes through AppAggregator.ingest as the receiver does,
// and what the aggregator flushes is shipped as a batch. Invariants:
//  - lines are non-empty and contain no newline;
//  - a parsed line has a valid name (1...250 printable bytes), finite values (none for a
//    set, at least one otherwise), a sample rate in [1e-6, 1] (issue 18: `@1e-20` trapped
//    in the aggregator), at most 32 tags;
//  - a parsed line written back as StatsD text parses to an equal line (valid UTF-8 input);
//  - the flushed samples are finite and the histograms' counts at most Histogram.maxCount
//    with a finite sum (the datagram goes in twice: sums that overflow are refused);
//  - the flushed samples and histograms, put in a batch, are accepted by the daemon's
//    decoder (what the agent sends must not be refused as malformed).
import FuzzMain
import FuzzSupport
import MonAgentKit
import MonCore
import MonQueryKit

func statsdText(_ line: StatsDLine) -> String {
    var text = line.name + ":"
    if let member = line.setMember {
        text += member
    } else {
        text += line.values.enumerated().map { index, value in
            let number = "\(value)"
            return index == 0 && line.gaugeDelta && !number.hasPrefix("-") ? "+" + number : number
        }.joined(separator: ":")
    }
    text += "|" + line.kind.rawValue
    if line.sampleRate != 1 { text += "|@\(line.sampleRate)" }
    if !line.tags.isEmpty {
        text += "|#" + line.tags.map { $0.value.isEmpty ? $0.name : "\($0.name):\($0.value)" }.joined(separator: ",")
    }
    return text
}

/// The line `text` parses to; nil when refused or ignored.
func reparse(_ text: String) -> StatsDLine? {
    Array(text.utf8).withUnsafeBytes { bytes -> StatsDLine? in (try? StatsDParser.parse(bytes)) ?? nil }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    input.withUnsafeBytes { datagram in
        for raw in StatsDParser.lines(datagram) {
            invariant(!raw.isEmpty && !raw.contains(0x0A), "bad line split")
            let parsed: StatsDLine?
            do throws(StatsDParseError) {
                parsed = try StatsDParser.parse(raw)
            } catch {
                invariant(!error.reason.isEmpty, "error without a reason")
                continue
            }
            guard let line = parsed else { continue }
            invariant(
                !line.name.isEmpty && line.name.utf8.count <= StatsDParser.maxNameBytes, "bad name '\(line.name)'")
            invariant(line.values.allSatisfy(\.isFinite), "non-finite value in \(line.values)")
            invariant(
                line.sampleRate >= StatsDParser.minSampleRate && line.sampleRate <= 1, "sample rate \(line.sampleRate)")
            invariant(line.tags.count <= StatsDParser.maxTags, "\(line.tags.count) tags")
            if line.kind == .set {
                invariant(line.setMember != nil && line.values.isEmpty, "set without a member")
            } else {
                invariant(!line.values.isEmpty && line.setMember == nil, "no value")
            }
            if String(validating: raw, as: UTF8.self) != nil {
                let text = statsdText(line)
                invariant(reparse(text) == line, "'\(text)' does not parse back to the same line")
            }
        }
        let aggregator = AppAggregator(config: StatsDConfig())
        aggregator.ingest(datagram: datagram)
        aggregator.ingest(datagram: datagram)
        let (samples, histograms) = aggregator.flush(timestampMs: 1_795_927_350_000)
        checkFlushedNumbers(samples, histograms, "flushed by AppAggregator")
        checkBatchAcceptedByDaemon(
            Batch(
                seq: 1, createdMs: 1_795_927_350_000, samples: samples,
                histograms: withoutKnownBadHistograms(histograms)),
            "batch flushed by AppAggregator")
    }
    return 0
}

/// The entry point SwiftPM links this executable with; runs libFuzzer.
@_cdecl("FuzzStatsD_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    mon_fuzz_main(argc, argv)
}
