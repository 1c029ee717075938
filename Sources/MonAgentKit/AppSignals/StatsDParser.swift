import MonCore

/// One StatsD / DogStatsD line:
/// `name:value[:value…]|type[|@rate][|#tag:value,tag][|T<unix>][|c:<container>]`.
public struct StatsDLine: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case counter = "c"
        case gauge = "g"
        case timer = "ms"
        case histogram = "h"
        case distribution = "d"
        case set = "s"
    }

    public var name: String
    public var kind: Kind
    /// Numeric values (several with DogStatsD's `name:1:2:3|ms`); empty for sets.
    public var values: [Double]
    /// The member of a set (`|s`).
    public var setMember: String?
    /// A gauge value written `+3` or `-3` adjusts the gauge instead of setting it.
    public var gaugeDelta: Bool
    /// `@rate`, `StatsDParser.minSampleRate` ≤ rate ≤ 1 (default 1).
    public var sampleRate: Double
    /// DogStatsD tags in order; a tag without `:` has an empty value.
    public var tags: [(name: String, value: String)]

    public static func == (lhs: StatsDLine, rhs: StatsDLine) -> Bool {
        lhs.name == rhs.name && lhs.kind == rhs.kind && lhs.values == rhs.values && lhs.setMember == rhs.setMember
            && lhs.gaugeDelta == rhs.gaugeDelta && lhs.sampleRate == rhs.sampleRate
            && lhs.tags.map(\.name) == rhs.tags.map(\.name) && lhs.tags.map(\.value) == rhs.tags.map(\.value)
    }
}

/// Why a StatsD line was refused (counted as malformed, never fatal).
public struct StatsDParseError: Error, Equatable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
    init(_ reason: String) { self.reason = reason }
}

/// Parses StatsD lines from raw datagram bytes (no Foundation, no regex).
public enum StatsDParser {
    public static let maxNameBytes = 250
    public static let maxTagBytes = 200
    public static let maxTags = 32
    public static let maxValues = 1024
    /// Smallest `@rate` accepted: one line then stands for a million. A smaller rate (1e-20,
    /// 1e-300, 0, negative) would scale a count beyond anything real, so its line is
    /// malformed; so is a rate that is not a finite number (`nan`, `inf`). A rate above 1
    /// (the `datadog` client sends `@2` for `sample_rate=2`) means every event was sent: 1.
    public static let minSampleRate = 1e-6

    /// Lines of a datagram: split on `\n`, empty lines skipped, trailing `\r` trimmed.
    public static func lines(_ datagram: UnsafeRawBufferPointer) -> [UnsafeRawBufferPointer] {
        var out: [UnsafeRawBufferPointer] = []
        var start = 0
        for index in 0...datagram.count {
            guard index == datagram.count || datagram[index] == 0x0A else { continue }
            var end = index
            if end > start, datagram[end - 1] == 0x0D { end -= 1 }
            if end > start { out.append(UnsafeRawBufferPointer(rebasing: datagram[start..<end])) }
            start = index + 1
        }
        return out
    }

