import Foundation
import MonAgentKit
import MonCore
import MonQueryKit

/// Deterministic pseudo-random numbers (SplitMix64): every run builds the same series
/// with the same values, so the rendered text (and its size) is the same from run to run.
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }

    /// Standard normal (Box-Muller).
    mutating func gaussian() -> Double {
        let u = max(unit(), 1e-12)
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * unit())
    }
}

/// One kind of series the agent sends, with an instance number `k` in one of its label
/// values so that it can be repeated as often as the benchmark needs distinct series.
struct Template: Sendable {
    enum ValueShape: Sendable {
        /// 0…1 with all 16-17 digits (`0.2797781736814991`), like the agent's ratios.
        case ratio
        /// Whole bytes, 10^6…10^12.
        case bytes
        /// Small whole numbers (connections, fds, keys).
        case count
        /// Cumulative seconds with two decimals (`30630.61`).
        case secondsTotal
        /// A rate with all digits (`20324152.19512195`).
        case rate
        /// A large whole counter.
        case total
    }

    var name: String
    var kind: MetricKind
    var shape: ValueShape
    var labels: @Sendable (Int) -> [String: String]

    func value(_ rng: inout SplitMix64) -> Double {
        switch shape {
        case .ratio: return rng.unit()
        case .bytes: return (1e6 * pow(1e6, rng.unit())).rounded()
        case .count: return Double(rng.next() % 500)
        case .secondsTotal: return (rng.unit() * 5e6).rounded() / 100
        case .rate: return rng.unit() * 5e7
        case .total: return Double(rng.next() % 10_000_000_000)
        }
    }
}

/// Series shaped like what monagent ships (names and label sets of
/// Sources/MonCore/Collectors and AppSignals; `monagent once` shows them), spread over a
/// few hosts. Every series has 1–3 labels besides `host`; 1 % are request-duration
/// histograms.
struct SeriesSet {
    static let histogramName = "mon_app_request_duration_seconds"

    static let templates: [Template] = [
        Template(name: "mon_host_cpu_seconds_total", kind: .counter, shape: .secondsTotal) {
            ["cpu": "\($0)", "mode": "user"]
        },
        Template(name: "mon_host_cpu_seconds_total", kind: .counter, shape: .secondsTotal) {
            ["cpu": "\($0)", "mode": "system"]
        },
        Template(name: "mon_host_cpu_seconds_total", kind: .counter, shape: .secondsTotal) {
            ["cpu": "\($0)", "mode": "iowait"]
        },
        Template(name: "mon_host_cpu_seconds_total", kind: .counter, shape: .secondsTotal) {
            ["cpu": "\($0)", "mode": "idle"]
        },
        Template(name: "mon_host_cpu_usage_ratio", kind: .gauge, shape: .ratio) { ["cpu": "\($0)"] },
        Template(name: "mon_host_disk_read_bytes_total", kind: .counter, shape: .total) { ["device": "nvme\($0)n1"] },
        Template(name: "mon_host_disk_written_bytes_total", kind: .counter, shape: .total) {
            ["device": "nvme\($0)n1"]
        },
        Template(name: "mon_host_disk_io_time_seconds_total", kind: .counter, shape: .secondsTotal) {
            ["device": "nvme\($0)n1"]
        },
        Template(name: "mon_host_disk_read_bytes_per_second", kind: .gauge, shape: .rate) {
            ["device": "nvme\($0)n1"]
        },
        Template(name: "mon_host_disk_utilization_ratio", kind: .gauge, shape: .ratio) { ["device": "nvme\($0)n1"] },
        Template(name: "mon_host_filesystem_size_bytes", kind: .gauge, shape: .bytes) {
            ["device": "/dev/nvme\($0)n1p1", "fstype": "ext4", "mountpoint": "/srv/data\($0)"]
        },
        Template(name: "mon_host_filesystem_avail_bytes", kind: .gauge, shape: .bytes) {
            ["device": "/dev/nvme\($0)n1p1", "fstype": "ext4", "mountpoint": "/srv/data\($0)"]
        },
        Template(name: "mon_host_filesystem_used_ratio", kind: .gauge, shape: .ratio) {
            ["device": "/dev/nvme\($0)n1p1", "fstype": "ext4", "mountpoint": "/srv/data\($0)"]
        },
        Template(name: "mon_host_network_receive_bytes_total", kind: .counter, shape: .total) {
            ["interface": "eth\($0)"]
        },
        Template(name: "mon_host_network_transmit_bytes_total", kind: .counter, shape: .total) {
            ["interface": "eth\($0)"]
        },
        Template(name: "mon_host_network_receive_bytes_per_second", kind: .gauge, shape: .rate) {
            ["interface": "eth\($0)"]
        },
        Template(name: "mon_host_network_receive_drop_total", kind: .counter, shape: .count) {
            ["interface": "eth\($0)"]
        },
        Template(name: "mon_process_cpu_seconds_total", kind: .counter, shape: .secondsTotal) {
            ["group": "worker-\($0)"]
        },
        Template(name: "mon_process_resident_memory_bytes", kind: .gauge, shape: .bytes) { ["group": "worker-\($0)"] },
        Template(name: "mon_process_cpu_usage_ratio", kind: .gauge, shape: .ratio) { ["group": "worker-\($0)"] },
        Template(name: "mon_process_open_fds", kind: .gauge, shape: .count) { ["group": "worker-\($0)"] },
        Template(name: "mon_postgres_connections", kind: .gauge, shape: .count) {
            ["database": "mnemo_\($0)", "state": "active"]
        },
        Template(name: "mon_postgres_connections", kind: .gauge, shape: .count) {
            ["database": "mnemo_\($0)", "state": "idle"]
        },
        Template(name: "mon_postgres_xact_commit_total", kind: .counter, shape: .total) { ["database": "mnemo_\($0)"] },
        Template(name: "mon_postgres_blocks_hit_total", kind: .counter, shape: .total) { ["database": "mnemo_\($0)"] },
        Template(name: "mon_postgres_database_size_bytes", kind: .gauge, shape: .bytes) {
            ["database": "mnemo_\($0)"]
        },
        Template(name: "mon_redis_db_keys", kind: .gauge, shape: .count) { ["db": "\($0)"] },
        Template(name: "mon_redis_cache_keys", kind: .gauge, shape: .count) { ["type": "embedding_\($0)"] },
        Template(name: "app_cache_hit_total", kind: .counter, shape: .total) { ["cache_type": "embedding_\($0)"] },
        Template(name: "app_http_requests_total", kind: .counter, shape: .total) {
            ["endpoint": "/v1/memories/\($0)", "method": "GET", "status": "200"]
        },
    ]

