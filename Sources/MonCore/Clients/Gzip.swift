import CZlib
import Foundation

/// The zlib wall: gzip (RFC 1952) compression for HTTP `Content-Encoding: gzip`, and CRC-32.
public enum Gzip {
    /// zlib's CRC-32 of `bytes` (the spool's record checksum).
    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(CZlib.crc32(0, $0.baseAddress, UInt32($0.count))) }
    }

    /// `bytes` gzip-compressed (level 6, zlib's default), or nil if zlib fails.
    public static func compress(_ bytes: [UInt8], level: Int32 = 6) -> [UInt8]? {
        var stream = z_stream()
        // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
        guard
            deflateInit2_(
                &stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { return nil }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 32)
        let status = bytes.withUnsafeBufferPointer { input -> Int32 in
            output.withUnsafeMutableBufferPointer { out -> Int32 in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = UInt32(input.count)
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        output.removeLast(output.count - Int(stream.total_out))
        return output
    }

    /// True when an `Accept-Encoding` header accepts gzip (`gzip`, `x-gzip` or `*`, q > 0).
    public static func isAccepted(_ acceptEncoding: String?) -> Bool {
        guard let acceptEncoding else { return false }
        for part in acceptEncoding.split(separator: ",") {
            let fields = part.split(separator: ";")
            let coding = fields.first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            guard ["gzip", "x-gzip", "*"].contains(coding) else { continue }
            let quality = fields.dropFirst().compactMap { field -> Double? in
                let pair = field.split(separator: "=", maxSplits: 1)
                guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "q" else {
                    return nil
                }
                return Double(pair[1].trimmingCharacters(in: .whitespaces))
            }.first
            if (quality ?? 1) > 0 { return true }
        }
        return false
    }
}
