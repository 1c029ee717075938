import Foundation
import Glibc
import Logging
import MonCore

extension SpoolBatchQueue {
    struct Recovered {
        var bootID: String?
        var segments: [Segment] = []
        var records = 0
        var torn = 0
    }

    /// Checks every segment in sequence order, one record at a time (memory stays at one
    /// record whatever the spool's size); a record that is short or fails its checksum ends
    /// its segment (the file is cut there), the rest is kept.
    static func recover(_ directory: String, logger: Logger) throws -> Recovered {
        var result = Recovered()
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".seg") }
        var parsed: [(boot: String, first: UInt64, name: String)] = []
        for name in names {
            let stem = name.dropLast(4)
            guard let dash = stem.lastIndex(of: "-"), let first = UInt64(stem[stem.index(after: dash)...]) else {
                logger.warning("ignoring an unknown file in the spool", metadata: ["file": "\(name)"])
                continue
            }
            parsed.append((String(stem[..<dash]), first, name))
        }
        // One boot id is live; segments of another (left by hand) would replay under the wrong identity.
        let live = parsed.max { $0.first < $1.first }?.boot
        for segment in parsed.sorted(by: { $0.first < $1.first }) {
            let path = "\(directory)/\(segment.name)"
            guard segment.boot == live else {
                logger.warning("dropping a spool segment of another agent boot", metadata: ["file": "\(segment.name)"])
                unlink(path)
                continue
            }
            guard let kept = scan(path, name: segment.name, firstSeq: segment.first, &result.torn, logger: logger)
            else {
                unlink(path)
                continue
            }
            result.records += kept.records
            result.segments.append(kept)
        }
        result.bootID = result.records == 0 ? nil : live
        return result
    }

    /// The segment's records checked and counted; the file is cut at the first bad one. nil
    /// when it holds no good record (or cannot be read).
    static func scan(
        _ path: String, name: String, firstSeq: UInt64, _ torn: inout Int, logger: Logger
    ) -> Segment? {
        // Never blocks on a FIFO, never follows a link: only a regular file is a segment.
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else {
            logger.warning("spool segment unreadable, dropped", metadata: ["file": "\(name)"])
            return nil
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            logger.warning("spool segment is not a regular file, dropped", metadata: ["file": "\(name)"])
            return nil
        }
        let size = Int(info.st_size)
        var segment = Segment(
            firstSeq: firstSeq, lastSeq: firstSeq, firstCreatedMs: 0, lastCreatedMs: 0, bytes: 0, records: 0,
            path: path)
        var offset = 0
        while offset < size {
            guard let header = SpoolRecord.header(descriptor, at: offset, fileBytes: size),
                let payload = SpoolRecord.payload(descriptor, header, at: offset)
            else {
                torn += 1
                logger.warning(
                    "torn or corrupt spool record skipped; the segment is cut there",
                    metadata: ["file": "\(name)", "offset": "\(offset)", "bytes_lost": "\(size - offset)"])
                truncate(path, off_t(offset))
                break
            }
            let created = SpoolRecord.createdMs(payload)
            if segment.records == 0 { segment.firstCreatedMs = created }
            segment.lastSeq = header.seq
            segment.lastCreatedMs = created
            segment.records += 1
            offset += header.recordBytes
        }
        segment.bytes = offset
        return segment.records > 0 ? segment : nil
    }
}
