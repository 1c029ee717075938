import Glibc
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

/// One StatsD line checked byte by byte, as ranges of the datagram: what `StatsDParser.parse`
/// reads, without a String or an array. Valid only while the datagram's bytes are.
public struct StatsDRawLine {
    public var kind: StatsDLine.Kind
    /// The metric name as sent (checked: printable ASCII, at most `maxNameBytes`).
    public var name: UnsafeRawBufferPointer
    /// Everything between the name's `:` and the first `|`: the values (`1`, `1:2:3`) or a set's member.
    public var value: UnsafeRawBufferPointer
    /// How many values (`:`-separated numbers); 0 for a set.
    public var valueCount: Int
    /// The first value (0 for a set).
    public var firstValue: Double
    public var gaugeDelta: Bool
    public var sampleRate: Double
    /// The last `#` section without its `#` (the one whose tags count; checked), empty when none.
    public var tags: UnsafeRawBufferPointer

    /// Calls `body` with each value in order (the line is checked: every one is a number).
    public func forEachValue(_ body: (Double) -> Void) {
        guard valueCount > 1 else {
            if valueCount == 1 { body(firstValue) }
            return
        }
        StatsDParser.forEachField(value, on: UInt8(ascii: ":")) { body(StatsDParser.number($0) ?? 0) }
    }

    /// The line with Strings and arrays, as `StatsDParser.parse` returns it.
    public var line: StatsDLine {
        var out = StatsDLine(
            name: StatsDParser.text(name), kind: kind, values: [], setMember: nil, gaugeDelta: gaugeDelta,
            sampleRate: sampleRate, tags: [])
        if kind == .set {
            out.setMember = StatsDParser.text(value)
        } else {
            out.values.reserveCapacity(valueCount)
            forEachValue { out.values.append($0) }
        }
        out.tags = StatsDParser.tagList(tags)
        return out
    }
}

/// Why a StatsD line was refused (counted as malformed, never fatal).
public struct StatsDParseError: Error, Equatable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
    init(_ reason: String) { self.reason = reason }
}

