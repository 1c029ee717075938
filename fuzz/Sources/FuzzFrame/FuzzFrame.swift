// Fuzz target: the ingest socket path of monquery.
//
// The input is a byte stream as read from the agent's socket. It is cut into frames by
// FrameDecoder.decodeFrame and each frame decoded by WireMessage(frame:) (BatchCodec for
// BATCH frames). Invariants:
//  - feeding the stream in pieces (as TCP delivers it) gives the same frames and the same
//    error as feeding it at once;
//  - a decoded frame re-encoded by FrameEncoder decodes to the same frame;
//  - a decoded HELLO/WELCOME/ACK/ERROR re-encodes to exactly the frame it came from;
//  - a decoded message re-encodes to a frame that decodes again, and re-encoding that
//    gives the same bytes (encode → decode → encode is stable); without NaN values the
//    messages compare equal;
//  - the whole input taken as one frame (first byte the type) goes through the same checks,
//    so the message codecs are reached without a valid length prefix;
//  - the daemon's decoder (`FrameDecoder(limit:)`): before HELLO no frame above
//    `WireLimits.handshakeMaxFrameBytes` is delivered; after it, a frame above the limit comes
//    out as its first bytes with `oversizedLength` set (never more than
//    `WireLimits.oversizedPrefixBytes`), the same at once and in pieces;
//  - every frame goes through an `IngestSession` after HELLO without trapping: a BATCH is
//    stored or quarantined (by the seq in its first 8 bytes), never anything else;
//  - a decoded batch: `BatchCodec.encodedSize` is its encoding's size, and `BatchShaper`
//    makes it into batches that each fit the limit and carry only valid series.
import FuzzMain
import FuzzSupport
import MonAgentKit
import MonCore
import MonQueryKit
import NIOCore

/// Frames (type, payload bytes) or the error the decoder stopped with.
private struct Decoded: Equatable {
    var frames: [[UInt8]] = []
    var error: String?
}

/// Decodes `input` delivered in chunks; `check` runs the message checks on each frame (once per input is enough).
/// With `limit`, the daemon's decoder (its `oversizedLength` is part of the frame's bytes).
private func decodeStream(
    _ input: [UInt8], chunkSizes: (Int) -> Int, maxFrameBytes: Int, check: Bool = false, limit: FrameLimit? = nil
) -> Decoded {
    var result = Decoded()
    var decoder = limit.map { FrameDecoder(limit: $0) } ?? FrameDecoder(maxFrameBytes: maxFrameBytes)
    var buffer = ByteBuffer()
    var offset = 0
    var chunk = 0
    while offset < input.count {
        let size = max(1, min(chunkSizes(chunk), input.count - offset))
        buffer.writeBytes(input[offset..<(offset + size)])
        offset += size
        chunk += 1
        do {
            while let frame = try decoder.decodeFrame(&buffer) {
                let oversized = frame.oversizedLength.map { withUnsafeBytes(of: UInt64($0)) { Array($0) } } ?? []
                result.frames.append([frame.type] + bytes(of: frame.payload) + oversized)
                if check { checkFrame(frame) }
                if let limit { checkDaemonFrame(frame, limit: limit) }
            }
        } catch {
            result.error = "\(error)"
            return result
        }
    }
    return result
}

private func checkFrame(_ frame: Frame) {
    // Frame layer round trip.
    var out = ByteBuffer()
    FrameEncoder.write(frame, to: &out)
    var decoder = FrameDecoder()
    let again = try? decoder.decodeFrame(&out)
    invariant(again == frame && out.readableBytes == 0, "frame did not survive FrameEncoder → FrameDecoder")
    checkMessage(frame)
}

private func hasNaN(_ message: WireMessage) -> Bool {
    guard case .batch(let batch) = message else { return false }
    return batch.samples.contains { $0.value.isNaN }
}

private func checkMessage(_ frame: Frame) {
    let message: WireMessage
    do {
        message = try WireMessage(frame: frame)
    } catch {
        invariant(!error.message.isEmpty, "WireError without a message")
        return
    }
    let encoded = message.frame()
    invariant(encoded.type == frame.type, "message type changed: \(frame.type) → \(encoded.type)")
    if case .batch = message {
    } else {
        invariant(encoded == frame, "\(message) does not re-encode to the frame it came from")
    }
    let decodedAgain: WireMessage
    do {
        decodedAgain = try WireMessage(frame: encoded)
    } catch {
        invariant(false, "re-encoded \(message) does not decode: \(error)")
        return
    }
    invariant(
        bytes(of: decodedAgain.frame().payload) == bytes(of: encoded.payload),
        "encode → decode → encode is not stable")
    if !hasNaN(message) {
        // What the decoder dropped (inconsistent histograms) is counted, not encoded again.
        var expected = message
        if case .batch(var batch) = message {
            batch.droppedOnDecode = 0
            expected = .batch(batch)
        }
        invariant(decodedAgain == expected, "message changed in a round trip")
    }
    if case .batch(let batch) = message {
        checkBatchAcceptedByDaemon(batch, "re-encoded batch")
    }
}

