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
