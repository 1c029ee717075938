/// Number parsing on bytes in place, for the /proc parsers on hot paths.
///
/// Accepts what `UInt64(_: Substring)` / `Int64(_: Substring)` accept for decimal
/// input (an optional sign, then digits); anything else, and overflow, is nil.
package enum ProcBytes {
    package static func unsignedInteger(_ field: UnsafeBufferPointer<UInt8>) -> UInt64? {
        var digits = field[...]
        if digits.first == UInt8(ascii: "+") { digits = digits.dropFirst() }
        guard !digits.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }

    package static func signedInteger(_ field: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard let first = field.first else { return nil }
        let negative = first == UInt8(ascii: "-")
        let rest = UnsafeBufferPointer(rebasing: field[(negative || first == UInt8(ascii: "+") ? 1 : 0)...])
        guard rest.first != UInt8(ascii: "+"), let magnitude = unsignedInteger(rest) else { return nil }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }
}

extension ProcBytes {
    /// Space or tab: the field separators of every /proc text file parsed here.
    @inline(__always)
    package static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }

    /// Calls `body` with each line that is not blank (nothing but spaces and tabs) and its 1-based
    /// number, the newline excluded; lines are split on `\n` only.
    package static func forEachLine(
        _ bytes: UnsafeBufferPointer<UInt8>, _ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void
    ) rethrows {
        var number = 0
        var start = 0
        while start <= bytes.count {
            number += 1
            var end = start
            var blank = true
            while end < bytes.count, bytes[end] != UInt8(ascii: "\n") {
                if blank, !isBlank(bytes[end]) { blank = false }
                end += 1
            }
            if !blank { try body(number, UnsafeBufferPointer(rebasing: bytes[start..<end])) }
            start = end + 1
        }
    }

    /// True when `bytes` has nothing but spaces, tabs and newlines.
    package static func isBlankText(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.allSatisfy { isBlank($0) || $0 == UInt8(ascii: "\n") }
    }

    /// Number of space- or tab-separated fields of `line`.
    package static func fieldCount(_ line: UnsafeBufferPointer<UInt8>) -> Int {
        var fields = Fields(line)
        var count = 0
        while fields.next() != nil { count += 1 }
        return count
    }

    /// The space- or tab-separated fields of a line, one after the other, without an array.
    package struct Fields {
        private let line: UnsafeBufferPointer<UInt8>
        private var position = 0

        package init(_ line: UnsafeBufferPointer<UInt8>) { self.line = line }

        package mutating func next() -> UnsafeBufferPointer<UInt8>? {
            while position < line.count, ProcBytes.isBlank(line[position]) { position += 1 }
            guard position < line.count else { return nil }
            let start = position
            while position < line.count, !ProcBytes.isBlank(line[position]) { position += 1 }
            return UnsafeBufferPointer(rebasing: line[start..<position])
        }

        /// Skips `count` fields; false when the line ends first.
        package mutating func skip(_ count: Int) -> Bool {
            for _ in 0..<count where next() == nil { return false }
            return true
        }

        /// The rest of the line after the fields read so far (leading blanks included).
        package var rest: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: line[position...]) }
    }

    /// Whether `field` is exactly the ASCII text `literal`.
    package static func equals(_ field: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        guard field.count == literal.utf8CodeUnitCount else { return false }
        let other = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        for index in 0..<field.count where field[index] != other[index] { return false }
        return true
    }

    /// `field` as text for an error message, at most `limit` bytes, invalid UTF-8 replaced.
    package static func text(_ field: UnsafeBufferPointer<UInt8>, limit: Int = 40) -> String {
        String(decoding: field.prefix(limit), as: UTF8.self)
    }

    /// A decimal number such as `2.04`, `0.00`, `11.24` as `Double(_: Substring)` reads it, finite
    /// only. Plain decimals of up to 15 significant digits and 22 fraction digits are computed on
    /// the bytes (digits ÷ power of ten is correctly rounded then, so the value is the same);
    /// anything else (exponents, `inf`, longer numbers) goes through `Double(_:)`.
    package static func finiteDouble(_ field: UnsafeBufferPointer<UInt8>) -> Double? {
        let signed = field.first == UInt8(ascii: "-") || field.first == UInt8(ascii: "+")
        let start = signed ? 1 : 0
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var fractionDigits = 0
        var seenPoint = false
        // The fast path needs a digit first and last ("5." and ".5" go to Double(_:)).
        var simple = start < field.count && isDigit(field[start]) && isDigit(field[field.count - 1])
        var index = start
        while simple, index < field.count {
            let byte = field[index]
            if isDigit(byte) {
                if mantissa != 0 || byte != UInt8(ascii: "0") { significantDigits += 1 }
                if significantDigits > 15 { simple = false }
                mantissa = mantissa &* 10 &+ UInt64(byte &- UInt8(ascii: "0"))
                if seenPoint { fractionDigits += 1 }
            } else if byte == UInt8(ascii: "."), !seenPoint {
                seenPoint = true
            } else {
                simple = false
            }
            index += 1
        }
        if simple, fractionDigits < powersOfTen.count {
            let value = Double(mantissa) / powersOfTen[fractionDigits]
            return field.first == UInt8(ascii: "-") ? -value : value
        }
        guard let value = Double(String(decoding: field, as: UTF8.self)), value.isFinite else { return nil }
        return value
    }

    @inline(__always)
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }
}

/// Up to 16 unsigned numbers of one /proc line or file, kept inline (no array per line), with
/// which of them were set. An index outside 0..<16 is ignored (set) or nil (get).
package struct ProcNumbers {
    private var storage:
        (
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64
        ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    private var present: UInt16 = 0

    package init() {}

    package subscript(index: Int) -> UInt64? {
        get {
            guard (0..<16).contains(index), present & (1 << index) != 0 else { return nil }
            return withUnsafeBytes(of: storage) { $0.load(fromByteOffset: index * 8, as: UInt64.self) }
        }
        set {
            guard (0..<16).contains(index) else { return }
            guard let newValue else {
                present &= ~(1 << index)
                return
            }
            withUnsafeMutableBytes(of: &storage) {
                $0.storeBytes(of: newValue, toByteOffset: index * 8, as: UInt64.self)
            }
            present |= 1 << index
        }
    }

    /// The number at `index`, 0 when not set.
    package func value(_ index: Int) -> UInt64 { self[index] ?? 0 }
}
