import MonCore
import NIOCore
import NIOSSL
import Synchronization

/// The certificate chain and key a TLS server presents (`http.tls`, `ingest.tls`), replaceable
/// while it serves: every handshake takes the pair in force when the client's hello arrives
/// (`sslContextCallback`), so a reload reaches new connections and the open ones keep theirs.
public final class LiveServerCertificate: Sendable {
    private struct Pair: Sendable {
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
    }

    /// The pair in force, shared with the handshake callback.
    private final class Slot: Sendable {
        let pair: Mutex<Pair>
        init(_ pair: Pair) { self.pair = Mutex(pair) }
    }

    private let slot: Slot
    /// The server configuration of the pair read at start, with the callback that swaps in
    /// the pair in force for each handshake.
    public let configuration: TLSConfiguration

    /// Reads and checks `files` now (a bad file stops the start, naming its key).
    public init(_ files: TLSFiles) throws {
        let (chain, key) = try files.readChainAndKey()
        var configuration = TLSFiles.serverConfiguration(chain: chain, key: key)
        _ = try files.context(for: configuration)
        let slot = Slot(Pair(chain: chain, key: key))
        configuration.sslContextCallback = { _, promise in
            let current = slot.pair.withLock { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = current.chain.map { .certificate($0) }
            override.privateKey = .privateKey(current.key)
            promise.succeed(override)
        }
        self.slot = slot
        self.configuration = configuration
    }

    /// Puts a TLS server handler of `configuration` first in each accepted connection (ingest).
    public func serverSecurity() throws -> ChannelSecurity {
        let context = try NIOSSLContext(configuration: configuration)
        return { channel in try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context)) }
    }

    /// `reload(_:)`, as the daemon's reload plan takes it.
    public var reloader: CertificateReloader { { [self] files in try self.reload(files) } }

    /// Re-reads and checks `files` (the key must go with the certificate); nothing changes
    /// until the result's `apply`. Throws a `ConfigError` naming the key at fault.
    public func reload(_ files: TLSFiles) throws -> CertificateReload {
        let (chain, key) = try files.readChainAndKey()
        _ = try files.context(for: TLSFiles.serverConfiguration(chain: chain, key: key))
        let fresh = Pair(chain: chain, key: key)
        let changed = slot.pair.withLock { $0.chain != chain || $0.key != key }
        return CertificateReload(changed: changed) { [slot] in slot.pair.withLock { $0 = fresh } }
    }
}
