import MonCore
import MonQueryKit
import MonTLS

extension IngestServer.TCPListener {
    /// The listener of `ingest.tcp_listen`, with its certificate and key read now.
    public init(_ settings: IngestTCPSettings) throws {
        self.init(
            host: settings.host, port: settings.port, tokens: settings.tokens,
            security: try settings.tls.serverSecurity())
        handshakeTimeoutSeconds = settings.handshakeTimeoutSeconds
        maxConnections = settings.maxConnections
    }
}
