import Foundation
import MonCore
import MonQueryKit

/// The HTTP side of one `export.remote_write` destination: a POST per request with the
/// remote-write 1.0 headers, through `NotificationPoster` (SwiftNIO, TLS from MonTLS). The
/// `Authorization` header and the configured headers are sent, never logged.
struct RemoteWritePoster: RemoteWriteTransport {
    let poster: NotificationPoster
    let headers: [(String, String)]

    /// Reads the destination's TLS files now: a bad one stops the start with the key named.
    init(settings: RemoteWriteSettings) throws {
        poster = try NotificationPoster(
            url: settings.url, auth: settings.auth, tls: settings.tls, timeoutSeconds: settings.timeoutSeconds)
        headers =
            [("Content-Encoding", "snappy"), ("X-Prometheus-Remote-Write-Version", "0.1.0")]
            + settings.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    func send(_ body: [UInt8]) async throws -> Int {
        try await poster.post(body, contentType: "application/x-protobuf", headers: headers)
    }
}
