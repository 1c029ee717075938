import Hummingbird
import MonCore
import MonQueryKit
import ServiceLifecycle

extension API {
    static let alertStates = ["active", "pending", "firing", "resolved", "inactive"]

    static func alertJSON(_ alert: AlertEngine.Active) -> JSONValue {
        .object([
            ("rule", .string(alert.rule)),
            ("host", .string(alert.host)),
            ("severity", .string(alert.severity.rawValue)),
            ("state", .string(alert.state.rawValue)),
            ("since", .string(Timestamp.iso8601(ms: alert.firingSinceMs ?? alert.sinceMs))),
            ("value", .number(alert.value)),
            ("threshold", .number(alert.threshold)),
            ("summary", .string(alert.summary)),
            ("hint", .string(alert.hint)),
        ])
    }

    /// The summary's `alerts` member: the current alerts, or `evaluated: false` before the
    /// first evaluation (and when alerting is off).
    func alertsSummary(host: String?) async -> JSONValue {
        guard let evaluator = alerts?.evaluator, await evaluator.hasEvaluated else {
            return .object([("active", .null), ("evaluated", false)])
        }
        let active = await evaluator.active.filter { host == nil || $0.host == host }
        return .object([
            ("evaluated", true),
            ("firing", .number(Double(active.filter { $0.state == .firing }.count))),
            ("active", .array(active.map(Self.alertJSON))),
        ])
    }

