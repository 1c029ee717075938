import MonCore

/// Parses `/proc/self/mounts` (fstab(5) format):
///
/// ```
/// /dev/vda / ext4 rw,relatime,discard 0 0
/// ```
/// Space, tab, newline and backslash in names appear as `\040`, `\011`, `\012`, `\134`
/// and are decoded. Returns every mount in file order; choosing which to report is
/// the collector's job. An empty file is legal. Parsed on the bytes.
public enum MountsParser {
    public static let file = "/proc/self/mounts"

    public static func parse(_ bytes: [UInt8]) throws -> [Mount] {
        try bytes.withUnsafeBufferPointer { try parse($0) }
    }

    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> [Mount] {
        var mounts: [Mount] = []
        try ProcBytes.forEachLine(bytes) { number, line in
            var fields = ProcBytes.Fields(line)
            guard let device = fields.next(), let mountpoint = fields.next(), let fstype = fields.next() else {
                let count = ProcBytes.fieldCount(line)
                throw error(.truncated, line: number, "expected device, mountpoint and type, got \(count) fields")
            }
            guard mountpoint.first == UInt8(ascii: "/") else {
                throw error(.malformed, line: number, "mountpoint is not absolute: '\(ProcBytes.text(mountpoint))'")
            }
            var options: [String] = []
            if let field = fields.next() {
                options = field.split(separator: UInt8(ascii: ",")).map { String(decoding: $0, as: UTF8.self) }
            }
            mounts.append(
                Mount(
                    device: unescape(device), mountpoint: unescape(mountpoint), fstype: unescape(fstype),
                    options: options))
        }
        return mounts
    }

    /// Decodes `\NNN` octal escapes; a backslash not followed by three octal digits stays as is.
    public static func unescape(_ field: Substring) -> String {
        Array(field.utf8).withUnsafeBufferPointer { unescape($0) }
    }

    static func unescape(_ input: UnsafeBufferPointer<UInt8>) -> String {
        guard input.contains(UInt8(ascii: "\\")) else { return String(decoding: input, as: UTF8.self) }
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var index = 0
        while index < input.count {
            if input[index] == UInt8(ascii: "\\"), index + 3 < input.count,
                let byte = octal(input[(index + 1)...(index + 3)])
            {
                output.append(byte)
                index += 4
            } else {
                output.append(input[index])
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func error(_ code: ProcParseError.Code, line: Int, _ reason: String) -> ProcParseError {
        ProcParseError(code, file: file, line: line, reason: reason)
    }

    private static func octal(_ digits: Slice<UnsafeBufferPointer<UInt8>>) -> UInt8? {
        var value: UInt32 = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "7") else { return nil }
            value = value * 8 + UInt32(digit - UInt8(ascii: "0"))
        }
        return value <= 255 ? UInt8(value) : nil
    }
}
