import Foundation
import Synchronization

/// A serial executor backed by one dedicated OS thread.
///
/// Actors that drive blocking C clients (libpq, hiredis) use it as their executor,
/// so a blocking call never occupies one of Swift's cooperative threads (as GRDB
/// and NIO's thread pool do). Jobs run in the order they were enqueued.
public final class ThreadExecutor: SerialExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopping = false
    private let pending = Atomic<Int>(0)

    /// Jobs enqueued and not yet finished (the one running included): how busy the thread
    /// is, for a pool that hands work to its least busy member (`QueryStorePool`).
    public var load: Int { pending.load(ordering: .relaxed) }

    /// Starts the thread; `name` shows in `top -H` and debuggers.
    public init(name: String) {
        let thread = Thread { [self] in self.runLoop() }
        thread.name = name
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        pending.add(1, ordering: .relaxed)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Lets the thread finish once the queued jobs have run.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func runLoop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty && stopping {
                condition.unlock()
                return
            }
            let ready = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in ready {
                job.runSynchronously(on: asUnownedSerialExecutor())
                pending.subtract(1, ordering: .relaxed)
            }
        }
    }
}
