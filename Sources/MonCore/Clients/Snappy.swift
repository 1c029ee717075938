import CSnappy

/// The snappy wall (libsnappy, Debian's `libsnappy-dev`): block compression for Prometheus
/// remote-write bodies (`Content-Encoding: snappy` is the block format, not the framed one).
public enum Snappy {
    /// `bytes` compressed as one snappy block; nil if libsnappy fails (it never does for a
    /// buffer of the size it asked for).
    public static func compress(_ bytes: [UInt8]) -> [UInt8]? {
        var length = snappy_max_compressed_length(bytes.count)
        var output = [UInt8](repeating: 0, count: length)
        let status = bytes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                input.withMemoryRebound(to: CChar.self) { chars in
                    out.withMemoryRebound(to: CChar.self) { outChars in
                        snappy_compress(chars.baseAddress, chars.count, outChars.baseAddress, &length)
                    }
                }
            }
        }
        guard status == SNAPPY_OK else { return nil }
        output.removeSubrange(length...)
        return output
    }

    /// The bytes of one snappy block; nil when `bytes` is not one or would expand past
    /// `maxLength` (a hostile length prefix must not allocate gigabytes).
    public static func uncompress(_ bytes: [UInt8], maxLength: Int = 64 << 20) -> [UInt8]? {
        var length = 0
        let sized = bytes.withUnsafeBufferPointer { input in
            input.withMemoryRebound(to: CChar.self) { snappy_uncompressed_length($0.baseAddress, $0.count, &length) }
        }
        guard sized == SNAPPY_OK, length <= maxLength else { return nil }
        var output = [UInt8](repeating: 0, count: length)
        let status = bytes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                input.withMemoryRebound(to: CChar.self) { chars in
                    out.withMemoryRebound(to: CChar.self) { outChars in
                        snappy_uncompress(chars.baseAddress, chars.count, outChars.baseAddress, &length)
                    }
                }
            }
        }
        guard status == SNAPPY_OK else { return nil }
        output.removeSubrange(length...)
        return output
    }
}
