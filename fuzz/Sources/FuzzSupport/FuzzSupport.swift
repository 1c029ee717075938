import MonAgentKit
import MonCore
import MonQueryKit
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Fails the current fuzz input: prints why and aborts, so libFuzzer reports a
/// "deadly signal" and writes the input to its crash artifact.
public func invariant(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    guard !condition() else { return }
    let text = "INVARIANT VIOLATED at \(file):\(line): \(message())\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
    abort()
}

/// Bugs already reported, named in `FUZZ_KNOWN_BUGS` (comma-separated), whose invariant a
/// target skips so a long run can go on looking for others. Empty by default (CI).
public let knownBugs: Set<String> = Set(
    (getenv("FUZZ_KNOWN_BUGS").map { String(cString: $0) } ?? "").split(separator: ",").map(String.init))

/// Histograms the daemon accepts: with `histogram-sum-overflow` among the known bugs, those
/// whose sum overflowed to ±infinity (fuzz/crashes/statsd/README.md) are left out.
public func withoutKnownBadHistograms(_ histograms: [HistogramSample]) -> [HistogramSample] {
    guard knownBugs.contains("histogram-sum-overflow") else { return histograms }
    return histograms.filter { $0.histogram.sum.isFinite }
}

/// The numbers of what an aggregator flushed are usable everywhere (issue 18): every sample
/// value finite (no counter or gauge pushed to infinity), every histogram non-empty with a
/// finite sum and counts at most `Histogram.maxCount` (exact as Doubles).
public func checkFlushedNumbers(
    _ samples: [Sample], _ histograms: [HistogramSample], _ context: @autoclosure () -> String
) {
    for sample in samples {
        invariant(sample.value.isFinite, "\(context()): sample \(sample.name) = \(sample.value)")
    }
    for sample in histograms {
        let histogram = sample.histogram
        invariant(
            histogram.count > 0 && histogram.count <= Histogram.maxCount && histogram.sum.isFinite
                && histogram.zeroCount <= histogram.count
                && histogram.buckets.values.allSatisfy { $0 > 0 && $0 <= Histogram.maxCount },
            "\(context()): histogram \(sample.name) count \(histogram.count) sum \(histogram.sum)")
    }
}

/// The fuzz input as an array (the pointer is only valid during the call).
public func inputBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// `%XX` escapes decoded (a `%` not followed by two hex digits stays as is); `+` as a space
/// when `plusAsSpace` (form and query encoding).
public func percentDecoded(_ bytes: some Collection<UInt8>, plusAsSpace: Bool) -> [UInt8] {
    let bytes = Array(bytes)
    var out: [UInt8] = []
    var index = 0
    while index < bytes.count {
        if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
            let byte = UInt8(String(decoding: bytes[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
        {
            out.append(byte)
            index += 3
        } else {
            out.append(plusAsSpace && bytes[index] == UInt8(ascii: "+") ? UInt8(ascii: " ") : bytes[index])
            index += 1
        }
    }
    return out
}

/// The readable bytes of a buffer.
public func bytes(of buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

/// The bytes a message is sent as: 4-byte length, type, payload.
public func wireBytes(_ message: WireMessage) -> [UInt8] {
    var out = ByteBuffer()
    FrameEncoder.write(message.frame(), to: &out)
    return bytes(of: out)
}

/// What the agent sends must be what the daemon accepts: `batch` goes through the whole
/// socket path (message → frame → length-prefixed bytes → FrameDecoder → WireMessage)
/// and must come back, encoding to the same bytes again (byte comparison, since a
/// sample value may be NaN, which `==` never equals).
@discardableResult
public func checkBatchAcceptedByDaemon(_ batch: Batch, _ context: @autoclosure () -> String) -> Batch {
    let sent = wireBytes(.batch(batch))
    var buffer = ByteBuffer(bytes: sent)
    var decoder = FrameDecoder()
    let frame: Frame?
    do {
        frame = try decoder.decodeFrame(&buffer)
    } catch {
        invariant(false, "\(context()): the frame decoder refused an encoded batch: \(error)")
        return batch
    }
    invariant(frame != nil && buffer.readableBytes == 0, "\(context()): encoded batch is not exactly one frame")
    let message: WireMessage
    do {
        message = try WireMessage(frame: frame!)
    } catch {
        invariant(false, "\(context()): the daemon would refuse the agent's batch: \(error)")
        return batch
    }
    guard case .batch(let received) = message else {
        invariant(false, "\(context()): a batch decoded as \(message)")
        return batch
    }
    invariant(wireBytes(.batch(received)) == sent, "\(context()): batch changed on the way through the wire codec")
    return received
}
