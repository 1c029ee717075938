import Foundation
import Synchronization

/// A minimal Server-Sent Events client over a plain socket (URLSession on Linux does not
/// stream): sends one GET, de-chunks the body, and collects events on a reader thread.
final class SSEClient: Sendable {
    struct Event: Sendable, Equatable {
        var id: String?
        var event: String
        var data: String
        /// When the event's last line arrived.
        var receivedAt: ContinuousClock.Instant

        static func == (lhs: Event, rhs: Event) -> Bool {
            lhs.id == rhs.id && lhs.event == rhs.event && lhs.data == rhs.data
        }
    }

    struct State {
        var events: [Event] = []
        var comments = 0
        var status: Int?
        var closed = false
    }

    private let descriptor: Int32
    private let state = Mutex(State())

    init(port: Int, path: String, lastEventID: String? = nil) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            Glibc.close(descriptor)
            throw TestFailure("cannot connect to 127.0.0.1:\(port)")
        }
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        if let lastEventID { request += "Last-Event-ID: \(lastEventID)\r\n" }
        request += "\r\n"
        _ = request.withCString { send(descriptor, $0, strlen($0), 0) }
        let fd = descriptor
        let thread = Thread { [self] in self.readLoop(fd) }
        thread.start()
    }

    /// Closes the connection (the reader thread ends on its own).
    func close() {
        shutdown(descriptor, Int32(SHUT_RDWR))
    }

    var events: [Event] { state.withLock { $0.events } }
    var status: Int? { state.withLock { $0.status } }
    var comments: Int { state.withLock { $0.comments } }

    /// Waits until `count` events named `name` arrived; returns them.
    func waitFor(_ count: Int, named name: String = "log", seconds: Double = 60) async throws -> [Event] {
        try await eventually("\(count) SSE '\(name)' events", seconds: seconds) { () -> [Event]? in
            let matching = events.filter { $0.event == name }
            return matching.count >= count ? matching : nil
        }
    }

    private func readLoop(_ fd: Int32) {
        var raw: [UInt8] = []
        var headerDone = false
        var body: [UInt8] = []
        var chunkRemaining = 0
        var lineBuffer: [UInt8] = []
        var pending = Event(id: nil, event: "message", data: "", receivedAt: .now)
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            raw.append(contentsOf: buffer[0..<count])
            if !headerDone {
                guard let end = raw.firstRange(of: Array("\r\n\r\n".utf8)) else { continue }
                let header = String(decoding: raw[..<end.lowerBound], as: UTF8.self)
                let status = Int(header.split(separator: " ").dropFirst().first ?? "")
                state.withLock { $0.status = status }
                raw.removeSubrange(..<end.upperBound)
                headerDone = true
            }
            // De-chunk whatever is complete.
            while !raw.isEmpty {
                if chunkRemaining > 0 {
                    let take = min(chunkRemaining, raw.count)
                    body.append(contentsOf: raw[..<take])
                    raw.removeSubrange(..<take)
                    chunkRemaining -= take
                    if chunkRemaining == 0 { chunkRemaining = -2 }  // then CRLF
                    continue
                }
                if chunkRemaining < 0 {
                    guard raw.count >= 2 else { break }
                    raw.removeSubrange(..<2)
                    chunkRemaining = 0
                    continue
                }
                guard let crlf = raw.firstRange(of: Array("\r\n".utf8)) else { break }
                let sizeText = String(decoding: raw[..<crlf.lowerBound], as: UTF8.self)
                raw.removeSubrange(..<crlf.upperBound)
                guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16) else { continue }
                if size == 0 {
                    state.withLock { $0.closed = true }
                    return
                }
                chunkRemaining = size
            }
            // SSE lines.
            for byte in body {
                guard byte == 0x0A else {
                    lineBuffer.append(byte)
                    continue
                }
                let line = String(decoding: lineBuffer, as: UTF8.self)
                lineBuffer = []
                if line.isEmpty {
                    if !pending.data.isEmpty || pending.id != nil {
                        pending.receivedAt = .now
                        let event = pending
                        state.withLock { $0.events.append(event) }
                    }
                    pending = Event(id: nil, event: "message", data: "", receivedAt: .now)
                } else if line.hasPrefix(":") {
                    state.withLock { $0.comments += 1 }
                } else if line.hasPrefix("id: ") {
                    pending.id = String(line.dropFirst(4))
                } else if line.hasPrefix("event: ") {
                    pending.event = String(line.dropFirst(7))
                } else if line.hasPrefix("data: ") {
                    pending.data += (pending.data.isEmpty ? "" : "\n") + line.dropFirst(6)
                }
            }
            body = []
        }
        state.withLock { $0.closed = true }
        Glibc.close(fd)
    }
}

/// Sends UDP datagrams to 127.0.0.1:`port`.
struct UDPSender {
    let descriptor: Int32
    var address = sockaddr_in()

    init(port: Int) {
        descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
    }

    func send(_ bytes: [UInt8]) {
        var target = address
        _ = withUnsafePointer(to: &target) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes {
                    sendto(
                        descriptor, $0.baseAddress, bytes.count, 0, socketAddress,
                        socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    func close() { Glibc.close(descriptor) }
}

/// Sends one datagram to a Unix datagram socket; true when the kernel took it.
func sendUnixDatagram(_ text: String, to path: String) -> Bool {
    let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    defer { Glibc.close(descriptor) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let capacity = MemoryLayout.size(ofValue: address.sun_path)
    _ = withUnsafeMutableBytes(of: &address.sun_path) { buffer in
        path.utf8.prefix(capacity - 1).enumerated().map { buffer[$0.offset] = $0.element }
    }
    let bytes = Array(text.utf8)
    let sent = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
            bytes.withUnsafeBytes {
                sendto(
                    descriptor, $0.baseAddress, bytes.count, 0, socketAddress, socklen_t(MemoryLayout<sockaddr_un>.size)
                )
            }
        }
    }
    return sent == bytes.count
}