    /// `GET /api/monitoring/alerts?state=&since=24h&host=&limit=` — the current alerts and the
    /// stored transitions (newest first). `state=active` lists only the current ones.
    func alertsList(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["state", "since", "host", "limit"])
        let state = parameters["state"]
        if let state, !Self.alertStates.contains(state) {
            throw ParameterError(
                "state", "'\(state.prefix(40))' is not one of \(Self.alertStates.joined(separator: ", "))")
        }
        let range = try parameters.timeRange(nowMs: WallClock.nowMs(), retention: nil, defaultPeriod: "24h")
        let host = try parameters.host()
        let limit = try parameters.limit(default: 200, maximum: 1000)
        guard let (evaluator, store) = alerts else {
            throw APIError(
                status: .notFound, code: "alerts_disabled", message: "alerting is off (alerts.enabled: false)")
        }
        let active = await evaluator.active.filter { alert in
            (host == nil || alert.host == host)
                && (state == nil || state == "active" || state == alert.state.rawValue)
        }
        let events =
            state == "active"
            ? []
            : try await store.events(
                state: state, host: host, sinceMs: range.startMs, untilMs: range.endMs, limit: limit)
        let rules = evaluator.rules
        let failing = await evaluator.failing
        return .json(
            .object([
                ("since", .string(DurationText.format(seconds: range.periodSeconds))),
                ("period", .string(DurationText.format(seconds: range.periodSeconds))),
                ("from", .string(Timestamp.iso8601(ms: range.startMs))),
                ("to", .string(Timestamp.iso8601(ms: range.endMs))),
                ("evaluated", .bool(await evaluator.hasEvaluated)),
                ("rules", .number(Double(rules.count))),
                ("failing_rules", .object(failing.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
                ("active", .array(active.map(Self.alertJSON))),
                ("events", .array(events.map(Self.eventJSON))),
            ]))
    }

    static func eventJSON(_ event: AlertStore.Event) -> JSONValue {
        let item = event.transition
        return .object([
            ("id", .number(Double(event.id))),
            ("timestamp", .string(Timestamp.iso8601(ms: item.timestampMs))),
            ("rule", .string(item.rule)), ("host", .string(item.host)),
            ("severity", .string(item.severity.rawValue)), ("state", .string(item.state.rawValue)),
            ("value", .number(item.value)), ("threshold", .number(item.threshold)),
            ("summary", .string(item.summary)), ("hint", .string(item.hint)),
        ])
    }

    /// `GET /api/monitoring/alerts/stream` — Server-Sent Events: the current alerts once
    /// (`event: active`), then every stored transition as it lands (`event: transition`, its
    /// `alert_events` id as the SSE id, so a client that reconnects with `Last-Event-ID`
    /// misses none). Read from the table every `alerts.interval_seconds`, at most 1 s.
    func alertStream(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["host", "last_event_id"])
        let host = try parameters.host()
        let lastID = try Self.lastEventID(request, parameters)
        guard let (evaluator, store) = alerts else {
            throw APIError(
                status: .notFound, code: "alerts_disabled", message: "alerting is off (alerts.enabled: false)")
        }
        let slot = try StreamSlot.acquire(limitStats, limit: settings.maxStreamSubscribers)
        let start = try await store.events(afterID: lastID, limit: 0).lastID
        let active = await evaluator.active.filter { host == nil || $0.host == host }
        let keepaliveSeconds = settings.logStreamKeepalive
        return Response(
            status: .ok, headers: Self.eventStreamHeaders,
            body: ResponseBody { writer in
                defer { withExtendedLifetime(slot) {} }
                try await writer.write(ByteBuffer(string: "retry: 2000\n: connected\n\n"))
                if lastID == nil {
                    let snapshot = JSONValue.array(active.map(Self.alertJSON))
                    try await writer.write(ByteBuffer(string: "event: active\ndata: \(snapshot.encoded())\n\n"))
                }
                var quiet = 0.0
                var cursor = start
                // The stream ends when the daemon shuts down (within a second: graceful shutdown
                // must not wait on it).
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    try await Task.sleep(for: .seconds(1))
                    let page = try await store.events(afterID: cursor, limit: 500)
                    cursor = page.lastID
                    let shown = page.events.filter { host == nil || $0.transition.host == host }
                    for event in shown {
                        let text = "id: \(event.id)\nevent: transition\ndata: \(Self.eventJSON(event).encoded())\n\n"
                        try await writer.write(ByteBuffer(string: text))
                    }
                    quiet = shown.isEmpty ? quiet + 1 : 0
                    if quiet >= keepaliveSeconds {
                        try await writer.write(ByteBuffer(string: ": keepalive\n\n"))
                        quiet = 0
                    }
                }
            })
    }

    /// `mon_alerts{rule,severity,host}` 1 per firing alert (like Prometheus' `ALERTS`).
    func alertMetrics(_ out: inout PrometheusText) async {
        guard let evaluator = alerts?.evaluator else { return }
        out.family("mon_alerts", type: .gauge)
        for alert in await evaluator.active where alert.state == .firing {
            out.sample(
                "mon_alerts", [("rule", alert.rule), ("severity", alert.severity.rawValue), ("host", alert.host)], 1)
        }
        out.family("mon_alerts_pending", type: .gauge)
        out.sample("mon_alerts_pending", [], Double(await evaluator.active.filter { $0.state == .pending }.count))
        guard let notifier = evaluator.webhook else { return }
        // Per notifier (webhook, alertmanager), summed over its targets.
        var totals: [String: (sent: Int, failed: Int, dropped: Int)] = [:]
        for delivery in await notifier.deliveries() {
            let known = totals[delivery.notifier] ?? (0, 0, 0)
            totals[delivery.notifier] = (
                known.sent + delivery.sent, known.failed + delivery.failedAttempts, known.dropped + delivery.dropped
            )
        }
        out.family("mon_query_alert_notifications_total", type: .counter)
        for (name, total) in totals.sorted(by: { $0.key < $1.key }) {
            out.sample(
                "mon_query_alert_notifications_total", [("notifier", name), ("outcome", "sent")], Double(total.sent))
            out.sample(
                "mon_query_alert_notifications_total", [("notifier", name), ("outcome", "dropped")],
                Double(total.dropped))
        }
        out.family("mon_query_alert_notification_failures_total", type: .counter)
        for (name, total) in totals.sorted(by: { $0.key < $1.key }) {
            out.sample("mon_query_alert_notification_failures_total", [("notifier", name)], Double(total.failed))
        }
    }

    /// `/health/detailed`'s `alert_notifications` check: each target's counts; degraded
    /// while a target's last attempt failed. Nil without a notifier.
    func notificationHealth() async -> (failing: Bool, json: JSONValue)? {
        guard let notifier = alerts?.evaluator.webhook else { return nil }
        let deliveries = await notifier.deliveries()
        let json: [JSONValue] = deliveries.map { delivery in
            .object([
                ("notifier", .string(delivery.notifier)), ("target", .string(delivery.target)),
                ("sent", .number(Double(delivery.sent))), ("failed_attempts", .number(Double(delivery.failedAttempts))),
                ("dropped", .number(Double(delivery.dropped))),
                ("last_sent", delivery.lastSentMs.map { .string(Timestamp.iso8601(ms: $0)) } ?? .null),
                ("last_failure", delivery.lastFailureMs.map { .string(Timestamp.iso8601(ms: $0)) } ?? .null),
                ("last_error", delivery.lastError.map { .string($0) } ?? .null),
            ])
        }
        return (deliveries.contains(where: \.failing), .array(json))
    }
}
