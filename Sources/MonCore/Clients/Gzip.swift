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

    /// Why `decompress` gave nothing.
    public enum InflateError: Error, Equatable, CustomStringConvertible {
        /// The output would pass the bound (a gzip bomb, or simply too large).
        case tooLarge(limit: Int)
        /// Not gzip, corrupt, or cut short.
        case malformed(String)

        public var description: String {
            switch self {
            case .tooLarge(let limit): return "decompressed body larger than \(limit) bytes"
            case .malformed(let reason): return "invalid gzip data: \(reason)"
            }
        }
    }

    /// `bytes` (one or more gzip members, RFC 1952) decompressed, refused as soon as the output
    /// would pass `maxBytes`: the work and memory are bounded by the bound, not by what the
    /// compressed data declares.
    public static func decompress(_ bytes: [UInt8], maxBytes: Int) throws(InflateError) -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16: a gzip header and trailer only.
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .malformed("zlib cannot start")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        let chunk = 64 << 10
        var buffer = [UInt8](repeating: 0, count: chunk)
        var failure: InflateError? = nil
        bytes.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = UInt32(input.count)
            while true {
                let (status, produced) = buffer.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    return (status, out.count - Int(stream.avail_out))
                }
                guard output.count + produced <= maxBytes else {
                    failure = .tooLarge(limit: maxBytes)
                    return
                }
                output.append(contentsOf: buffer[0..<produced])
                switch status {
                case Z_STREAM_END:
                    // Concatenated members (gzip allows several): start the next one.
                    guard stream.avail_in > 0 else { return }
                    guard inflateReset(&stream) == Z_OK else {
                        failure = .malformed("cannot read the next member")
                        return
                    }
                case Z_OK:
                    if stream.avail_in == 0, produced < chunk {
                        failure = .malformed("truncated")
                        return
                    }
                case Z_BUF_ERROR:
                    failure = .malformed("truncated")
                    return
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    failure = .malformed(message)
                    return
                }
            }
        }
        if let failure { throw failure }
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
