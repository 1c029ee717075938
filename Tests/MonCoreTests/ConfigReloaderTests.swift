import Logging
import MonCore
import Synchronization
import Testing

/// `ConfigReloader`: validate and prepare first, apply only then; a refusal keeps the running
/// configuration and counts; `ConfigChanges` sorts changed keys into applied and restart.
@Suite struct ConfigReloaderTests {
    struct Settings: Sendable, Equatable {
        var threshold: Int
        var listen: String
    }

    final class Source: Sendable {
        let next = Mutex<Result<Settings, ConfigError>>(.success(Settings(threshold: 1, listen: "a")))
        let applied = Mutex<[Int]>([])

        func reloader(stats: ConfigReloadStats) -> ConfigReloader<Settings> {
            ConfigReloader(
                running: Settings(threshold: 1, listen: "a"), stats: stats, logger: Logger(label: "test"),
                load: { try self.next.withLock { $0 }.get() },
                plan: { running, new in
                    var changes = ConfigChanges()
                    changes.compare("threshold", running.threshold, new.threshold, reloadable: true)
                    changes.restart("listen", running.listen, new.listen)
                    var effective = running
                    effective.threshold = new.threshold
                    let threshold = new.threshold
                    return .init(changes: changes, effective: effective) {
                        self.applied.withLock { $0.append(threshold) }
                    }
                })
        }
    }

    @Test("changes: equal values are not recorded; others go to applied or needs-restart")
    func changes() {
        var changes = ConfigChanges()
        changes.compare("same", 1, 1, reloadable: true)
        #expect(changes.isEmpty)
        changes.compare("a", 1, 2, reloadable: true)
        changes.restart("b", "x", "y")
        changes.apply("a")
        changes.apply("c")
        #expect(changes.applied == ["a", "c"])
        #expect(changes.needsRestart == ["b"])
    }

    @Test("a valid new configuration is applied, counted, and kept as the running one")
    func applied() async throws {
        let source = Source()
        let stats = ConfigReloadStats(startedMs: 1)
        let reloader = source.reloader(stats: stats)
        source.next.withLock { $0 = .success(Settings(threshold: 5, listen: "b")) }
        guard case .applied(let changes) = await reloader.reload(nowMs: 42_000) else {
            Issue.record("refused")
            return
        }
        #expect(changes.applied == ["threshold"] && changes.needsRestart == ["listen"])
        #expect(source.applied.withLock { $0 } == [5])
        #expect(reloader.current == Settings(threshold: 5, listen: "a"), "listen keeps its running value")
        #expect(stats.successes == 1 && stats.failures == 0 && stats.lastSuccessMs == 42_000)
    }

    @Test("an invalid new configuration is refused: nothing applied, the running one kept, counted")
    func refused() async throws {
        let source = Source()
        let stats = ConfigReloadStats(startedMs: 7)
        let reloader = source.reloader(stats: stats)
        source.next.withLock { $0 = .failure(ConfigError(key: "alerts", message: "invalid rule")) }
        guard case .refused(let error) = await reloader.reload(nowMs: 42_000) else {
            Issue.record("applied")
            return
        }
        #expect("\(error)".contains("configuration key 'alerts'"))
        #expect(source.applied.withLock { $0 }.isEmpty)
        #expect(reloader.current == Settings(threshold: 1, listen: "a"))
        #expect(stats.successes == 0 && stats.failures == 1 && stats.lastSuccessMs == 7)
    }
}
