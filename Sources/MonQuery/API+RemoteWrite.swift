import MonCore
import MonQueryKit

extension API {
    /// `mon_query_remote_write_*` per `export.remote_write` destination (none configured: no family).
    func remoteWriteMetrics(_ out: inout PrometheusText) {
        guard !remoteWrite.isEmpty else { return }
        let statuses = remoteWrite.map(\.status)
        out.family("mon_query_remote_write_samples_sent_total", type: .counter)
        for status in statuses {
            out.sample(
                "mon_query_remote_write_samples_sent_total", [("destination", status.destination)], Double(status.sent))
        }
        out.family("mon_query_remote_write_samples_failed_total", type: .counter)
        for status in statuses {
            out.sample(
                "mon_query_remote_write_samples_failed_total", [("destination", status.destination)],
                Double(status.failed))
        }
        out.family("mon_query_remote_write_samples_dropped_total", type: .counter)
        for status in statuses {
            for (reason, count) in status.dropped.sorted(by: { $0.key < $1.key }) {
                out.sample(
                    "mon_query_remote_write_samples_dropped_total",
                    [("destination", status.destination), ("reason", reason)], Double(count))
            }
        }
        let gauges: [(String, (RemoteWriteStatus) -> Double?)] = [
            ("mon_query_remote_write_pending_batches", { Double($0.pendingBatches) }),
            ("mon_query_remote_write_pending_samples", { Double($0.pendingSamples) }),
            ("mon_query_remote_write_lag_seconds", { $0.lagSeconds }),
            ("mon_query_remote_write_last_success_timestamp_seconds", { $0.lastSuccessMs.map { Double($0) / 1000 } }),
        ]
        for (name, value) in gauges {
            out.family(name, type: .gauge)
            for status in statuses {
                guard let number = value(status) else { continue }
                out.sample(name, [("destination", status.destination)], number)
            }
        }
    }

    /// `/health/detailed`'s `remote_write` check: each destination's figures; degraded while
    /// one's last attempt failed. Nil without destinations.
    func remoteWriteHealth() -> (failing: Bool, json: JSONValue)? {
        guard !remoteWrite.isEmpty else { return nil }
        let statuses = remoteWrite.map(\.status)
        let json: [JSONValue] = statuses.map { status in
            .object([
                ("destination", .string(status.destination)), ("target", .string(status.target)),
                ("exporting", .bool(status.exporting)), ("failing", .bool(status.failing)),
                ("samples_sent", .number(Double(status.sent))), ("samples_failed", .number(Double(status.failed))),
                ("samples_dropped", .number(Double(status.dropped.values.reduce(0, +)))),
                ("pending_batches", .number(Double(status.pendingBatches))),
                ("lag_seconds", .number(status.lagSeconds)),
                ("last_success", status.lastSuccessMs.map { .string(Timestamp.iso8601(ms: $0)) } ?? .null),
                ("last_failure", status.lastFailureMs.map { .string(Timestamp.iso8601(ms: $0)) } ?? .null),
                ("last_error", status.lastError.map { .string($0) } ?? .null),
            ])
        }
        return (statuses.contains(where: \.failing), .array(json))
    }
}
