import NIOCore
import Testing

@testable import MonCore

/// xorshift64: deterministic, so a failing fuzz iteration can be replayed.
private struct XorShift: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

@Suite struct WireMessageTests {
    private static func roundTrip(_ message: WireMessage) throws -> WireMessage {
        try WireMessage(frame: message.frame())
    }

    private static func payloadBytes(_ message: WireMessage) -> [UInt8] {
        Array(message.frame().payload.readableBytesView)
    }

    private static let sampleBatch = Batch(
        seq: 42,
        createdMs: 1_795_927_346_000,
        samples: [
            Sample(
                "mon_host_cpu_seconds_total", ["cpu": "0", "mode": "user"], value: 239.53, kind: .counter,
                timestampMs: 1_795_927_345_000),
            Sample("mon_host_memory_bytes", value: 1.5e9, timestampMs: 1_795_927_345_000),
            Sample("", value: -0.0, timestampMs: -86_400_001),
            Sample("mon_x", ["path": "/mnt/é \"q\"\n", "z": ""], value: .greatestFiniteMagnitude, timestampMs: .max),
            Sample("mon_y", value: -.infinity, timestampMs: .min),
        ]
    )

    // MARK: - Round trips

    @Test func helloRoundTrips() throws {
        let hello = WireMessage.hello(.init(agentID: "agent-é", host: "web-1.example", bootID: "3f2a-boot"))
        #expect(try Self.roundTrip(hello) == hello)
        #expect(hello.frame().type == MessageType.hello.rawValue)
        #expect(
            Self.payloadBytes(.hello(.init(protocolVersion: 1, agentID: "a", host: "", bootID: "b"))) == [
                0, 1, 0, 0, 0, 1, 0x61, 0, 0, 0, 0, 0, 0, 0, 1, 0x62,
            ])
    }

    /// Version 2 adds the interval and the agent's release after a token that is always
    /// present (empty when none); version 1 HELLOs (agents of the previous release) still decode.
    @Test func helloVersion2CarriesIntervalAndVersion() throws {
        let hello = WireMessage.hello(
            .init(agentID: "a", host: "h", bootID: "b", token: "t", intervalMs: 5000, agentVersion: "0.1.0"))
        #expect(try Self.roundTrip(hello) == hello)
        #expect(
            Self.payloadBytes(.hello(.init(protocolVersion: 2, agentID: "a", host: "h", bootID: "b", intervalMs: 258)))
                == [
                    0, 2, 0, 0, 0, 1, 0x61, 0, 0, 0, 1, 0x68, 0, 0, 0, 1, 0x62, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0,
                ])
        let bare = WireMessage.hello(.init(protocolVersion: 2, agentID: "a", host: "h", bootID: "b"))
        #expect(try Self.roundTrip(bare) == bare, "empty token, 0 interval and empty version read back as nil")
        let old = WireMessage.hello(.init(protocolVersion: 1, agentID: "a", host: "h", bootID: "b", token: "t"))
        #expect(try Self.roundTrip(old) == old)
        var truncated = hello.frame().payload
        truncated.moveWriterIndex(to: truncated.writerIndex - 3)
        let error = #expect(throws: WireError.self) { try WireMessage(frame: Frame(.hello, payload: truncated)) }
        #expect(error?.message.contains("hello.agent_version") == true)
    }

    @Test func welcomeRoundTrips() throws {
        let welcome = WireMessage.welcome(.init(lastAckedSeq: .max))
        #expect(try Self.roundTrip(welcome) == welcome)
        #expect(
            Self.payloadBytes(.welcome(.init(protocolVersion: 1, lastAckedSeq: 2))) == [0, 1, 0, 0, 0, 0, 0, 0, 0, 2])
    }

    @Test func ackRoundTrips() throws {
        for seq: UInt64 in [0, 1, 0x0102_0304_0506_0708, .max] {
            #expect(try Self.roundTrip(.ack(seq: seq)) == .ack(seq: seq))
        }
        #expect(Self.payloadBytes(.ack(seq: 0x0102_0304_0506_0708)) == [1, 2, 3, 4, 5, 6, 7, 8])
    }

    @Test func errorRoundTripsIncludingUnknownCodes() throws {
        let known = WireMessage.error(WireError(.storageUnavailable, "database down"))
        #expect(try Self.roundTrip(known) == known)
        let unknown = WireMessage.error(WireError(rawCode: 999, message: ""))
        #expect(try Self.roundTrip(unknown) == unknown)
        #expect(WireError(rawCode: 999, message: "x").description == "code 999: x")
        #expect(WireError(.forbidden, "no").description == "forbidden: no")
    }

    @Test func batchRoundTripsLabelsKindsExtremesAndNegativeTimestamps() throws {
        let message = WireMessage.batch(Self.sampleBatch)
        let decoded = try Self.roundTrip(message)
        #expect(decoded == message)
        guard case .batch(let batch) = decoded else {
            Issue.record("decoded \(decoded) is not a batch")
            return
        }
        #expect(batch.samples[0].labels["mode"] == "user")
        #expect(batch.samples[0].kind == .counter)
        #expect(batch.samples[2].timestampMs == -86_400_001)
        #expect(batch.samples[2].value.sign == .minus, "-0.0 keeps its sign bit")
        #expect(batch.samples[3].labels["path"] == "/mnt/é \"q\"\n")
        #expect(batch.samples[4].value == -.infinity)
    }

    @Test func batchKeepsNaNAndInfinityBitForBit() throws {
        let payloadNaN = Double(bitPattern: 0x7FF8_0000_DEAD_BEEF)
        let values: [Double] = [.nan, payloadNaN, .infinity, -.infinity, .leastNonzeroMagnitude]
        let batch = Batch(seq: 1, createdMs: 0, samples: values.map { Sample("v", value: $0, timestampMs: 0) })
        guard case .batch(let decoded) = try Self.roundTrip(.batch(batch)) else {
            Issue.record("not a batch")
            return
        }
        #expect(decoded.samples.map(\.value.bitPattern) == values.map(\.bitPattern))
    }

    @Test func emptyBatchRoundTrips() throws {
        let message = WireMessage.batch(Batch(seq: 0, createdMs: -1, samples: []))
        #expect(try Self.roundTrip(message) == message)
        #expect(Self.payloadBytes(message).count == 8 + 8 + 4)
    }

    @Test func moreThan255LabelsAreCutConsistentlyOnBothSides() throws {
        var labels = Labels()
        for index in 0..<300 { labels.set("l\(1000 + index)", "v") }
        let batch = Batch(seq: 1, createdMs: 0, samples: [Sample("m", labels, value: 1, timestampMs: 0)])
        guard case .batch(let decoded) = try Self.roundTrip(.batch(batch)) else {
            Issue.record("not a batch")
            return
        }
        #expect(decoded.samples[0].labels.count == 255)
        #expect(decoded.samples[0].labels.pairs.map(\.name) == Array(labels.pairs.prefix(255).map(\.name)))
    }

    // MARK: - Refusals

    @Test("Unknown type byte", arguments: [0, 6, 7, 128, 255] as [UInt8])
    func unknownTypeIsRefused(type: UInt8) {
        let error = #expect(throws: WireError.self) { try WireMessage(frame: Frame(type: type, payload: ByteBuffer())) }
        #expect(error?.code == WireError.Code.unknownType.rawValue)
        #expect(error?.message.contains("\(type)") == true)
    }

    @Test func everyTruncationOfABatchThrowsMalformed() throws {
        let payload = Self.payloadBytes(.batch(Self.sampleBatch))
        for length in 0..<payload.count {
            let frame = Frame(.batch, payload: ByteBuffer(bytes: payload.prefix(length)))
            let error = #expect(throws: WireError.self, "prefix of \(length) bytes") { try WireMessage(frame: frame) }
            #expect(error?.code == WireError.Code.malformed.rawValue, "prefix of \(length) bytes")
        }
    }

    @Test func everyTruncationOfTheOtherMessagesThrowsMalformed() throws {
        let messages: [WireMessage] = [
            .hello(.init(agentID: "agent", host: "host", bootID: "boot")),
            .welcome(.init(lastAckedSeq: 3)),
            .ack(seq: 3),
            .error(WireError(.malformed, "bad")),
        ]
        for message in messages {
            let frame = message.frame()
            let payload = Array(frame.payload.readableBytesView)
            for length in 0..<payload.count {
                let cut = Frame(type: frame.type, payload: ByteBuffer(bytes: payload.prefix(length)))
                let error = #expect(throws: WireError.self, "\(message) cut at \(length)") {
                    try WireMessage(frame: cut)
                }
                #expect(error?.code == WireError.Code.malformed.rawValue)
            }
        }
    }

    @Test func batchAnnouncingFourBillionSamplesIsRefusedUpFront() {
        var payload = ByteBuffer()
        payload.writeInteger(UInt64(7))
        payload.writeInteger(Int64(0))
        payload.writeInteger(UInt32(4_000_000_000))
        payload.writeBytes(Array(repeating: 0, count: 40))
        let error = #expect(throws: WireError.self) { try WireMessage(frame: Frame(.batch, payload: payload)) }
        #expect(error?.code == WireError.Code.malformed.rawValue)
        #expect(error?.message.contains("4000000000") == true)
    }

    @Test func invalidUTF8InAStringIsMalformed() {
        var payload = ByteBuffer()
        payload.writeInteger(WireLimits.protocolVersion)
        payload.writeInteger(UInt32(2))
        payload.writeBytes([0xFF, 0xFE])
        payload.writeInteger(UInt32(1))
        payload.writeBytes([0x68])
        payload.writeInteger(UInt32(1))
        payload.writeBytes([0x62])
        let error = #expect(throws: WireError.self) { try WireMessage(frame: Frame(.hello, payload: payload)) }
        #expect(error?.code == WireError.Code.malformed.rawValue)
        #expect(error?.message.contains("hello.agent_id") == true)
        #expect(error?.message.contains("UTF-8") == true)
    }

    @Test func invalidUTF8InALabelValueIsMalformed() {
        var payload = ByteBuffer()
        payload.writeInteger(UInt64(1))
        payload.writeInteger(Int64(0))
        payload.writeInteger(UInt32(1))
        payload.writeWireString("m")
        payload.writeInteger(UInt8(0))
        payload.writeInteger(UInt8(1))
        payload.writeWireString("k")
        payload.writeInteger(UInt32(3))
        payload.writeBytes([0xE2, 0x82, 0x28])  // broken 3-byte sequence
        payload.writeInteger(Int64(0))
        payload.writeInteger(UInt64(0))
        let error = #expect(throws: WireError.self) { try WireMessage(frame: Frame(.batch, payload: payload)) }
        #expect(error?.code == WireError.Code.malformed.rawValue)
        #expect(error?.message.contains("label value") == true)
        #expect(error?.message.hasPrefix("batch 1 sample 0 label value:") == true)
    }

    @Test func aRepeatedLabelNameKeepsItsLastValueAndTheLabelsStaySorted() throws {
        var payload = ByteBuffer()
        payload.writeInteger(UInt64(4))
        payload.writeInteger(Int64(0))
        payload.writeInteger(UInt32(1))
        payload.writeWireString("m")
        payload.writeInteger(UInt8(0))
        payload.writeInteger(UInt8(3))
        for (name, value) in [("zone", "a"), ("host", "h"), ("zone", "b")] {
            payload.writeWireString(name)
            payload.writeWireString(value)
        }
        payload.writeInteger(Int64(0))
        payload.writeInteger(UInt64(0))
        guard case .batch(let batch) = try WireMessage(frame: Frame(.batch, payload: payload)) else {
            Issue.record("not a batch")
            return
        }
        #expect(batch.samples[0].labels == ["host": "h", "zone": "b"])
        #expect(batch.samples[0].labels.pairs.map(\.name) == ["host", "zone"])
    }

    @Test func aTruncatedSecondSampleIsNamedInTheError() {
        var payload = ByteBuffer()
        payload.writeInteger(UInt64(9))
        payload.writeInteger(Int64(0))
        payload.writeInteger(UInt32(2))
        for _ in 0..<2 {
            // Names long enough that the announced count passes the size check: the read fails.
            payload.writeWireString(String(repeating: "m", count: 40))
            payload.writeInteger(UInt8(0))
            payload.writeInteger(UInt8(0))
            payload.writeInteger(Int64(0))
            payload.writeInteger(UInt64(0))
        }
        payload.moveWriterIndex(to: payload.writerIndex - 3)
        let error = #expect(throws: WireError.self) { try WireMessage(frame: Frame(.batch, payload: payload)) }
        #expect(error?.message == "batch 9 sample 1 value: truncated")
    }

    @Test func stringLongerThan64KiBIsRefusedEvenWhenPresent() {
        var payload = ByteBuffer()
        payload.writeInteger(WireLimits.protocolVersion)
        payload.writeInteger(UInt32(64 * 1024 + 1))
        payload.writeBytes(Array(repeating: UInt8(ascii: "a"), count: 64 * 1024 + 1))
        let error = #expect(throws: WireError.self) { try WireMessage(frame: Frame(.hello, payload: payload)) }
        #expect(error?.code == WireError.Code.malformed.rawValue)
        #expect(error?.message.contains("exceeds") == true)
    }

    @Test func unknownMetricKindIsMalformed() {
        var payload = ByteBuffer()
        payload.writeInteger(UInt64(1))
        payload.writeInteger(Int64(0))
        payload.writeInteger(UInt32(1))
        payload.writeWireString("m")
        payload.writeInteger(UInt8(7))
        payload.writeInteger(UInt8(0))
        payload.writeInteger(Int64(0))
        payload.writeInteger(UInt64(0))
        let error = #expect(throws: WireError.self) { try WireMessage(frame: Frame(.batch, payload: payload)) }
        #expect(error?.code == WireError.Code.malformed.rawValue)
        #expect(error?.message.contains("kind 7") == true)
    }

    @Test func unknownTrailingSectionsInABatchAreSkipped() throws {
        var payload = Self.sampleBatch.encodedPayload()
        payload.writeInteger(UInt8(0x7F))
        payload.writeInteger(UInt32(5))
        payload.writeBytes([1, 2, 3, 4, 5])
        payload.writeInteger(UInt8(0x80))
        payload.writeInteger(UInt32(0))
        #expect(try WireMessage(frame: Frame(.batch, payload: payload)) == .batch(Self.sampleBatch))
    }

    @Test func truncatedSectionIsMalformed() {
        let base = Self.sampleBatch.encodedPayload()
        var withSection = base
        withSection.writeInteger(UInt8(1))
        withSection.writeInteger(UInt32(10))
        withSection.writeBytes([1, 2, 3])
        let full = Array(withSection.readableBytesView)
        // Every cut that is not the end of the samples lands inside the section.
        for length in (base.readableBytes + 1)...full.count {
            let frame = Frame(.batch, payload: ByteBuffer(bytes: full.prefix(length)))
            let error = #expect(throws: WireError.self, "cut at \(length)") { try WireMessage(frame: frame) }
            #expect(error?.code == WireError.Code.malformed.rawValue)
        }
    }

    @Test func trailingBytesAfterNonBatchMessagesAreMalformed() {
        let messages: [WireMessage] = [
            .hello(.init(agentID: "a", host: "h", bootID: "b", token: "t")),
            .welcome(.init(lastAckedSeq: 0)),
            .ack(seq: 1),
            .error(WireError(.malformed, "m")),
        ]
        for message in messages {
            var frame = message.frame()
            frame.payload.writeInteger(UInt8(0))
            let error = #expect(throws: WireError.self, "\(message)") { try WireMessage(frame: frame) }
            #expect(error?.code == WireError.Code.malformed.rawValue)
            #expect(error?.message.contains("1 trailing bytes") == true)
        }
    }

    /// Protocol 1's token is an optional trailing field: a partial one is malformed.
    @Test func helloWithAPartialTokenFieldIsMalformed() {
        var frame = WireMessage.hello(.init(protocolVersion: 1, agentID: "a", host: "h", bootID: "b")).frame()
        frame.payload.writeInteger(UInt8(0))
        let error = #expect(throws: WireError.self) { try WireMessage(frame: frame) }
        #expect(error?.code == WireError.Code.malformed.rawValue)
        #expect(error?.message.contains("hello.token") == true)
    }

    // MARK: - Fuzz

    /// Random frames through the whole decode path: must throw or decode, never trap,
    /// and whatever decodes must re-encode to itself.
    // Both fuzz loops are short (libFuzzer runs the decoders at depth, see fuzz/) and yield:
    // Swift Testing records a backtrace for every thrown error, so each refused frame costs
    // real CPU, and a loop that never yields holds a thread of the cooperative pool.
    @Test func randomBytesNeverTrapTheDecoders() async throws {
        var random = XorShift(seed: 0x5EED_1234_ABCD_0001)
        var decodedCount = 0
        var refusedCount = 0
        for iteration in 0..<4_000 {
            if iteration % 256 == 0 { await Task.yield() }
            var bytes = ByteBuffer()
            let frameLength = Int(random.next() % 48)
            // Mostly plausible lengths and known types, so the message decoders are reached.
            if random.next() % 4 == 0 {
                bytes.writeInteger(UInt32(truncatingIfNeeded: random.next()))
            } else {
                bytes.writeInteger(UInt32(frameLength))
            }
            bytes.writeInteger(UInt8(random.next() % 7))
            for _ in 0..<frameLength { bytes.writeInteger(UInt8(truncatingIfNeeded: random.next())) }
            let outcome = Self.decodeAll(&bytes)
            decodedCount += outcome.decoded
            refusedCount += outcome.refused
        }
        #expect(decodedCount > 0, "the generator never produced a valid message; the fuzz reaches nothing")
        #expect(refusedCount > 0)
    }

    /// Bit flips and byte changes in valid frames reach deeper into the batch decoder.
    @Test func mutatedValidFramesNeverTrapTheDecoders() async throws {
        var random = XorShift(seed: 42)
        var seeds: [[UInt8]] = []
        for message in [
            WireMessage.batch(Self.sampleBatch), .hello(.init(agentID: "a", host: "h", bootID: "b")),
            .error(WireError(.malformed, "x")),
        ] {
            var bytes = ByteBuffer()
            FrameEncoder.write(message.frame(), to: &bytes)
            seeds.append(Array(bytes.readableBytesView))
        }
        var decodedCount = 0
        for iteration in 0..<4_000 {
            if iteration % 256 == 0 { await Task.yield() }
            var bytes = seeds[iteration % seeds.count]
            for _ in 0...(random.next() % 4) {
                let index = Int(random.next() % UInt64(bytes.count))
                if random.next() % 2 == 0 {
                    bytes[index] ^= UInt8(1 << (random.next() % 8))
                } else {
                    bytes[index] = UInt8(truncatingIfNeeded: random.next())
                }
            }
            var buffer = ByteBuffer(bytes: bytes)
            decodedCount += Self.decodeAll(&buffer).decoded
        }
        #expect(decodedCount > 0)
    }

    /// Runs a buffer through the frame decoder and the message decoder; checks the
    /// re-encoding property on every success. Returns what happened.
    private static func decodeAll(_ bytes: inout ByteBuffer) -> (decoded: Int, refused: Int) {
        var decoder = FrameDecoder(maxFrameBytes: 4096)
        var decoded = 0
        var refused = 0
        while true {
            let frame: Frame?
            do {
                frame = try decoder.decodeFrame(&bytes)
            } catch {
                #expect(error is FrameDecoderError)
                return (decoded, refused + 1)
            }
            guard let frame else { return (decoded, refused) }
            do {
                let message = try WireMessage(frame: frame)
                let again = message.frame()
                #expect(try WireMessage(frame: again).frame() == again, "re-encoding \(message) is not stable")
                decoded += 1
            } catch {
                refused += 1
            }
        }
    }
}

extension Batch {
    fileprivate func encodedPayload() -> ByteBuffer {
        var out = ByteBuffer()
        BatchCodec.encode(self, into: &out)
        return out
    }
}
