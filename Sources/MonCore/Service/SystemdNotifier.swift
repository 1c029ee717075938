import Glibc
import Logging
import ServiceLifecycle

/// systemd's notification protocol (`sd_notify(3)`): datagrams like `READY=1`,
/// `STATUS=...`, `WATCHDOG=1` sent to `$NOTIFY_SOCKET`, for `Type=notify` units with
/// `WatchdogSec=`. Without `$NOTIFY_SOCKET` (not under systemd) every call does nothing.
public struct SystemdNotifier: Sendable {
    /// `$NOTIFY_SOCKET`: a path, or `@name` in the abstract namespace.
    public let socketPath: String?
    /// Half of `$WATCHDOG_USEC` (when `$WATCHDOG_PID` is unset or names this process).
    public let watchdogInterval: Duration?

    public init(environment: [String: String]) {
        let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketPath = path
        if path != nil, let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0,
            environment["WATCHDOG_PID"].map({ pid_t($0) == getpid() }) ?? true
        {
            watchdogInterval = .microseconds(Int64(usec / 2))
        } else {
            watchdogInterval = nil
        }
    }

    public var isEnabled: Bool { socketPath != nil }

    /// Sends `state` (newline-separated `KEY=VALUE` lines); false when it could not be sent.
    /// Never blocks (`MSG_DONTWAIT`, like `sd_notify`): a full socket loses the message.
    @discardableResult
    public func notify(_ state: String) -> Bool {
        guard let socketPath else { return false }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        let length = socklen_t(
            MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + pathBytes.count + (pathBytes.first == 0 ? 0 : 1))
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes {
                    sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT), socketAddress, length)
                }
            }
        }
        return sent == bytes.count
    }
}

/// Sends `WATCHDOG=1` every half `WatchdogSec` while the process's concurrency runtime is
/// alive (a wedged process stops pinging and systemd restarts it), and `STOPPING=1` on
/// graceful shutdown. With `readyStatus`, it also sends `READY=1` and that status when it
/// starts (the agent is ready once its services run; monquery sends `READY=1` itself once
/// the HTTP server listens).
public struct WatchdogService: Service {
    let notifier: SystemdNotifier
    let readyStatus: String?

    public init(notifier: SystemdNotifier, readyStatus: String? = nil) {
        self.notifier = notifier
        self.readyStatus = readyStatus
    }

    public func run() async throws {
        if let readyStatus { notifier.notify("READY=1\nSTATUS=\(readyStatus)") }
        guard let interval = notifier.watchdogInterval else {
            try? await gracefulShutdown()
            if notifier.isEnabled { notifier.notify("STOPPING=1") }
            return
        }
        try? await PeriodicService(
            name: "watchdog", schedule: .every(interval), logger: Logger(label: "systemd")
        ) { [notifier] _ in
            notifier.notify("WATCHDOG=1")
            return .next
        }.run()
        notifier.notify("STOPPING=1")
    }
}
