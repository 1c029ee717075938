/// SplitMix64: a deterministic generator, so a failing random test reproduces from its seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Seeded random corruptions of a valid input, for parsers that must throw, never trap.
public enum Corruptions {
    /// `count` variants of `original`: bytes replaced from `alphabet`, removed, or inserted.
    public static func of(_ original: [UInt8], count: Int, seed: UInt64, alphabet: [UInt8]) -> [[UInt8]] {
        var random = SeededGenerator(state: seed)
        var inputs: [[UInt8]] = []
        for _ in 0..<count where !original.isEmpty {
            var bytes = original
            for _ in 0...Int.random(in: 0...4, using: &random) {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0...2, using: &random) {
                case 0: bytes[index] = alphabet.randomElement(using: &random) ?? 0
                case 1: bytes.remove(at: index)
                default: bytes.insert(UInt8.random(in: 0...255, using: &random), at: index)
                }
                if bytes.isEmpty { break }
            }
            inputs.append(bytes)
        }
        return inputs
    }
}

/// A named input for table tests of bad input.
public struct NamedInput: Sendable, CustomStringConvertible {
    public var name: String
    public var bytes: [UInt8]

    public init(_ name: String, _ text: String) {
        self.name = name
        self.bytes = Array(text.utf8)
    }

    public init(_ name: String, bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }
    public var description: String { name }
}

public typealias ProcInput = NamedInput
public typealias RedisInput = NamedInput
