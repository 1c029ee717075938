import Foundation
import MonAgentKit
import MonCore
import MonQueryKit
import NIOCore

/// A hand-driven ingest client on the Unix socket: it writes whatever frames a test builds
/// (with MonCore's wire encoding, or raw bytes) and reads the daemon's answers. Blocking:
/// use it inside `offPool`.
final class IngestRawClient: @unchecked Sendable {
    let descriptor: Int32

    init(path: String, timeoutSeconds: Int = 20) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket() failed") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw TestFailure("connect(\(path)) failed: errno \(errno)")
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    /// Writes all of `bytes`; false when the daemon closed the connection meanwhile.
    @discardableResult
    func send(bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    /// A frame exactly as the agent would write it.
    @discardableResult
    func send(_ message: WireMessage) -> Bool { send(frame: message.frame()) }

    @discardableResult
    func send(frame: Frame) -> Bool {
        var out = ByteBuffer()
        FrameEncoder.write(frame, to: &out)
        return send(bytes: Array(out.readableBytesView))
    }

    /// The next message from the daemon; nil when it closed the connection (or timed out).
    func receive() throws -> WireMessage? {
        guard let header = read(4) else { return nil }
        let length = header.reduce(0) { $0 << 8 | Int($1) }
        guard length > 0, let body = read(length) else { return nil }
        return try WireMessage(frame: Frame(type: body[0], payload: ByteBuffer(bytes: body.dropFirst())))
    }

    /// HELLO, and the WELCOME's last acked seq.
    func hello(agentID: String, host: String, bootID: String) throws -> UInt64 {
        send(.hello(.init(agentID: agentID, host: host, bootID: bootID)))
        guard case .welcome(let welcome) = try receive() else { throw TestFailure("no WELCOME for \(agentID)") }
        return welcome.lastAckedSeq
    }

    /// True when the daemon closed the connection (or reset it) within the receive timeout.
    func awaitClose() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(descriptor, &buffer, buffer.count, 0)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    private func read(_ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let n = bytes[offset...].withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return nil }
            offset += n
        }
        return bytes
    }
}

extension Daemon {
    /// The value of an unlabelled sample or of the sample with `labels` on `/metrics`.
    func metric(_ name: String, labels: String = "") async throws -> Double? {
        let body = try await getText("/metrics").body
        let prefix = labels.isEmpty ? name + " " : "\(name){\(labels)} "
        return body.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap {
            Double($0.split(separator: " ").last ?? "")
        }
    }

    /// VmRSS of a running process, in bytes.
    static func residentBytes(pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return nil }
        return kilobytes * 1024
    }
}
