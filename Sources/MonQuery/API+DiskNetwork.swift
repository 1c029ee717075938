import Hummingbird
import MonCore
import MonQueryKit

extension API {
    func systemDisk(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: Self.rangeParameters)
        let range = try parameters.timeRange(nowMs: WallClock.nowMs(), retention: settings.retention)
        let data = try await store.series(
            names: [
                "mon_host_disk_read_bytes_per_second", "mon_host_disk_write_bytes_per_second", "mon_host_disk_iops",
                "mon_host_disk_utilization_ratio", "mon_host_filesystem_size_bytes", "mon_host_filesystem_free_bytes",
                "mon_host_filesystem_avail_bytes", "mon_host_filesystem_used_ratio",
            ],
            host: try parameters.host(),
            range: range
        )
        let hosts: [JSONValue] = data.hosts.map { host in
            let devices = Set(data.all("mon_host_disk_iops", host: host).compactMap { $0.labels["device"] }).sorted()
            let mounts = data.all("mon_host_filesystem_size_bytes", host: host)
                .sorted { ($0.labels["mountpoint"] ?? "") < ($1.labels["mountpoint"] ?? "") }
            return .object([
                ("host", .string(host)),
                (
                    "devices",
                    .array(
                        devices.map { device in
                            let match = ["device": device]
                            let read = data.first("mon_host_disk_read_bytes_per_second", host: host, match)
                            let write = data.first("mon_host_disk_write_bytes_per_second", host: host, match)
                            let iops = data.first("mon_host_disk_iops", host: host, match)
                            let util = data.first("mon_host_disk_utilization_ratio", host: host, match)
                            return .object([
                                ("device", .string(device)),
                                ("timestamp", Shape.timestamp([iops])),
                                (
                                    "current",
                                    .object([
                                        ("read_bytes_per_second", Shape.latest(read)),
                                        ("write_bytes_per_second", Shape.latest(write)),
                                        ("iops", Shape.latest(iops)),
                                        ("utilization_percent", Shape.latest(util, scale: 100)),
                                    ])
                                ),
                                (
                                    "average",
                                    .object([
                                        ("read_bytes_per_second", Shape.average(read)),
                                        ("write_bytes_per_second", Shape.average(write)),
                                        ("iops", Shape.average(iops)),
                                        ("utilization_percent", Shape.average(util, scale: 100)),
                                    ])
                                ),
                                (
                                    "series",
                                    Shape.points([
                                        ("read_bytes_per_second", read, 1), ("write_bytes_per_second", write, 1),
                                        ("utilization_percent", util, 100),
                                    ])
                                ),
                            ])
                        }
                    )
                ),
                (
                    "filesystems",
                    .array(
                        mounts.map { size in
                            let match = ["mountpoint": size.labels["mountpoint"] ?? ""]
                            let free = data.first("mon_host_filesystem_free_bytes", host: host, match)?.latest
                            let ratio = data.first("mon_host_filesystem_used_ratio", host: host, match)
                            return .object([
                                ("mountpoint", .string(size.labels["mountpoint"] ?? "")),
                                ("device", .string(size.labels["device"] ?? "")),
                                ("fstype", .string(size.labels["fstype"] ?? "")),
                                ("size_bytes", Shape.latest(size)),
                                ("used_bytes", .number(size.latest.flatMap { total in free.map { total - $0 } })),
                                (
                                    "avail_bytes",
                                    Shape.latest(data.first("mon_host_filesystem_avail_bytes", host: host, match))
                                ),
                                ("used_percent", Shape.latest(ratio, scale: 100)),
                                ("average_used_percent", Shape.average(ratio, scale: 100)),
                            ])
                        }
                    )
                ),
            ])
        }
        return envelope(range, hosts: hosts)
    }

    func systemNetwork(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(request, allowed: Self.rangeParameters)
        let range = try parameters.timeRange(nowMs: WallClock.nowMs(), retention: settings.retention)
        let data = try await store.series(
            names: [
                "mon_host_network_receive_bytes_per_second", "mon_host_network_transmit_bytes_per_second",
                "mon_host_network_receive_errors_total", "mon_host_network_transmit_errors_total",
                "mon_host_network_receive_drop_total", "mon_host_network_transmit_drop_total", "mon_host_sockets",
                "mon_host_sockets_used",
            ],
            host: try parameters.host(),
            range: range
        )
        let hosts: [JSONValue] = data.hosts.map { host in
            let interfaces = Set(
                data.all("mon_host_network_receive_bytes_per_second", host: host).compactMap { $0.labels["interface"] }
            ).sorted()
            let sockets = data.all("mon_host_sockets", host: host)
                .sorted {
                    ($0.labels["protocol"] ?? "", $0.labels["state"] ?? "") < (
                        $1.labels["protocol"] ?? "", $1.labels["state"] ?? ""
                    )
                }
            return .object([
                ("host", .string(host)),
                (
                    "interfaces",
                    .array(
                        interfaces.map { name in
                            let match = ["interface": name]
                            let rx = data.first("mon_host_network_receive_bytes_per_second", host: host, match)
                            let tx = data.first("mon_host_network_transmit_bytes_per_second", host: host, match)
                            return .object([
                                ("interface", .string(name)),
                                ("timestamp", Shape.timestamp([rx])),
                                (
                                    "current",
                                    .object([
                                        ("receive_bytes_per_second", Shape.latest(rx)),
                                        ("transmit_bytes_per_second", Shape.latest(tx)),
                                        (
                                            "receive_errors_total",
                                            Shape.latest(
                                                data.first("mon_host_network_receive_errors_total", host: host, match))
                                        ),
                                        (
                                            "transmit_errors_total",
                                            Shape.latest(
                                                data.first("mon_host_network_transmit_errors_total", host: host, match))
                                        ),
                                        (
                                            "receive_drops_total",
                                            Shape.latest(
                                                data.first("mon_host_network_receive_drop_total", host: host, match))
                                        ),
                                        (
                                            "transmit_drops_total",
                                            Shape.latest(
                                                data.first("mon_host_network_transmit_drop_total", host: host, match))
                                        ),
                                    ])
                                ),
                                (
                                    "average",
                                    .object([
                                        ("receive_bytes_per_second", Shape.average(rx)),
                                        ("transmit_bytes_per_second", Shape.average(tx)),
                                    ])
                                ),
                                (
                                    "series",
                                    Shape.points([
                                        ("receive_bytes_per_second", rx, 1), ("transmit_bytes_per_second", tx, 1),
                                    ])
                                ),
                            ])
                        }
                    )
                ),
                (
                    "sockets",
                    .object(
                        [("used", Shape.latest(data.first("mon_host_sockets_used", host: host)))]
                            + sockets.map {
                                ("\($0.labels["protocol"] ?? "")_\($0.labels["state"] ?? "")", Shape.latest($0))
                            }
                    )
                ),
            ])
        }
        return envelope(range, hosts: hosts)
    }
}