/// A frame as the daemon's decoder delivered it, through a session past HELLO.
private func checkDaemonFrame(_ frame: Frame, limit: FrameLimit) {
    if let length = frame.oversizedLength {
        invariant(limit.isRaised, "an oversized frame was delivered before HELLO")
        invariant(length > limit.maxFrameBytes, "a frame within the limit was marked oversized")
        invariant(frame.payload.readableBytes < WireLimits.oversizedPrefixBytes, "an oversized frame kept too much")
    } else {
        invariant(frame.payload.readableBytes < limit.current, "a frame above the limit was delivered")
    }
    var session = IngestSession()
    _ = session.receive(.hello(.init(agentID: "a", host: "h", bootID: "b")))
    session.welcomed(lastStoredSeq: 0)
    let action = session.receive(frame: frame)
    if frame.type == MessageType.batch.rawValue, frame.payload.readableBytes >= 8 {
        switch action {
        case .store(let batch, _): checkShaped(batch)
        case .quarantine(let batch):
            invariant(!batch.reason.isEmpty, "a quarantine without a reason")
            invariant(batch.payload == frame.payload, "a quarantined batch is not kept as received")
        default: invariant(false, "a BATCH after HELLO was neither stored nor quarantined: \(action)")
        }
    }
}

/// `encodedSize` is exact, and the shaper's batches fit and carry valid series only.
private func checkShaped(_ batch: Batch) {
    var out = ByteBuffer()
    BatchCodec.encode(batch, into: &out)
    invariant(BatchCodec.encodedSize(of: batch) == out.readableBytes, "encodedSize differs from the encoding")
    let limit = 4096
    for part in BatchShaper(maxBatchBytes: limit).shape(batch) {
        invariant(BatchCodec.encodedSize(of: part) <= limit, "a shaped batch exceeds the limit")
        for sample in part.samples {
            invariant(
                SeriesLimits.problem(name: sample.name, labels: sample.labels) == nil,
                "the shaper let an invalid series through: \(sample.name)")
        }
        for sample in part.histograms {
            invariant(
                SeriesLimits.problem(name: sample.name, labels: sample.labels) == nil,
                "the shaper let an invalid histogram series through: \(sample.name)")
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = inputBytes(data, size)

    // 1. The stream at once, then in pieces of 1..7 bytes (a pattern from the input's length).
    let whole = decodeStream(
        input, chunkSizes: { _ in .max }, maxFrameBytes: WireLimits.defaultMaxFrameBytes, check: true)
    let pieces = decodeStream(
        input, chunkSizes: { ($0 * 5 + size) % 7 + 1 }, maxFrameBytes: WireLimits.defaultMaxFrameBytes)
    invariant(whole == pieces, "split delivery decoded differently: \(whole) vs \(pieces)")

    // 2. A small limit: frames above it must be refused with frame_too_large, never delivered.
    let small = decodeStream(input, chunkSizes: { _ in .max }, maxFrameBytes: 64)
    invariant(small.frames.allSatisfy { $0.count <= 64 }, "a frame above maxFrameBytes was delivered")

    // 3. The daemon's decoder: before HELLO (8 KiB), then past it with a small limit (oversized
    //    frames skipped), at once and in pieces.
    let handshake = decodeStream(
        input, chunkSizes: { _ in .max }, maxFrameBytes: 0, limit: FrameLimit(maxFrameBytes: 1 << 20))
    invariant(
        handshake.frames.allSatisfy { $0.count <= WireLimits.handshakeMaxFrameBytes },
        "a frame above the handshake limit was delivered before HELLO")
    let raised = FrameLimit(maxFrameBytes: 1024)
    raised.raise()
    let skippedWhole = decodeStream(input, chunkSizes: { _ in .max }, maxFrameBytes: 0, limit: raised)
    // Pieces of 1 … 97 bytes: enough to cut the skipped frames anywhere, cheaper than byte-sized ones.
    let skippedPieces = decodeStream(input, chunkSizes: { ($0 * 37 + size) % 97 + 1 }, maxFrameBytes: 0, limit: raised)
    invariant(skippedWhole == skippedPieces, "oversized frames decoded differently in pieces")

    // 4. The whole input as one frame's type and payload.
    if let type = input.first {
        checkMessage(Frame(type: type, payload: ByteBuffer(bytes: input.dropFirst())))
    }
    return 0
}

/// The entry point SwiftPM links this executable with; runs libFuzzer.
@_cdecl("FuzzFrame_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    mon_fuzz_main(argc, argv)
}