    /// `nil` for the DogStatsD event (`_e{`) and service-check (`_sc|`) lines we do not store.
    public static func parse(_ line: UnsafeRawBufferPointer) throws(StatsDParseError) -> StatsDLine? {
        if line.starts(with: "_e{".utf8) || line.starts(with: "_sc|".utf8) { return nil }
        let fields = split(line, on: UInt8(ascii: "|"))
        guard fields.count >= 2 else { throw StatsDParseError("no '|type' section") }
        // name:value[:value...]
        let head = fields[0]
        guard let colon = head.firstIndex(of: UInt8(ascii: ":")) else {
            throw StatsDParseError("no ':' between name and value")
        }
        let name = try metricName(UnsafeRawBufferPointer(rebasing: head[..<colon]))
        let valueBytes = UnsafeRawBufferPointer(rebasing: head[(colon + 1)...])
        guard let kind = StatsDLine.Kind(rawValue: text(fields[1])) else {
            throw StatsDParseError("unknown type '\(printable(fields[1]))'")
        }
        var line = StatsDLine(
            name: name, kind: kind, values: [], setMember: nil, gaugeDelta: false, sampleRate: 1, tags: [])
        if kind == .set {
            guard !valueBytes.isEmpty else { throw StatsDParseError("empty set member") }
            line.setMember = text(valueBytes)
        } else {
            let parts = split(valueBytes, on: UInt8(ascii: ":"))
            guard parts.count <= maxValues else { throw StatsDParseError("more than \(maxValues) values") }
            for part in parts {
                guard let value = number(part) else {
                    throw StatsDParseError("value '\(printable(part))' is not a number")
                }
                line.values.append(value)
            }
            if kind == .gauge, let first = valueBytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
                line.gaugeDelta = true
            }
        }
        for field in fields.dropFirst(2) {
            guard let marker = field.first else { throw StatsDParseError("empty section") }
            let rest = UnsafeRawBufferPointer(rebasing: field.dropFirst())
            switch marker {
            case UInt8(ascii: "@"):
                guard let rate = number(rest), rate >= minSampleRate else {
                    throw StatsDParseError("sample rate '\(printable(rest))' is not a number >= \(minSampleRate)")
                }
                line.sampleRate = min(rate, 1)
            case UInt8(ascii: "#"):
                line.tags = try tags(rest)
            case UInt8(ascii: "T"), UInt8(ascii: "c"), UInt8(ascii: "e"):
                continue  // timestamp, container id, external data: accepted, not used
            default:
                throw StatsDParseError("unknown section '\(printable(field))'")
            }
        }
        return line
    }

    static func tags(_ bytes: UnsafeRawBufferPointer) throws(StatsDParseError) -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        for tag in split(bytes, on: UInt8(ascii: ",")) where !tag.isEmpty {
            guard out.count < maxTags else { throw StatsDParseError("more than \(maxTags) tags") }
            guard tag.count <= maxTagBytes else { throw StatsDParseError("tag longer than \(maxTagBytes) bytes") }
            guard tag.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) else {
                throw StatsDParseError("control character in tag")
            }
            if let colon = tag.firstIndex(of: UInt8(ascii: ":")) {
                let key = UnsafeRawBufferPointer(rebasing: tag[..<colon])
                guard !key.isEmpty else { throw StatsDParseError("tag with an empty name") }
                out.append((text(key), text(UnsafeRawBufferPointer(rebasing: tag[(colon + 1)...]))))
            } else {
                out.append((text(tag), ""))
            }
        }
        return out
    }

    static func metricName(_ bytes: UnsafeRawBufferPointer) throws(StatsDParseError) -> String {
        guard !bytes.isEmpty else { throw StatsDParseError("empty metric name") }
        guard bytes.count <= maxNameBytes else { throw StatsDParseError("metric name longer than \(maxNameBytes)") }
        guard bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "#") && $0 != UInt8(ascii: "@") })
        else {
            throw StatsDParseError("metric name '\(printable(bytes))' has characters outside printable ASCII")
        }
        return text(bytes)
    }

    static func split(_ bytes: UnsafeRawBufferPointer, on separator: UInt8) -> [UnsafeRawBufferPointer] {
        var out: [UnsafeRawBufferPointer] = []
        var start = 0
        for index in 0...bytes.count where index == bytes.count || bytes[index] == separator {
            out.append(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
            start = index + 1
        }
        return out
    }

    static func split(_ bytes: Slice<UnsafeRawBufferPointer>, on separator: UInt8) -> [UnsafeRawBufferPointer] {
        split(UnsafeRawBufferPointer(rebasing: bytes), on: separator)
    }

    /// A finite decimal number (`1`, `-2.5`, `+3`, `1e3`); nil otherwise.
    static func number(_ bytes: UnsafeRawBufferPointer) -> Double? {
        guard !bytes.isEmpty, bytes.count <= 64,
            bytes.allSatisfy({
                ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ".")
                    || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "e")
                    || $0 == UInt8(ascii: "E")
            }),
            let value = Double(text(bytes)), value.isFinite
        else { return nil }
        return value
    }

    static func text(_ bytes: UnsafeRawBufferPointer) -> String { String(decoding: bytes, as: UTF8.self) }

    /// At most 40 characters of the input, for error messages.
    static func printable(_ bytes: UnsafeRawBufferPointer) -> String {
        String(
            String(decoding: bytes.prefix(40), as: UTF8.self).unicodeScalars.map {
                $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0)
            })
    }
}
