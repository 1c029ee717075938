import Glibc
import MonCore

/// One record of a spool segment file, and reading records back with `pread`.
///
/// Record: magic `MSP1`, payload length (u32, big-endian), CRC-32 of the payload (u32), then
/// the payload: the batch in the wire encoding, which starts with its seq (u64) and its
/// creation time (i64, ms).
enum SpoolRecord {
    static let magic: [UInt8] = Array("MSP1".utf8)
    static let headerBytes = 12
    /// The smallest payload: seq and creation time.
    static let minimumPayload = 16

    /// What the first bytes of a record say (read without its payload).
    struct Header: Equatable {
        var length: Int
        var checksum: UInt32
        var seq: UInt64
        /// Header and payload.
        var recordBytes: Int { SpoolRecord.headerBytes + length }
    }

    static func crc(_ bytes: [UInt8]) -> UInt32 {
        Gzip.crc32(bytes)
    }

    static func encode(_ payload: [UInt8]) -> [UInt8] {
        var record = magic
        record.reserveCapacity(headerBytes + payload.count)
        for value in [UInt32(payload.count), crc(payload)] {
            withUnsafeBytes(of: value.bigEndian) { record.append(contentsOf: $0) }
        }
        record.append(contentsOf: payload)
        return record
    }

    static func u32(_ bytes: ArraySlice<UInt8>) -> UInt32 { bytes.prefix(4).reduce(0) { $0 << 8 | UInt32($1) } }
    static func u64(_ bytes: ArraySlice<UInt8>) -> UInt64 { bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) } }

    /// The header and seq of the record at `offset` of a file of `fileBytes` bytes; nil when
    /// it is short, has no magic or claims more bytes than the file holds (torn).
    static func header(_ descriptor: Int32, at offset: Int, fileBytes: Int) -> Header? {
        guard fileBytes - offset >= headerBytes + minimumPayload,
            let bytes = read(descriptor, count: headerBytes + 8, at: offset), bytes[0..<4].elementsEqual(magic)
        else { return nil }
        let length = Int(u32(bytes[4..<8]))
        guard length >= minimumPayload, fileBytes - offset - headerBytes >= length else { return nil }
        return Header(length: length, checksum: u32(bytes[8..<12]), seq: u64(bytes[12..<20]))
    }

    /// The payload of a record whose header was read; nil when it fails its checksum.
    static func payload(_ descriptor: Int32, _ header: Header, at offset: Int) -> [UInt8]? {
        guard let payload = read(descriptor, count: header.length, at: offset + headerBytes),
            crc(payload) == header.checksum
        else { return nil }
        return payload
    }

    /// Creation time (ms) of a payload.
    static func createdMs(_ payload: [UInt8]) -> Int64 { Int64(bitPattern: u64(payload[8..<16])) }

    /// Exactly `count` bytes at `offset`, or nil.
    static func read(_ descriptor: Int32, count: Int, at offset: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = buffer.withUnsafeMutableBytes {
                pread(descriptor, $0.baseAddress! + done, count - done, off_t(offset + done))
            }
            if got < 0, errno == EINTR { continue }
            guard got > 0 else { return nil }
            done += got
        }
        return buffer
    }
}
