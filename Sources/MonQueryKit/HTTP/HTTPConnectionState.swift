import MonCore

/// One HTTP connection's limits as a pure state machine (the NIO handler in monquery feeds it
/// events and carries out its actions): over the connection cap, every request is answered
/// 503; a declared body over the cap is answered 413, a streamed one closes the connection;
/// a connection with no request in progress for `idleTimeoutMs` is closed. A request whose
/// head is still arriving counts as idle, so a client trickling its headers is closed too; a
/// request body must arrive whole within `idleTimeoutMs` of its head, so a body trickled a
/// byte at a time cannot hold a connection either.
public struct HTTPConnectionState: Sendable {
    public let idleTimeoutMs: Int64
    public let maxBodyBytes: Int
    /// The connection was over `http.max_connections` when it opened.
    public let overCapacity: Bool

    /// Requests read (head received) whose response has not ended.
    private(set) var requestsInProgress = 0
    /// A request's head came and its end has not (the body is arriving).
    private(set) var readingBody = false
    private(set) var bodyBytes = 0
    /// The last response's end (or the connection's start, or the head of the request whose
    /// body is arriving): idleness is measured from here.
    private(set) var lastActivityMs: Int64
    /// The connection is being closed by a decision of this machine; nothing more to do.
    private(set) var closing = false

    public init(idleTimeoutMs: Int64, maxBodyBytes: Int, overCapacity: Bool, nowMs: Int64) {
        self.idleTimeoutMs = idleTimeoutMs
        self.maxBodyBytes = maxBodyBytes
        self.overCapacity = overCapacity
        lastActivityMs = nowMs
    }

    public enum HeadAction: Sendable, Equatable {
        /// Pass the request on to the server.
        case forward
        /// Answer this status (503, 413) with `Connection: close` and close; do not pass it on.
        case refuse(HTTPLimitStats.Reason)
    }

    public enum BodyAction: Sendable, Equatable {
        case forward
        /// The body went over the cap after its head was passed on: close the connection.
        case close
        /// The request was refused: drop the part.
        case drop
    }

    public enum TimerAction: Sendable, Equatable {
        /// Close the connection (idle).
        case close
        /// Check again at this time.
        case check(atMs: Int64)
        /// A response is being produced (a stream may last hours): the next response end re-arms.
        case wait
    }

    /// When the first idle check is due.
    public var firstDeadlineMs: Int64 { lastActivityMs + idleTimeoutMs }

    public mutating func head(contentLength: Int?, nowMs: Int64) -> HeadAction {
        lastActivityMs = nowMs
        if closing { return .refuse(.maxConnections) }
        if overCapacity {
            closing = true
            return .refuse(.maxConnections)
        }
        if let contentLength, contentLength > maxBodyBytes {
            closing = true
            return .refuse(.bodyTooLarge)
        }
        requestsInProgress += 1
        readingBody = true
        bodyBytes = 0
        return .forward
    }

    /// A part of the body; it does not move the deadline (the body must come whole in time).
    public mutating func body(bytes: Int) -> BodyAction {
        guard !closing else { return .drop }
        bodyBytes += bytes
        if bodyBytes > maxBodyBytes {
            closing = true
            return .close
        }
        return .forward
    }

    /// The end of a request; false when it was refused (drop it).
    public mutating func end(nowMs: Int64) -> Bool {
        lastActivityMs = nowMs
        readingBody = false
        return !closing
    }

    /// A response ended; the time of the next idle check when the connection is idle again.
    public mutating func responseEnded(nowMs: Int64) -> Int64? {
        lastActivityMs = nowMs
        requestsInProgress = max(0, requestsInProgress - 1)
        return requestsInProgress == 0 ? nowMs + idleTimeoutMs : nil
    }

    /// A header overflow from the parser: answer 431 and close unless a response is under way.
    public mutating func headerOverflow() -> Bool {
        guard requestsInProgress == 0, !closing else { return false }
        closing = true
        return true
    }

    public mutating func timer(nowMs: Int64) -> TimerAction {
        if closing { return .wait }
        let busy = requestsInProgress > 0 && !readingBody
        if busy { return .wait }
        let deadline = lastActivityMs + idleTimeoutMs
        guard nowMs >= deadline else { return .check(atMs: deadline) }
        closing = true
        return .close
    }
}
