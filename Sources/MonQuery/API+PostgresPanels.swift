import Foundation
import Hummingbird
import MonCore
import MonQueryKit

/// The slow-statement timeline and the application's connection pool
/// (`/postgres/slow_queries/timeline`, `/postgres/pool`, and the dashboard's PostgreSQL page).
extension API {
    func postgresSlowQueryTimeline(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: ["period", "step", "host", "limit"])
        var range = try parameters.timeRange(nowMs: WallClock.nowMs(), retention: settings.retention)
        if parameters["step"] == nil { range.stepSeconds = StatementTimeline.defaultStepSeconds(range) }
        let limit = try parameters.limit(default: 5, maximum: 20)
        let fullText = role(request) == .admin
        let statements = try await slowQueryTimeline(range: range, host: try parameters.host(), limit: limit)
        return .json(
            .object([
                ("period", .string(DurationText.format(seconds: range.periodSeconds))),
                ("step", .string(DurationText.format(seconds: range.stepSeconds))),
                ("from", .string(Timestamp.iso8601(ms: range.startMs))),
                ("to", .string(Timestamp.iso8601(ms: range.endMs))),
                ("statements", .array(statements.map { $0.json(fullText: fullText) })),
            ])
        )
    }

    /// A statement of the timeline and its buckets.
    struct TimelineEntry {
        var statement: QueryStore.StatementSummary
        var buckets: [StatementTimeline.Bucket]

        /// The query text, truncated unless `fullText` (admin).
        func query(fullText: Bool) -> String? {
            statement.query.map { fullText ? $0 : API.truncatedQuery($0) }
        }

        func json(fullText: Bool) -> JSONValue {
            .object([
                ("host", .string(statement.host)),
                ("queryid", .string(statement.queryid)),
                ("database", .string(statement.database)),
                ("query", query(fullText: fullText).map { .string($0) } ?? .null),
                ("calls", .number(statement.calls)),
                ("mean_ms", .number(statement.calls > 0 ? statement.totalMs / statement.calls : nil)),
                (
                    "buckets",
                    .array(
                        buckets.map { bucket in
                            .object([
                                ("timestamp", .string(Timestamp.iso8601(ms: bucket.startMs))),
                                ("calls", .number(bucket.calls)), ("mean_ms", .number(bucket.meanMs)),
                            ])
                        })
                ),
            ])
        }
    }

    /// The `limit` statements of the range with the most execution time, each with its calls
    /// and mean time per bucket of `range.stepSeconds`.
    func slowQueryTimeline(range: TimeRange, host: String?, limit: Int) async throws -> [TimelineEntry] {
        let statements = try await store.slowStatements(host: host, range: range, limit: limit)
        let rows = try await store.statementTimeline(
            statements: statements.map { ($0.host, $0.key) }, range: range, stepSeconds: range.stepSeconds)
        let columns = StatementTimeline.columns(range, stepSeconds: range.stepSeconds)
        let byStatement = Dictionary(grouping: rows) { "\($0.host)\u{1F}\($0.key)" }
        return statements.map { statement in
            TimelineEntry(
                statement: statement,
                buckets: StatementTimeline.buckets(
                    byStatement["\(statement.host)\u{1F}\(statement.key)"] ?? [], columns: columns))
        }
    }

    func postgresPool(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: Self.rangeParameters)
        let range = try parameters.timeRange(nowMs: WallClock.nowMs(), retention: settings.retention)
        let pools = try await appPools(range: range, host: try parameters.host())
        let hosts = Dictionary(grouping: pools, by: \.host).sorted { $0.key < $1.key }.map { host, entries in
            JSONValue.object([("host", .string(host)), ("pools", .array(entries.map(\.json)))])
        }
        return envelope(range, hosts: hosts)
    }

    /// One pool of one host: its latest figures and their series over the range.
    struct PoolEntry {
        var host: String
        var name: String
        var latest: AppPool
        var timestampMs: Int64?
        /// Checked figures per point (a point the application sent out of range is nil).
        var points: [(ms: Int64, size: Double?, checkedOut: Double?, overflow: Double?)]

        var json: JSONValue {
            .object([
                ("pool", .string(name)),
                ("timestamp", timestampMs.map { .string(Timestamp.iso8601(ms: $0)) } ?? .null),
                ("size", .number(latest.size)),
                ("checked_out", .number(latest.checkedOut)),
                ("overflow", .number(latest.overflow)),
                ("usage_percent", .number(latest.usagePercent)),
                ("problems", .array(latest.problems.map { .string($0) })),
                (
                    "series",
                    .array(
                        points.map { point in
                            .object([
                                ("timestamp", .string(Timestamp.iso8601(ms: point.ms))),
                                ("size", .number(point.size)), ("checked_out", .number(point.checkedOut)),
                                ("overflow", .number(point.overflow)),
                            ])
                        })
                ),
            ])
        }
    }

    /// The pools of the range, by host then pool name (the `pool` tag, `default` without one).
    func appPools(range: TimeRange, host: String?) async throws -> [PoolEntry] {
        let names = AppPool.metrics
        let data = try await store.series(
            names: [names.size, names.checkedOut, names.overflow], host: host, range: range)
        let groups = Dictionary(grouping: data) { PoolKey(host: $0.host, pool: $0.labels["pool"] ?? "default") }
        return groups.keys.sorted { ($0.host, $0.pool) < ($1.host, $1.pool) }.map { key in
            let series = groups[key] ?? []
            func named(_ name: String) -> SeriesData? {
                series.filter { $0.name == name }.max { ($0.latestMs ?? 0) < ($1.latestMs ?? 0) }
            }
            let (size, checkedOut, overflow) = (named(names.size), named(names.checkedOut), named(names.overflow))
            func values(_ series: SeriesData?) -> [Int64: Double] {
                Dictionary((series?.points ?? []).map { ($0.ms, $0.value) }) { $1 }
            }
            let (sizes, outs, overflows) = (values(size), values(checkedOut), values(overflow))
            let times = Set(sizes.keys).union(outs.keys).union(overflows.keys).sorted()
            return PoolEntry(
                host: key.host, name: key.pool,
                latest: AppPool(size: size?.latest, checkedOut: checkedOut?.latest, overflow: overflow?.latest),
                timestampMs: [size, checkedOut, overflow].compactMap { $0?.latestMs }.max(),
                points: times.map { ms in
                    let pool = AppPool(size: sizes[ms], checkedOut: outs[ms], overflow: overflows[ms])
                    return (ms, pool.size, pool.checkedOut, pool.overflow)
                })
        }
    }

    struct PoolKey: Hashable {
        var host: String
        var pool: String
    }
}
