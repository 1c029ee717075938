import Hummingbird
import MonCore
import MonQueryKit

extension API {
    static let rangeParameters: Set<String> = ["period", "step", "host"]

    /// PSI per resource (`cpu`, `memory`, `io`): `some` and `full`, each `avg10`, `avg60`,
    /// `avg300` in percent of wall time (latest values); `null` where the kernel gives none.
    func pressure(_ data: [SeriesData], host: String) -> JSONValue {
        let windows = [
            ("avg10", "mon_host_pressure_ratio"), ("avg60", "mon_host_pressure_avg60_ratio"),
            ("avg300", "mon_host_pressure_avg300_ratio"),
        ]
        return .object(
            Pressure.resources.map { resource in
                let kinds: [(String, JSONValue)] = ["some", "full"].map { kind in
                    let labels = ["resource": resource, "kind": kind]
                    let figures = windows.map { window, metric in
                        (window, Shape.latest(data.first(metric, host: host, labels), scale: 100))
                    }
                    let present = windows.contains { data.first($0.1, host: host, labels) != nil }
                    return (kind, present ? .object(figures) : .null)
                }
                return (resource, .object(kinds))
            })
    }

    func systemCPU(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: Self.rangeParameters)
        let range = try parameters.timeRange(nowMs: WallClock.nowMs(), retention: settings.retention)
        let data = try await store.series(
            names: [
                "mon_host_cpu_usage_ratio", "mon_host_cpu_cores", "mon_host_load1", "mon_host_load5", "mon_host_load15",
                "mon_process_cpu_usage_ratio", "mon_process_resident_memory_bytes", "mon_process_processes",
                "mon_process_threads", "mon_process_open_fds", "mon_host_pressure_ratio",
                "mon_host_pressure_avg60_ratio", "mon_host_pressure_avg300_ratio",
            ],
            host: try parameters.host(),
            range: range
        )
        let hosts: [JSONValue] = data.hosts.map { host in
            let total = data.first("mon_host_cpu_usage_ratio", host: host, ["cpu": "all"])
            let load1 = data.first("mon_host_load1", host: host)
            let cores = data.all("mon_host_cpu_usage_ratio", host: host)
                .filter { $0.labels["cpu"] != "all" }
                .sorted { Int($0.labels["cpu"] ?? "") ?? 0 < Int($1.labels["cpu"] ?? "") ?? 0 }
            return .object([
                ("host", .string(host)),
                ("timestamp", Shape.timestamp([total, load1])),
                (
                    "current",
                    .object([
                        ("usage_percent", Shape.latest(total, scale: 100)),
                        ("cores", Shape.latest(data.first("mon_host_cpu_cores", host: host))),
                        ("load1", Shape.latest(load1)),
                        ("load5", Shape.latest(data.first("mon_host_load5", host: host))),
                        ("load15", Shape.latest(data.first("mon_host_load15", host: host))),
                    ])
                ),
                (
                    "average",
                    .object([
                        ("usage_percent", Shape.average(total, scale: 100)),
                        ("load1", Shape.average(load1)),
                    ])
                ),
                (
                    "per_core",
                    .array(
                        cores.map { core in
                            .object([
                                ("cpu", .string(core.labels["cpu"] ?? "")),
                                ("usage_percent", Shape.latest(core, scale: 100)),
                                ("average_usage_percent", Shape.average(core, scale: 100)),
                            ])
                        }
                    )
                ),
                ("series", Shape.points([("usage_percent", total, 100), ("load1", load1, 1)])),
                ("processes", processes(data, host: host)),
                ("pressure", pressure(data, host: host)),
            ])
        }
        return envelope(range, hosts: hosts)
    }

    func systemMemory(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: Self.rangeParameters)
        let range = try parameters.timeRange(nowMs: WallClock.nowMs(), retention: settings.retention)
        let data = try await store.series(
            names: [
                "mon_host_memory_total_bytes", "mon_host_memory_used_bytes", "mon_host_memory_available_bytes",
                "mon_host_memory_free_bytes", "mon_host_memory_buffers_bytes", "mon_host_memory_cached_bytes",
                "mon_host_memory_used_ratio", "mon_host_swap_total_bytes", "mon_host_swap_free_bytes",
                "mon_process_cpu_usage_ratio", "mon_process_resident_memory_bytes", "mon_process_processes",
                "mon_process_threads", "mon_process_open_fds",
            ],
            host: try parameters.host(),
            range: range
        )
        let hosts: [JSONValue] = data.hosts.map { host in
            let used = data.first("mon_host_memory_used_bytes", host: host)
            let ratio = data.first("mon_host_memory_used_ratio", host: host)
            let swapTotal = data.first("mon_host_swap_total_bytes", host: host)?.latest
            let swapFree = data.first("mon_host_swap_free_bytes", host: host)?.latest
            return .object([
                ("host", .string(host)),
                ("timestamp", Shape.timestamp([used])),
                (
                    "current",
                    .object([
                        ("total_bytes", Shape.latest(data.first("mon_host_memory_total_bytes", host: host))),
                        ("used_bytes", Shape.latest(used)),
                        ("available_bytes", Shape.latest(data.first("mon_host_memory_available_bytes", host: host))),
                        ("free_bytes", Shape.latest(data.first("mon_host_memory_free_bytes", host: host))),
                        ("buffers_bytes", Shape.latest(data.first("mon_host_memory_buffers_bytes", host: host))),
                        ("cached_bytes", Shape.latest(data.first("mon_host_memory_cached_bytes", host: host))),
                        ("used_percent", Shape.latest(ratio, scale: 100)),
                        ("swap_total_bytes", .number(swapTotal)),
                        ("swap_used_bytes", .number(swapTotal.flatMap { total in swapFree.map { total - $0 } })),
                    ])
                ),
                (
                    "average",
                    .object([
                        ("used_bytes", Shape.average(used)),
                        ("used_percent", Shape.average(ratio, scale: 100)),
                    ])
                ),
                ("series", Shape.points([("used_percent", ratio, 100), ("used_bytes", used, 1)])),
                ("processes", processes(data, host: host)),
            ])
        }
        return envelope(range, hosts: hosts)
    }

    /// Per process group: CPU (100 % = one core), RSS, counts.
    func processes(_ data: [SeriesData], host: String) -> JSONValue {
        let groups = Set(data.all("mon_process_processes", host: host).compactMap { $0.labels["group"] }).sorted()
        return .array(
            groups.map { group in
                let match = ["group": group]
                let cpu = data.first("mon_process_cpu_usage_ratio", host: host, match)
                let rss = data.first("mon_process_resident_memory_bytes", host: host, match)
                return .object([
                    ("group", .string(group)),
                    ("processes", Shape.latest(data.first("mon_process_processes", host: host, match))),
                    ("cpu_percent", Shape.latest(cpu, scale: 100)),
                    ("average_cpu_percent", Shape.average(cpu, scale: 100)),
                    ("rss_bytes", Shape.latest(rss)),
                    ("average_rss_bytes", Shape.average(rss)),
                    ("threads", Shape.latest(data.first("mon_process_threads", host: host, match))),
                    ("open_fds", Shape.latest(data.first("mon_process_open_fds", host: host, match))),
                ])
            }
        )
    }
}
