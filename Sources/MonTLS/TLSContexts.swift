import MonCore
import NIOCore
import NIOSSL

/// TLS for the executables (swift-nio-ssl, BoringSSL): contexts from the configured files,
/// and the handler each new connection gets first. Errors name the configuration key and
/// the file, never what the file holds.
extension TLSFiles {
    /// The server side, TLS 1.2 or later, with the certificate chain and key read now.
    public func serverConfiguration() throws -> TLSConfiguration {
        let (chain, privateKey) = try readChainAndKey()
        return Self.serverConfiguration(chain: chain, key: privateKey)
    }

    static func serverConfiguration(chain: [NIOSSLCertificate], key: NIOSSLPrivateKey) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }

    /// The certificate chain and the private key, read now.
    func readChainAndKey() throws -> (chain: [NIOSSLCertificate], key: NIOSSLPrivateKey) {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificate)
        } catch {
            throw ConfigError(
                key: "\(prefix).certificate_file",
                message: "cannot read a PEM certificate from \(certificate): \(error)")
        }
        guard !chain.isEmpty else {
            throw ConfigError(key: "\(prefix).certificate_file", message: "\(certificate) holds no certificate")
        }
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        } catch {
            throw ConfigError(key: "\(prefix).key_file", message: "cannot read a PEM private key from \(key)")
        }
        return (chain, privateKey)
    }

    /// A server context; the key must go with the certificate.
    public func serverContext() throws -> NIOSSLContext {
        try context(for: try serverConfiguration())
    }

    /// A context of `configuration`, whose key must go with its certificate.
    func context(for configuration: TLSConfiguration) throws -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw ConfigError(
                key: "\(prefix).key_file",
                message: "the key in \(key) does not go with the certificate in \(certificate)")
        }
    }

    /// Puts a TLS server handler first in each accepted connection.
    public func serverSecurity() throws -> ChannelSecurity {
        let context = try serverContext()
        return { channel in try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context)) }
    }
}

extension TLSClientSettings {
    /// The client side, TLS 1.2 or later, trusting `caFile` (or the system's roots), with
    /// the client certificate if there is one; no check at all with `insecureSkipVerify`.
    public func context() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile {
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw ConfigError(key: "\(prefix).ca_file", message: "cannot read a PEM certificate from \(caFile)")
            }
        }
        if let certificate {
            // The same reading and checks as a server's chain and key.
            let server = try certificate.serverConfiguration()
            configuration.certificateChain = server.certificateChain
            configuration.privateKey = server.privateKey
        }
        if insecureSkipVerify { configuration.certificateVerification = .none }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw ConfigError(key: prefix, message: "cannot set up TLS: \(error)")
        }
    }

    /// Puts a TLS client handler first in a connection to `host`, checking the certificate
    /// for `serverName` (default `host`). An address literal is checked against the
    /// certificate's IP entries: SNI and name checks take host names only.
    public func clientSecurity(host: String) throws -> ChannelSecurity {
        let context = try context()
        let name = serverName ?? host
        let hostname = name.contains(":") || name.allSatisfy({ $0.isNumber || $0 == "." }) ? nil : name
        return { channel in
            try channel.pipeline.syncOperations.addHandler(
                NIOSSLClientHandler(context: context, serverHostname: hostname))
        }
    }
}
