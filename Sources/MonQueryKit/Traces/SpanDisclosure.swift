import MonCore

/// What a span's details show to a viewer token. Logs are admin-only because a message can
/// carry anyone's data; a span's attributes and events can too (`db.statement` with literals,
/// `http.url`, `enduser.id`, an exception's message and stack), even after redaction. So a
/// viewer sees the trace's shape and timings with the attributes that describe *what* ran
/// (the OpenTelemetry semantic conventions' method, route, status, database system and
/// operation, peer), never *whose* data; an admin sees everything stored.
public enum SpanDisclosure {
    /// Attribute keys a viewer sees: the semantic conventions' names (old and new spellings)
    /// for the operation, never its payload, URL, statement, user or message.
    public static let viewerKeys: Set<String> = [
        "http.method", "http.request.method", "http.route", "http.status_code", "http.response.status_code",
        "http.scheme", "url.scheme", "http.flavor", "network.protocol.version",
        "server.address", "server.port", "net.peer.name", "net.peer.port", "net.host.name", "net.host.port",
        "network.peer.address", "network.peer.port", "network.transport",
        "db.system", "db.system.name", "db.operation", "db.operation.name", "db.name", "db.namespace",
        "db.collection.name", "db.sql.table", "db.redis.database_index", "db.response.status_code",
        "rpc.system", "rpc.service", "rpc.method", "rpc.grpc.status_code",
        "messaging.system", "messaging.operation", "messaging.operation.name", "messaging.destination.name",
        "error.type", "exception.type", "otel.status_code", "otel.library.name", "otel.scope.name",
        "otel.dropped_attributes_count", "otel.dropped_events_count", "otel.truncated",
        "service.name", "service.version", "service.namespace", "deployment.environment",
        "deployment.environment.name", "telemetry.sdk.name", "telemetry.sdk.language", "telemetry.sdk.version",
    ]

    /// The attributes a viewer sees and how many were held back.
    public static func viewerAttributes(_ attributes: JSONValue) -> (shown: JSONValue, hidden: Int) {
        guard case .object(let pairs) = attributes else { return (.object([]), 0) }
        let shown = pairs.filter { viewerKeys.contains($0.0) }
        return (.object(shown), pairs.count - shown.count)
    }

    /// The events a viewer sees: each event's name and time, with the attributes that pass
    /// `viewerKeys` (an exception event keeps its `exception.type`, not its message or stack).
    public static func viewerEvents(_ events: JSONValue) -> (shown: JSONValue, hidden: Int) {
        guard case .array(let list) = events else { return (.array([]), 0) }
        var hidden = 0
        let shown = list.map { event -> JSONValue in
            guard case .object(let pairs) = event else {
                hidden += 1
                return .object([])
            }
            return .object(
                pairs.map { key, value in
                    guard key == "attributes" else { return (key, value) }
                    let (kept, held) = viewerAttributes(value)
                    hidden += held
                    return (key, kept)
                })
        }
        return (.array(shown), hidden)
    }
}
