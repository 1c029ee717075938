import Hummingbird
import Logging
import MonCore
import MonQueryKit

/// An API failure rendered as `{"error": {"code": "...", "message": "..."}}`.
struct APIError: Error, HTTPResponseError {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    /// Extra response headers (`Retry-After`).
    var headers: HTTPFields = [:]

    static func badParameter(_ error: ParameterError) -> APIError {
        APIError(status: .badRequest, code: "bad_parameter", message: error.description)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let body: JSONValue = .object([("error", .object([("code", .string(code)), ("message", .string(message))]))])
        var response = Response.json(body, status: status)
        for field in headers { response.headers.append(field) }
        return response
    }
}

/// Turns every error into the JSON error body: 404/405 from the router, 503 when
/// the database is away, 500 (with the detail only in the log) for the rest.
struct APIErrorMiddleware: RouterMiddleware {
    typealias Context = DaemonRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as ParameterError {
            throw APIError.badParameter(error)
        } catch let error as HTTPError {
            let code =
                error.status == .notFound
                ? "not_found" : error.status == .methodNotAllowed ? "method_not_allowed" : "http_error"
            throw APIError(status: error.status, code: code, message: error.body ?? error.status.reasonPhrase)
        } catch let error as PostgresError where error.isConnectionFailure {
            context.logger.error("database unavailable", metadata: ["error": "\(error)"])
            throw APIError(
                status: .serviceUnavailable, code: "database_unavailable",
                message: "the metrics database is unavailable")
        } catch {
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            throw APIError(
                status: .internalServerError, code: "internal", message: "internal error; see the daemon log")
        }
    }
}

extension Response {
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var bytes: [UInt8] = []
        value.write(to: &bytes)
        return jsonBody(ByteBuffer(bytes: bytes), status: status)
    }

    /// A JSON document already encoded.
    static func jsonBody(_ body: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: body)
        )
    }
}

/// Checked access to query parameters: unknown names and repeated names are refused.
///
/// One range vocabulary (`RangeVocabulary`): a route that takes a period (`period`, or its
/// older name `since` or `window`) also takes `period` and the absolute `from`/`to`.
struct QueryParameters {
    private var values: [String: String] = [:]

    init(_ request: Request, allowed: Set<String>) throws(ParameterError) {
        let allowed = RangeVocabulary.extending(allowed)
        for (key, value) in request.uri.queryParameters {
            let name = String(key)
            guard allowed.contains(name) else {
                let known = allowed.sorted().joined(separator: ", ")
                throw ParameterError(String(name.prefix(40)), "unknown parameter; this endpoint accepts: \(known)")
            }
            guard values[name] == nil else { throw ParameterError(name, "given more than once") }
            values[name] = String(value)
        }
    }

    subscript(name: String) -> String? { values[name] }

    /// The same parameters without those of `names` given empty (a form's "any" choice).
    func droppingEmpty(_ names: Set<String>) -> QueryParameters {
        var copy = self
        for name in names where copy.values[name]?.isEmpty == true { copy.values[name] = nil }
        return copy
    }

    /// The same parameters with `name` set to `value` (nil: removed).
    func setting(_ name: String, _ value: String?) -> QueryParameters {
        var copy = self
        copy.values[name] = value
        return copy
    }

    /// `host`: a host name filter (letters, digits, `.-_`, at most 253 characters).
    func host() throws(ParameterError) -> String? {
        guard let host = values["host"] else { return nil }
        guard !host.isEmpty, host.count <= 253,
            host.unicodeScalars.allSatisfy({
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                    || ".-_".unicodeScalars.contains($0)
            })
        else {
            throw ParameterError("host", "'\(host.prefix(40))' is not a host name")
        }
        return host
    }

    /// `limit`: a positive integer up to `maximum`.
    func limit(default defaultValue: Int, maximum: Int) throws(ParameterError) -> Int {
        guard let text = values["limit"] else { return defaultValue }
        guard let value = Int(text), value >= 1, value <= maximum else {
            throw ParameterError("limit", "'\(text.prefix(40))' is not an integer between 1 and \(maximum)")
        }
        return value
    }

    /// The range of `period` (or its alias) or `from`/`to`, with `step` (`RangeVocabulary`).
    func timeRange(
        nowMs: Int64, retention: RetentionPolicy?, defaultPeriod: String = "1h", limits: TimeRange.Limits = .standard
    ) throws(ParameterError) -> TimeRange {
        try RangeVocabulary.range(
            self, nowMs: nowMs, retention: retention, defaultPeriod: defaultPeriod, limits: limits)
    }
}

/// Records each request's duration by route pattern, method and status (`/metrics`).
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = DaemonRequestContext
    let metrics: HTTPMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let started = ContinuousClock.now
        func record(_ status: Int) {
            metrics.record(
                route: context.endpointPath ?? "NotFound", method: request.method.rawValue, status: status,
                seconds: started.duration(to: .now).seconds)
        }
        do {
            let response = try await next(request, context)
            record(response.status.code)
            return response
        } catch let error as HTTPResponseError {
            record(error.status.code)
            throw error
        } catch {
            record(500)
            throw error
        }
    }
}
