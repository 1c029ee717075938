import Hummingbird
import NIOCore

/// The request context of monquery's router: Hummingbird's core storage plus the client's
/// address (the peer of the TCP connection), which the credential throttle counts by.
struct DaemonRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP address as text (`127.0.0.1`, `2001:db8::1`), or `unknown` (a test
    /// channel, a Unix socket).
    var clientAddress: String { remoteAddress?.ipAddress ?? "unknown" }
}
