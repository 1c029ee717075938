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
//    so the message codecs are reached without a valid length prefix.
import FuzzMain
import FuzzSupport
import MonCore
import NIOCore

/// Frames (type, payload bytes) or the error the decoder stopped with.
private struct Decoded: Equatable {
    var frames: [[UInt8]] = []
    var error: String?
}

/// Decodes `input` delivered in chunks; `check` runs the message checks on each frame (once per input is enough).
private func decodeStream(
    _ input: [UInt8], chunkSizes: (Int) -> Int, maxFrameBytes: Int, check: Bool = false
) -> Decoded {
    var result = Decoded()
    var decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
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
                result.frames.append([frame.type] + bytes(of: frame.payload))
                if check { checkFrame(frame) }
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

    // 3. The whole input as one frame's type and payload.
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