/// Parses StatsD lines from raw datagram bytes (no Foundation, no regex). `scan` checks a line
/// in place and allocates nothing; `parse` is `scan` plus the Strings.
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
        forEachLine(datagram) { out.append($0) }
        return out
    }

    /// Calls `body` with each line of a datagram, as `lines` splits them, without an array.
    @inline(__always)
    public static func forEachLine(_ datagram: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        guard let base = datagram.baseAddress else { return }
        var start = 0
        let count = datagram.count
        while start < count {
            let rest = count - start
            let end: Int
            if let found = memchr(base + start, 0x0A, rest) {
                end = base.distance(to: UnsafeRawPointer(found))
            } else {
                end = count
            }
            var stop = end
            if stop > start, datagram[stop - 1] == 0x0D { stop -= 1 }
            if stop > start { body(UnsafeRawBufferPointer(start: base + start, count: stop - start)) }
            start = end + 1
        }
    }

    /// `nil` for the DogStatsD event (`_e{`) and service-check (`_sc|`) lines we do not store.
    public static func parse(_ line: UnsafeRawBufferPointer) throws(StatsDParseError) -> StatsDLine? {
        try scan(line)?.line
    }

    /// Checks one line as `parse` does (the same lines refused, for the same reasons) and
    /// returns where its parts are; `nil` for events and service checks.
    public static func scan(_ line: UnsafeRawBufferPointer) throws(StatsDParseError) -> StatsDRawLine? {
        let count = line.count
        if count >= 3, line[0] == UInt8(ascii: "_") {
            if count >= 3, line[1] == UInt8(ascii: "e"), line[2] == UInt8(ascii: "{") { return nil }
            if count >= 4, line[1] == UInt8(ascii: "s"), line[2] == UInt8(ascii: "c"), line[3] == UInt8(ascii: "|") {
                return nil
            }
        }
        guard let headEnd = index(of: UInt8(ascii: "|"), in: line, from: 0) else {
            throw StatsDParseError("no '|type' section")
        }
        // name:value[:value...]
        guard let colon = index(of: UInt8(ascii: ":"), in: line, from: 0, to: headEnd) else {
            throw StatsDParseError("no ':' between name and value")
        }
        let name = slice(line, 0, colon)
        try checkName(name)
        let value = slice(line, colon + 1, headEnd)
        let typeEnd = index(of: UInt8(ascii: "|"), in: line, from: headEnd + 1) ?? count
        let typeBytes = slice(line, headEnd + 1, typeEnd)
        guard let kind = kind(typeBytes) else {
            throw StatsDParseError("unknown type '\(printable(typeBytes))'")
        }
        var raw = StatsDRawLine(
            kind: kind, name: name, value: value, valueCount: 0, firstValue: 0, gaugeDelta: false, sampleRate: 1,
            tags: UnsafeRawBufferPointer(start: nil, count: 0))
        if kind == .set {
            guard !value.isEmpty else { throw StatsDParseError("empty set member") }
        } else {
            var parts = 1
            for byte in value where byte == UInt8(ascii: ":") { parts += 1 }
            guard parts <= maxValues else { throw StatsDParseError("more than \(maxValues) values") }
            var first = true
            var failed: UnsafeRawBufferPointer? = nil
            forEachField(value, on: UInt8(ascii: ":")) { part in
                guard failed == nil else { return }
                guard let number = number(part) else {
                    failed = part
                    return
                }
                if first {
                    raw.firstValue = number
                    first = false
                }
            }
            if let failed { throw StatsDParseError("value '\(printable(failed))' is not a number") }
            raw.valueCount = parts
            if kind == .gauge, let first = value.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
                raw.gaugeDelta = true
            }
        }
        var start = typeEnd + 1
        while start <= count, typeEnd < count {
            let end = index(of: UInt8(ascii: "|"), in: line, from: start) ?? count
            let field = slice(line, start, end)
            guard let marker = field.first else { throw StatsDParseError("empty section") }
            let rest = slice(field, 1, field.count)
            switch marker {
            case UInt8(ascii: "@"):
                guard let rate = number(rest), rate >= minSampleRate else {
                    throw StatsDParseError("sample rate '\(printable(rest))' is not a number >= \(minSampleRate)")
                }
                raw.sampleRate = min(rate, 1)
            case UInt8(ascii: "#"):
                try checkTags(rest)
                raw.tags = rest
            case UInt8(ascii: "T"), UInt8(ascii: "c"), UInt8(ascii: "e"):
                break  // timestamp, container id, external data: accepted, not used
            default:
                throw StatsDParseError("unknown section '\(printable(field))'")
            }
            start = end + 1
        }
        return raw
    }

    static func kind(_ bytes: UnsafeRawBufferPointer) -> StatsDLine.Kind? {
        switch bytes.count {
        case 1:
            switch bytes[0] {
            case UInt8(ascii: "c"): return .counter
            case UInt8(ascii: "g"): return .gauge
            case UInt8(ascii: "h"): return .histogram
            case UInt8(ascii: "d"): return .distribution
            case UInt8(ascii: "s"): return .set
            default: return nil
            }
        case 2:
            return bytes[0] == UInt8(ascii: "m") && bytes[1] == UInt8(ascii: "s") ? .timer : nil
        default:
            return nil
        }
    }

    /// Checks a `#` section as `tagList` reads it: at most `maxTags` non-empty tags of at most
    /// `maxTagBytes`, no control character, no empty tag name.
    static func checkTags(_ bytes: UnsafeRawBufferPointer) throws(StatsDParseError) {
        var seen = 0
        var failure: StatsDParseError? = nil
        forEachField(bytes, on: UInt8(ascii: ",")) { tag in
            guard failure == nil, !tag.isEmpty else { return }
            guard seen < maxTags else {
                failure = StatsDParseError("more than \(maxTags) tags")
                return
            }
            guard tag.count <= maxTagBytes else {
                failure = StatsDParseError("tag longer than \(maxTagBytes) bytes")
                return
            }
            guard tag.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) else {
                failure = StatsDParseError("control character in tag")
                return
            }
            if tag[0] == UInt8(ascii: ":") {
                failure = StatsDParseError("tag with an empty name")
                return
            }
            seen += 1
        }
        if let failure { throw failure }
    }

    /// The tags of a checked `#` section, in order; a tag without `:` has an empty value.
    static func tagList(_ bytes: UnsafeRawBufferPointer) -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        forEachField(bytes, on: UInt8(ascii: ",")) { tag in
            guard !tag.isEmpty else { return }
            if let colon = index(of: UInt8(ascii: ":"), in: tag, from: 0) {
                out.append((text(slice(tag, 0, colon)), text(slice(tag, colon + 1, tag.count))))
            } else {
                out.append((text(tag), ""))
            }
        }
        return out
    }

    /// Checks the tags and returns them (what a `#` section gives `parse`).
    static func tags(_ bytes: UnsafeRawBufferPointer) throws(StatsDParseError) -> [(name: String, value: String)] {
        try checkTags(bytes)
        return tagList(bytes)
    }

    static func checkName(_ bytes: UnsafeRawBufferPointer) throws(StatsDParseError) {
        guard !bytes.isEmpty else { throw StatsDParseError("empty metric name") }
        guard bytes.count <= maxNameBytes else { throw StatsDParseError("metric name longer than \(maxNameBytes)") }
        guard bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "#") && $0 != UInt8(ascii: "@") })
        else {
            throw StatsDParseError("metric name '\(printable(bytes))' has characters outside printable ASCII")
        }
    }

    static func metricName(_ bytes: UnsafeRawBufferPointer) throws(StatsDParseError) -> String {
        try checkName(bytes)
        return text(bytes)
    }

    /// Calls `body` with each field of `bytes` between `separator`s (empty ones too; one empty
    /// field for empty input), as `split` returns them.
    @inline(__always)
    static func forEachField(
        _ bytes: UnsafeRawBufferPointer, on separator: UInt8, _ body: (UnsafeRawBufferPointer) -> Void
    ) {
        var start = 0
        let count = bytes.count
        while true {
            let end = index(of: separator, in: bytes, from: start) ?? count
            body(slice(bytes, start, end))
            if end == count { return }
            start = end + 1
        }
    }

    static func split(_ bytes: UnsafeRawBufferPointer, on separator: UInt8) -> [UnsafeRawBufferPointer] {
        var out: [UnsafeRawBufferPointer] = []
        forEachField(bytes, on: separator) { out.append($0) }
        return out
    }

    static func split(_ bytes: Slice<UnsafeRawBufferPointer>, on separator: UInt8) -> [UnsafeRawBufferPointer] {
        split(UnsafeRawBufferPointer(rebasing: bytes), on: separator)
    }

    /// The first `byte` in `bytes[from..<to]` (to: the end by default).
    @inline(__always)
    static func index(of byte: UInt8, in bytes: UnsafeRawBufferPointer, from: Int, to: Int? = nil) -> Int? {
        let end = to ?? bytes.count
        var index = from
        while index < end {
            if bytes[index] == byte { return index }
            index += 1
        }
        return nil
    }

    @inline(__always)
    static func slice(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: bytes.baseAddress.map { $0 + start }, count: end - start)
    }

    /// A finite decimal number (`1`, `-2.5`, `+3`, `1e3`); nil otherwise. The same as
    /// `Double(String)` on the same bytes (which `numberFromText` still calls for what the
    /// exact path below does not cover): `[+-]digits[.digits][e[+-]digits]` with at least one
    /// digit before the exponent, whole input.
    static func number(_ bytes: UnsafeRawBufferPointer) -> Double? {
        let count = bytes.count
        guard count > 0, count <= 64 else { return nil }
        var index = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") {
            negative = bytes[0] == UInt8(ascii: "-")
            index = 1
        }
        var digits = Digits()
        digits.read(bytes, &index, fraction: false)
        if index < count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            digits.read(bytes, &index, fraction: true)
        }
        guard digits.any else { return nil }
        var scale = digits.scale
        if index < count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            var exponentNegative = false
            if index < count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            var exponent = 0
            var exponentDigits = 0
            while index < count, bytes[index] &- UInt8(ascii: "0") < 10 {
                if exponent < 100_000 { exponent = exponent * 10 + Int(bytes[index] &- UInt8(ascii: "0")) }
                exponentDigits += 1
                index += 1
            }
            guard exponentDigits > 0 else { return nil }
            scale += exponentNegative ? -exponent : exponent
        }
        guard index == count else { return nil }
        // Exact: the mantissa is an integer a Double holds exactly, and so is 10^|scale| (≤ 10^22),
        // so one multiplication or division rounds once, correctly (as strtod does).
        if digits.exact, digits.mantissa <= 1 << 53, scale >= -22, scale <= 22 {
            var value = Double(digits.mantissa)
            if scale < 0 { value /= powersOfTen[-scale] } else if scale > 0 { value *= powersOfTen[scale] }
            return negative ? -value : value
        }
        if digits.mantissa == 0, digits.exact { return negative ? -0.0 : 0 }
        return numberFromText(bytes)
    }

    /// Decimal digits read into an integer of at most 19 significant digits (leading zeros
    /// skipped), and the power of ten the fraction's digits stand for.
    struct Digits {
        var mantissa: UInt64 = 0
        var kept = 0
        var any = false
        /// False once a significant digit did not fit: `number` then asks the standard library.
        var exact = true
        var scale = 0

        mutating func read(_ bytes: UnsafeRawBufferPointer, _ index: inout Int, fraction: Bool) {
            while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 {
                let digit = UInt64(bytes[index] &- UInt8(ascii: "0"))
                any = true
                if mantissa != 0 || digit != 0 {
                    if kept < 19 {
                        mantissa = mantissa &* 10 &+ digit
                        kept += 1
                        if fraction { scale -= 1 }
                    } else {
                        exact = false
                    }
                } else if fraction {
                    scale -= 1
                }
                index += 1
            }
        }
    }

    static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// The slow path of `number`: the standard library's parser on the text.
    static func numberFromText(_ bytes: UnsafeRawBufferPointer) -> Double? {
        guard let value = Double(text(bytes)), value.isFinite else { return nil }
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
