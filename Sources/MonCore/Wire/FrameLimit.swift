import Synchronization

/// The frame limit of one daemon-side connection: `WireLimits.handshakeMaxFrameBytes` until
/// the connection's HELLO is answered, `maxFrameBytes` after it.
///
/// Shared by the connection's `FrameDecoder` (on the event loop) and the task serving it,
/// which calls `raise()` before it writes WELCOME: the agent sends nothing bigger before it
/// has read WELCOME, so the decoder sees the raised limit by then.
public final class FrameLimit: Sendable {
    /// The limit before HELLO is answered.
    public let handshakeMaxFrameBytes: Int
    /// The limit after it (`ingest.max_frame_bytes`).
    public let maxFrameBytes: Int
    private let raised = Atomic<Bool>(false)

    public init(
        maxFrameBytes: Int = WireLimits.defaultMaxFrameBytes,
        handshakeMaxFrameBytes: Int = WireLimits.handshakeMaxFrameBytes
    ) {
        self.maxFrameBytes = maxFrameBytes
        self.handshakeMaxFrameBytes = min(handshakeMaxFrameBytes, maxFrameBytes)
    }

    /// HELLO was accepted: frames up to `maxFrameBytes` from now on, and larger ones are
    /// skipped (and handed on as `Frame.oversizedLength`) instead of closing the connection.
    public func raise() { raised.store(true, ordering: .releasing) }

    public var isRaised: Bool { raised.load(ordering: .acquiring) }

    /// The largest frame accepted now.
    public var current: Int { isRaised ? maxFrameBytes : handshakeMaxFrameBytes }
}
