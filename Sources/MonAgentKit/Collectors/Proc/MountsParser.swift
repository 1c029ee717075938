import MonCore

/// Parses `/proc/self/mounts` (fstab(5) format):
///
/// ```
/// /dev/vda / ext4 rw,relatime,discard 0 0
/// ```
/// Space, tab, newline and backslash in names appear as `\040`, `\011`, `\012`, `\134`
/// and are decoded. Returns every mount in file order; choosing which to report is
/// the collector's job. An empty file is legal.
public enum MountsParser {
    public static let file = "/proc/self/mounts"

    public static func parse(_ bytes: [UInt8]) throws -> [Mount] {
        let text = ProcText(bytes, file: file)
        var mounts: [Mount] = []
        for (number, line) in text.numberedLines {
            let fields = ProcText.fields(line)
            guard fields.count >= 3 else {
                throw text.error(
                    .truncated, line: number, "expected device, mountpoint and type, got \(fields.count) fields")
            }
            guard fields[1].hasPrefix("/") else {
                throw text.error(.malformed, line: number, "mountpoint is not absolute: '\(fields[1].prefix(40))'")
            }
            mounts.append(
                Mount(
                    device: unescape(fields[0]),
                    mountpoint: unescape(fields[1]),
                    fstype: unescape(fields[2]),
                    options: fields.count >= 4 ? fields[3].split(separator: ",").map(String.init) : []
                )
            )
        }
        return mounts
    }

    /// Decodes `\NNN` octal escapes; a backslash not followed by three octal digits stays as is.
    public static func unescape(_ field: Substring) -> String {
        guard field.utf8.contains(UInt8(ascii: "\\")) else { return String(field) }
        let input = Array(field.utf8)
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

    private static func octal(_ digits: ArraySlice<UInt8>) -> UInt8? {
        var value: UInt32 = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "7") else { return nil }
            value = value * 8 + UInt32(digit - UInt8(ascii: "0"))
        }
        return value <= 255 ? UInt8(value) : nil
    }
}
