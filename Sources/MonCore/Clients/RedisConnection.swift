import CHiredis

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One hiredis connection. The only file in MonCore that imports `CHiredis`.
///
/// Blocking, with `timeoutSeconds` bounding the connect and every command: use it only
/// from an actor running on a `ThreadExecutor`. Not `Sendable`: it is owned by exactly
/// one such actor. After an I/O error (`RedisError.Code.connection`) `isBroken` is true
/// and every further call throws: make a new connection.
public final class RedisConnection {
    private let context: UnsafeMutablePointer<redisContext>
    /// Where this connection goes; its `description` has the password redacted.
    public let url: RedisURL
    public let timeoutSeconds: Double
    /// True once an I/O or protocol error left the connection unusable.
    public private(set) var isBroken = false

    /// Connects, then sends `AUTH` when there is a password and `SELECT` when the database is not 0.
    ///
    /// `password` overrides the one in `url`; with a user name in `url` it sends `AUTH user password`.
    public init(url: RedisURL, password: String? = nil, timeoutSeconds: Double = 2) throws(RedisError) {
        guard timeoutSeconds.isFinite, timeoutSeconds > 0, timeoutSeconds <= 86_400 else {
            throw RedisError(
                code: .invalidArgument,
                message: "timeout \(timeoutSeconds)s for \(url.redacted) is not between 0 and 86400 seconds"
            )
        }
        let whole = timeoutSeconds.rounded(.down)
        let timeout = timeval(tv_sec: time_t(whole), tv_usec: suseconds_t((timeoutSeconds - whole) * 1_000_000))
        let connected: UnsafeMutablePointer<redisContext>?
        switch url.endpoint {
        case .tcp(let host, let port):
            connected = redisConnectWithTimeout(host, Int32(port), timeout)
        case .unix(let path):
            connected = redisConnectUnixWithTimeout(path, timeout)
        }
        guard let connected else {
            throw RedisError(code: .connection, message: "hiredis could not allocate a context for \(url.redacted)")
        }
        guard connected.pointee.err == 0 else {
            let reason = Self.errorString(connected)
            redisFree(connected)
            throw RedisError(code: .connection, message: "cannot connect to \(url.redacted): \(reason)")
        }
        self.context = connected
        self.url = url
        self.timeoutSeconds = timeoutSeconds

        guard redisSetTimeout(connected, timeout) == REDIS_OK else {
            throw RedisError(code: .connection, message: "cannot set the timeout on \(url.redacted)")
        }
        #if canImport(Darwin)
            var one: Int32 = 1
            _ = setsockopt(connected.pointee.fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        try authenticate(password: password ?? url.password)
        if url.database != 0 {
            if case .error(let message) = try command(["SELECT", String(url.database)]) {
                throw RedisError(
                    code: .rejected,
                    message: "SELECT \(url.database) on \(url.redacted) was refused: \(message)"
                )
            }
        }
    }

    deinit { redisFree(context) }

    /// Runs one command; a server error (`-ERR ...`) is returned as `.error`, not thrown.
    ///
    /// Arguments are sent with their lengths, so they may hold any bytes (NUL, CRLF).
    /// Throws `.connection` on an I/O error or timeout, `.invalidArgument` for no arguments.
    public func command(_ arguments: [String]) throws(RedisError) -> RedisReply {
        try command(binary: arguments.map { Array($0.utf8) })
    }

    /// `command(_:)` with arguments as raw bytes.
    public func command(binary arguments: [[UInt8]]) throws(RedisError) -> RedisReply {
        let name = try checkCommand(arguments)
        let raw = withoutSIGPIPE {
            withArgv(arguments) { argc, argv, lengths in redisCommandArgv(context, argc, argv, lengths) }
        }
        guard let raw else { throw ioFailure(name) }
        defer { freeReplyObject(raw) }
        return try convert(raw.assumingMemoryBound(to: redisReply.self), command: name)
    }

    /// Sends all commands in one write, then reads one reply per command, in order.
    ///
    /// Server errors are `.error` elements; an I/O error throws and breaks the connection.
    public func pipeline(_ commands: [[String]]) throws(RedisError) -> [RedisReply] {
        try pipeline(binary: commands.map { $0.map { Array($0.utf8) } })
    }

    /// `pipeline(_:)` with arguments as raw bytes (keys that are not UTF-8).
    public func pipeline(binary commands: [[[UInt8]]]) throws(RedisError) -> [RedisReply] {
        var names: [String] = []
        for arguments in commands { names.append(try checkCommand(arguments)) }
        for (arguments, name) in zip(commands, names) {
            let status = withArgv(arguments) { argc, argv, lengths in
                redisAppendCommandArgv(context, argc, argv, lengths)
            }
            guard status == REDIS_OK else { throw ioFailure(name) }
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for name in names {
            var raw: UnsafeMutableRawPointer?
            let status = withoutSIGPIPE { redisGetReply(context, &raw) }
            guard status == REDIS_OK, let raw else { throw ioFailure(name) }
            defer { freeReplyObject(raw) }
            replies.append(try convert(raw.assumingMemoryBound(to: redisReply.self), command: name))
        }
        return replies
    }

    private func authenticate(password: String?) throws(RedisError) {
        guard let password else {
            if let username = url.username {
                throw RedisError(
                    code: .invalidArgument,
                    message: "\(url.redacted) names user '\(username)' but no password was given"
                )
            }
            return
        }
        let arguments = url.username.map { ["AUTH", $0, password] } ?? ["AUTH", password]
        if case .error(let message) = try command(arguments) {
            let user = url.username.map { " as user '\($0)'" } ?? ""
            throw RedisError(code: .authentication, message: "AUTH\(user) on \(url.redacted) was refused: \(message)")
        }
    }

    /// The command name for messages (never its arguments, which may be secrets).
    private func checkCommand(_ arguments: [[UInt8]]) throws(RedisError) -> String {
        guard let first = arguments.first else {
            throw RedisError(code: .invalidArgument, message: "empty command for \(url.redacted)")
        }
        guard arguments.count < Int32.max else {
            throw RedisError(code: .invalidArgument, message: "too many arguments for \(url.redacted)")
        }
        guard !isBroken else {
            throw RedisError(code: .connection, message: "the connection to \(url.redacted) is broken; reconnect")
        }
        return String(decoding: first.prefix(32), as: UTF8.self).uppercased()
    }

    private func ioFailure(_ command: String) -> RedisError {
        isBroken = true
        var reason = Self.errorString(context)
        if reason.isEmpty { reason = "no reply" }
        if context.pointee.err == REDIS_ERR_IO, reason == String(cString: strerror(EAGAIN)) {
            reason = "no reply within \(timeoutSeconds)s"
        }
        return RedisError(code: .connection, message: "\(command) on \(url.redacted) failed: \(reason)")
    }

    private func convert(_ reply: UnsafePointer<redisReply>, command: String) throws(RedisError) -> RedisReply {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .string(Self.bytes(value))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: Self.bytes(value), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: Self.bytes(value), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(value.integer))
        case REDIS_REPLY_NIL:
            return .null
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                guard let element = value.element[index] else {
                    isBroken = true
                    throw RedisError(
                        code: .protocol, message: "\(command) on \(url.redacted): hiredis gave a nil element")
                }
                elements.append(try convert(element, command: command))
            }
            return .array(elements)
        default:
            isBroken = true
            throw RedisError(
                code: .protocol,
                message: "\(command) on \(url.redacted): unsupported hiredis reply type \(value.type)"
            )
        }
    }

    private static func bytes(_ reply: redisReply) -> [UInt8] {
        guard let str = reply.str, reply.len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: str, count: reply.len))
    }

    private static func errorString(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

@available(*, unavailable)
extension RedisConnection: Sendable {}

/// Calls `body` with hiredis' argv: pointers into one buffer holding every argument, and their lengths.
private func withArgv<R>(
    _ arguments: [[UInt8]],
    _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R
) -> R {
    var joined: [UInt8] = []
    joined.reserveCapacity(arguments.reduce(1) { $0 + $1.count })
    var offsets: [Int] = []
    for argument in arguments {
        offsets.append(joined.count)
        joined.append(contentsOf: argument)
    }
    joined.append(0)  // never empty, so the base address exists
    let lengths = arguments.map(\.count)
    return joined.withUnsafeBufferPointer { buffer in
        let base = UnsafeRawPointer(buffer.baseAddress!)
        var pointers: [UnsafePointer<CChar>?] = offsets.map { (base + $0).assumingMemoryBound(to: CChar.self) }
        return pointers.withUnsafeMutableBufferPointer { argv in
            lengths.withUnsafeBufferPointer { lengthBuffer in
                body(Int32(arguments.count), argv.baseAddress!, lengthBuffer.baseAddress!)
            }
        }
    }
}

/// Runs `body` with SIGPIPE blocked on this thread, discarding one it raised, as libpq does:
/// hiredis writes with `write(2)`, and a peer that closed the socket must not kill the process.
private func withoutSIGPIPE<R>(_ body: () -> R) -> R {
    #if canImport(Glibc)
        var pipeSet = sigset_t()
        sigemptyset(&pipeSet)
        sigaddset(&pipeSet, SIGPIPE)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &pipeSet, &previous)
        var pending = sigset_t()
        sigpending(&pending)
        let alreadyPending = sigismember(&pending, SIGPIPE) == 1
        defer {
            if !alreadyPending {
                sigpending(&pending)
                if sigismember(&pending, SIGPIPE) == 1 {
                    var zero = timespec(tv_sec: 0, tv_nsec: 0)
                    _ = sigtimedwait(&pipeSet, nil, &zero)
                }
            }
            pthread_sigmask(SIG_SETMASK, &previous, nil)
        }
        return body()
    #else
        return body()
    #endif
}
