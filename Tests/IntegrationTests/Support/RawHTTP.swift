import Foundation

/// A blocking HTTP/1.1 client on a plain TCP socket that sends the request bytes exactly as
/// given (no path normalisation, NUL bytes, absolute-form targets, oversized headers), for
/// the hostile-input tests. Call it through `offPool`.
final class RawHTTP: @unchecked Sendable {
    struct Response {
        var status: Int
        /// Header names in lower case.
        var headers: [String: String]
        var body: String
    }

    let fd: Int32

    /// Connects to 127.0.0.1:`port`, from `source` (another loopback address, so that the
    /// daemon sees another client) when given; reads time out after `timeout` seconds.
    init(port: Int, source: String? = nil, timeout: Double = 20) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        var time = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else {
                close(fd)
                throw TestFailure("bind \(source): errno \(errno)")
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let error = errno
            close(fd)
            throw TestFailure("connect to port \(port): errno \(error)")
        }
    }

    deinit { close(fd) }

    /// Ends the connection from this side (the peer sees the end of the stream); the
    /// descriptor is closed with the object.
    func hangUp() { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { throw TestFailure("send: errno \(errno)") }
            offset += sent
        }
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Bytes until the peer closes, the timeout passes (nil: nothing at all came), or `until`
    /// is satisfied.
    func read(until done: ([UInt8]) -> Bool = { _ in false }) -> [UInt8]? {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !done(received) {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return received.isEmpty && count < 0 ? nil : received }
            received += buffer[..<count]
        }
        return received
    }

    /// True when the peer closed the connection (EOF or reset) before the read timeout.
    func waitForClose() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
        }
    }

    /// Reads one response: its head, then a `Content-Length` body, or everything up to the
    /// close (a chunked body stays encoded), or only the head of an event stream.
    func readResponse() throws -> Response {
        let bytes = read { received in
            guard let end = Self.headEnd(received) else { return false }
            let head = Self.parseHead(Array(received[..<end]))
            if head.headers["content-type"]?.hasPrefix("text/event-stream") == true { return true }
            guard let length = head.headers["content-length"].flatMap({ Int($0) }) else { return false }
            return received.count >= end + 4 + length
        }
        guard let bytes, let end = Self.headEnd(bytes) else {
            throw TestFailure("no HTTP response (got \(bytes?.count ?? -1) bytes)")
        }
        var response = Self.parseHead(Array(bytes[..<end]))
        response.body = String(decoding: bytes[(end + 4)...], as: UTF8.self)
        return response
    }

    /// Sends a request and reads its response. `target` is sent as is.
    func request(
        _ target: [UInt8], method: String = "GET", headers: [(String, String)] = [], body: String? = nil,
        close: Bool = false
    ) throws -> Response {
        var head = Array("\(method) ".utf8) + target + Array(" HTTP/1.1\r\nHost: 127.0.0.1\r\n".utf8)
        for (name, value) in headers { head += Array("\(name): \(value)\r\n".utf8) }
        if let body { head += Array("Content-Length: \(body.utf8.count)\r\n".utf8) }
        if close { head += Array("Connection: close\r\n".utf8) }
        try send(head + Array("\r\n".utf8) + Array((body ?? "").utf8))
        return try readResponse()
    }

    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }

    static func parseHead(_ bytes: [UInt8]) -> Response {
        let lines = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
        let status = lines.first.flatMap { $0.split(separator: " ").dropFirst().first.flatMap { Int($0) } } ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        return Response(status: status, headers: headers, body: "")
    }

    /// One request on a fresh connection (`Connection: close`).
    static func fetch(
        port: Int, _ target: [UInt8], method: String = "GET", headers: [(String, String)] = [], body: String? = nil,
        source: String? = nil
    ) throws -> Response {
        let connection = try RawHTTP(port: port, source: source)
        return try connection.request(target, method: method, headers: headers, body: body, close: true)
    }

    static func fetch(
        port: Int, _ target: String, method: String = "GET", headers: [(String, String)] = [], body: String? = nil,
        source: String? = nil
    ) throws -> Response {
        try fetch(port: port, Array(target.utf8), method: method, headers: headers, body: body, source: source)
    }
}
