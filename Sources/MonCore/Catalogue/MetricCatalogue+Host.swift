extension MetricCatalogue {
    /// /proc collectors: CPU, load, pressure, memory, disks, file systems, network.
    static let host: [MetricDescriptor] = [
        .counter(
            "mon_host_cpu_seconds_total", labels: ["cpu", "mode"],
            "CPU time by mode from /proc/stat (`cpu=\"all\"` for the sum, else the CPU number)."),
        .gauge(
            "mon_host_cpu_usage_ratio", labels: ["cpu"],
            "Share of CPU time busy since the previous cycle: 1 - Δ(idle+iowait)/Δtotal (0…1)."),
        .gauge("mon_host_cpu_cores", "Online CPUs."),
        .gauge("mon_host_load1", "1-minute load average (/proc/loadavg)."),
        .gauge("mon_host_load5", "5-minute load average (/proc/loadavg)."),
        .gauge("mon_host_load15", "15-minute load average (/proc/loadavg)."),
        .counter("mon_host_context_switches_total", "Context switches since boot (/proc/stat ctxt)."),
        .counter("mon_host_forks_total", "Processes and threads created since boot (/proc/stat processes)."),
        .gauge("mon_host_boot_time_seconds", "Boot time, seconds since the Unix epoch."),
        .gauge("mon_host_processes_running", "Runnable processes (/proc/stat procs_running)."),
        .gauge("mon_host_processes_blocked", "Processes blocked on I/O (/proc/stat procs_blocked)."),
        .counter(
            "mon_host_pressure_stalled_seconds_total", labels: ["resource", "kind"],
            "Linux PSI: time tasks stalled on the resource (cpu, memory, io), kind some or full."),
        .gauge(
            "mon_host_pressure_ratio", labels: ["resource", "kind"],
            "Linux PSI: share of the last 10 s tasks stalled on the resource (avg10 / 100)."),
        .gauge(
            "mon_host_pressure_avg60_ratio", labels: ["resource", "kind"],
            "Linux PSI: share of the last 60 s tasks stalled on the resource (avg60 / 100)."),
        .gauge(
            "mon_host_pressure_avg300_ratio", labels: ["resource", "kind"],
            "Linux PSI: share of the last 300 s tasks stalled on the resource (avg300 / 100)."),
        .gauge("mon_host_memory_total_bytes", "Physical memory (MemTotal)."),
        .gauge("mon_host_memory_available_bytes", "Memory available for new work without swapping (MemAvailable)."),
        .gauge("mon_host_memory_used_bytes", "Memory in use: MemTotal - MemAvailable."),
        .gauge("mon_host_memory_free_bytes", "Unused memory (MemFree)."),
        .gauge("mon_host_memory_buffers_bytes", "Block device buffers (Buffers)."),
        .gauge("mon_host_memory_cached_bytes", "Page cache (Cached)."),
        .gauge("mon_host_memory_used_ratio", "Memory in use / MemTotal (0…1)."),
        .gauge("mon_host_swap_total_bytes", "Swap space (SwapTotal)."),
        .gauge("mon_host_swap_free_bytes", "Unused swap space (SwapFree)."),
        .counter("mon_host_disk_read_bytes_total", labels: ["device"], "Bytes read from the device since boot."),
        .counter("mon_host_disk_written_bytes_total", labels: ["device"], "Bytes written to the device since boot."),
        .counter("mon_host_disk_reads_completed_total", labels: ["device"], "Reads completed since boot."),
        .counter("mon_host_disk_writes_completed_total", labels: ["device"], "Writes completed since boot."),
        .counter(
            "mon_host_disk_io_time_seconds_total", labels: ["device"], "Time the device had I/O in progress."),
        .gauge(
            "mon_host_disk_read_bytes_per_second", labels: ["device"], "Bytes read per second since the previous cycle."
        ),
        .gauge(
            "mon_host_disk_write_bytes_per_second", labels: ["device"],
            "Bytes written per second since the previous cycle."),
        .gauge("mon_host_disk_iops", labels: ["device"], "Reads plus writes completed per second."),
        .gauge(
            "mon_host_disk_utilization_ratio", labels: ["device"],
            "Share of wall time the device was busy since the previous cycle (0…1)."),
        .gauge(
            "mon_host_filesystem_size_bytes", labels: ["mountpoint", "device", "fstype"], "File system size (statvfs)."),
        .gauge(
            "mon_host_filesystem_free_bytes", labels: ["mountpoint", "device", "fstype"],
            "Free space, including blocks reserved for root."),
        .gauge(
            "mon_host_filesystem_avail_bytes", labels: ["mountpoint", "device", "fstype"],
            "Space available to unprivileged users."),
        .gauge(
            "mon_host_filesystem_used_ratio", labels: ["mountpoint", "device", "fstype"],
            "Used / (used + available), as df's Use% (0…1)."),
        .counter(
            "mon_host_network_receive_bytes_total", labels: ["interface"], "Bytes received by the interface."),
        .counter(
            "mon_host_network_transmit_bytes_total", labels: ["interface"], "Bytes sent by the interface."),
        .counter(
            "mon_host_network_receive_packets_total", labels: ["interface"], "Packets received by the interface."),
        .counter(
            "mon_host_network_transmit_packets_total", labels: ["interface"], "Packets sent by the interface."),
        .counter("mon_host_network_receive_errors_total", labels: ["interface"], "Receive errors."),
        .counter("mon_host_network_transmit_errors_total", labels: ["interface"], "Transmit errors."),
        .counter("mon_host_network_receive_drop_total", labels: ["interface"], "Received packets dropped."),
        .counter("mon_host_network_transmit_drop_total", labels: ["interface"], "Packets dropped on transmit."),
        .gauge(
            "mon_host_network_receive_bytes_per_second", labels: ["interface"],
            "Bytes received per second since the previous cycle."),
        .gauge(
            "mon_host_network_transmit_bytes_per_second", labels: ["interface"],
            "Bytes sent per second since the previous cycle."),
        .gauge("mon_host_sockets_used", "Sockets in use, all protocols (/proc/net/sockstat)."),
        .gauge(
            "mon_host_sockets", labels: ["protocol", "state"],
            "Sockets by protocol and state (tcp inuse/orphan/tw/alloc, udp inuse)."),
    ]

    /// Configured process groups (`processes:` in the agent config).
    static let process: [MetricDescriptor] = [
        .gauge("mon_process_processes", labels: ["group"], "Live processes matching the group (0 when none)."),
        .gauge("mon_process_threads", labels: ["group"], "Threads of the group's processes."),
        .gauge("mon_process_open_fds", labels: ["group"], "Open file descriptors of the group's processes."),
        .counter(
            "mon_process_cpu_seconds_total", labels: ["group"],
            "User + system CPU time of the group's live processes (drops when a member exits)."),
        .gauge(
            "mon_process_cpu_usage_ratio", labels: ["group"],
            "CPU seconds used by the group per wall second since the previous cycle (1 = one core)."),
        .gauge("mon_process_resident_memory_bytes", labels: ["group"], "Resident memory of the group's processes."),
    ]
}
