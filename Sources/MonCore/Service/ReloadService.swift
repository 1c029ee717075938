import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the configuration on each SIGHUP (`systemctl reload`, the units' `ExecReload=`)
/// until graceful shutdown. The signal is trapped when the service is made, before the
/// program serves, so a SIGHUP from then on never ends the program (its default action).
public struct ReloadService: Service {
    private let hangups: UnixSignalsSequence
    private let reload: @Sendable () async -> Void

    public init(reload: @escaping @Sendable () async -> Void) async {
        hangups = await UnixSignalsSequence(trapping: .sighup)
        self.reload = reload
    }

    public func run() async throws {
        for await _ in hangups.cancelOnGracefulShutdown() {
            await reload()
        }
    }
}
