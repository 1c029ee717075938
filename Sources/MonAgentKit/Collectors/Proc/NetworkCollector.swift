import MonCore

/// Interface traffic from `net/dev` and socket counts from `net/sockstat`.
///
/// Counters `mon_host_network_{receive,transmit}_{bytes,packets,errors,drop}_total{interface}`;
/// from the second cycle on, `mon_host_network_{receive,transmit}_bytes_per_second{interface}`.
/// When `net/sockstat` exists: `mon_host_sockets_used`,
/// `mon_host_sockets{protocol="tcp",state="inuse|orphan|tw|alloc"}`, `mon_host_sockets{protocol="udp",state="inuse"}`.
public final class NetworkCollector: Collector {
    public let name = "network"
    public let procFS: ProcFS
    /// Interfaces never reported (default `lo`).
    public let ignoredInterfaces: Set<String>

    private var rates = CounterRates()
    private let devFile: ProcFile
    private let sockstatFile: ProcFile

    public init(procFS: ProcFS = ProcFS(), ignoredInterfaces: Set<String> = ["lo"]) {
        self.procFS = procFS
        self.ignoredInterfaces = ignoredInterfaces
        devFile = procFS.file("net/dev")
        sockstatFile = procFS.file("net/sockstat")
    }

    public func collect(timestampMs: Int64) throws -> [Sample] {
        let interfaces = try devFile.withBytes { try NetDevParser.parse($0) }.filter {
            !ignoredInterfaces.contains($0.interface)
        }
        var samples: [Sample] = []
        samples.reserveCapacity(interfaces.count * 10 + 6)
        for stats in interfaces {
            let labels: Labels = ["interface": stats.interface]
            let counters: [(String, UInt64)] = [
                ("mon_host_network_receive_bytes_total", stats.receiveBytes),
                ("mon_host_network_transmit_bytes_total", stats.transmitBytes),
                ("mon_host_network_receive_packets_total", stats.receivePackets),
                ("mon_host_network_transmit_packets_total", stats.transmitPackets),
                ("mon_host_network_receive_errors_total", stats.receiveErrors),
                ("mon_host_network_transmit_errors_total", stats.transmitErrors),
                ("mon_host_network_receive_drop_total", stats.receiveDrop),
                ("mon_host_network_transmit_drop_total", stats.transmitDrop),
            ]
            for (metric, value) in counters {
                samples.append(Sample(metric, labels, value: Double(value), kind: .counter, timestampMs: timestampMs))
            }
            let key = stats.interface + "|"
            if let rate = rates.rate(key + "rx", value: Double(stats.receiveBytes), timestampMs: timestampMs) {
                samples.append(
                    Sample("mon_host_network_receive_bytes_per_second", labels, value: rate, timestampMs: timestampMs))
            }
            if let rate = rates.rate(key + "tx", value: Double(stats.transmitBytes), timestampMs: timestampMs) {
                samples.append(
                    Sample("mon_host_network_transmit_bytes_per_second", labels, value: rate, timestampMs: timestampMs))
            }
        }
        rates.endCycle()

        if let sockets = try sockstatFile.withBytesIfPresent({ try SockStatParser.parse($0) }) {
            samples.append(
                Sample("mon_host_sockets_used", value: Double(sockets.socketsUsed), timestampMs: timestampMs))
            let wanted: [(String, [String: UInt64], [String])] = [
                ("tcp", sockets.tcp, ["inuse", "orphan", "tw", "alloc"]),
                ("udp", sockets.udp, ["inuse"]),
            ]
            for (proto, values, states) in wanted {
                for state in states {
                    guard let value = values[state] else { continue }
                    samples.append(
                        Sample(
                            "mon_host_sockets", ["protocol": proto, "state": state], value: Double(value),
                            timestampMs: timestampMs))
                }
            }
        }
        return samples
    }
}