    struct HostPart {
        var samples: [Sample] = []
        var histograms: [HistogramSample] = []
    }

    let hosts: [String]
    /// Indexed like `hosts`.
    var parts: [HostPart]
    var sampleCount: Int { parts.reduce(0) { $0 + $1.samples.count } }
    var histogramCount: Int { parts.reduce(0) { $0 + $1.histograms.count } }

    /// `series` distinct series over `hostCount` hosts, all stamped `timestampMs`: every
    /// 100th is a request-duration histogram of `observations` values, the others cycle
    /// through `templates` and the hosts.
    init(series: Int, hostCount: Int, observations: Int, seed: UInt64, timestampMs: Int64) {
        hosts = (1...max(hostCount, 1)).map { String(format: "mnemo-app-%02d", $0) }
        parts = Array(repeating: HostPart(), count: hosts.count)
        var rng = SplitMix64(state: seed)
        var plain = 0
        var histograms = 0
        let templates = Self.templates
        for index in 0..<series {
            if index % 100 == 99 {
                let host = histograms % hosts.count
                let k = histograms / hosts.count
                var histogram = Histogram()
                for _ in 0..<observations {
                    // Log-normal request durations: median 40 ms, most between 5 ms and 0.3 s.
                    histogram.record(min(0.04 * exp(1.0 * rng.gaussian()), 120))
                }
                let labels = Labels([
                    "endpoint": "/v1/memories/\(k)/search", "method": k % 3 == 0 ? "POST" : "GET", "status": "200",
                ])
                parts[host].histograms.append(
                    HistogramSample(Self.histogramName, labels, timestampMs: timestampMs, histogram: histogram))
                histograms += 1
            } else {
                let template = templates[plain % templates.count]
                let rest = plain / templates.count
                let host = rest % hosts.count
                let k = rest / hosts.count
                parts[host].samples.append(
                    Sample(
                        template.name, Labels(template.labels(k)), value: template.value(&rng), kind: template.kind,
                        timestampMs: timestampMs))
                plain += 1
            }
        }
    }
}
