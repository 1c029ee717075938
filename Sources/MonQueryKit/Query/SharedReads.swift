import MonCore
import Synchronization

/// Reads of the last `windowSeconds` shared while young, by key and window (`FleetReads`
/// says for how long).
final class SharedReads<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    struct SlotKey: Hashable {
        var key: Key
        var windowSeconds: Int64
    }

    private struct Slot {
        var latest: (value: Value, startedMs: Int64, tookMs: Int64)?
        var inFlight: (startedMs: Int64, task: Task<Value, any Error>)?
    }

    let minAgeMs: Int64
    let maxAgeMs: Int64
    private let slots = Mutex<[SlotKey: Slot]>([:])
    private let readCount = Atomic<Int>(0)

    init(minAgeMs: Int64, maxAgeMs: Int64) {
        self.minAgeMs = minAgeMs
        self.maxAgeMs = max(minAgeMs, maxAgeMs)
    }

    var reads: Int { readCount.load(ordering: .relaxed) }

    /// How long a read of a `windowSeconds` window that took `tookMs` is reused.
    func ageMs(tookMs: Int64?, windowSeconds: Int64) -> Int64 {
        let bound = max(maxAgeMs, windowSeconds.multipliedReportingOverflow(by: 1000).partialValue / 120)
        guard let tookMs else { return minAgeMs }
        let scaled = tookMs.multipliedReportingOverflow(by: 10)
        return min(bound, max(minAgeMs, scaled.overflow ? .max : scaled.partialValue))
    }

    func value(
        _ key: Key, windowSeconds: Int64, nowMs: Int64, read: @escaping @Sendable (TimeRange) async throws -> Value
    ) async throws -> Value {
        let slotKey = SlotKey(key: key, windowSeconds: windowSeconds)
        let next = try slots.withLock { slots -> Next<Value, Task<Value, any Error>> in
            var slot = slots[slotKey] ?? Slot()
            let age = ageMs(tookMs: slot.latest?.tookMs, windowSeconds: windowSeconds)
            func young(_ startedMs: Int64) -> Bool { nowMs >= startedMs && nowMs - startedMs < age }
            if let latest = slot.latest, young(latest.startedMs) { return .ready(latest.value) }
            if let inFlight = slot.inFlight, young(inFlight.startedMs) { return .wait(inFlight.task) }
            let range = try TimeRange(period: "\(windowSeconds)s", step: nil, nowMs: nowMs)
            let task = Task { [self] in try await run(slotKey, range: range, startedMs: nowMs, read: read) }
            slot.inFlight = (nowMs, task)
            slots[slotKey] = slot
            readCount.add(1, ordering: .relaxed)
            return .wait(task)
        }
        switch next {
        case .ready(let value): return value
        case .wait(let task): return try await task.value
        }
    }

    private enum Next<Ready, Waiting> {
        case ready(Ready)
        case wait(Waiting)
    }

    private func run(
        _ slotKey: SlotKey, range: TimeRange, startedMs: Int64, read: @Sendable (TimeRange) async throws -> Value
    ) async throws -> Value {
        let clock = ContinuousClock()
        let started = clock.now
        do {
            let value = try await read(range)
            let took = started.duration(to: clock.now)
            let tookMs = took.components.seconds * 1000 + took.components.attoseconds / 1_000_000_000_000_000
            slots.withLock { slots in
                var slot = slots[slotKey] ?? Slot()
                if slot.inFlight?.startedMs == startedMs { slot.inFlight = nil }
                if (slot.latest?.startedMs ?? .min) <= startedMs { slot.latest = (value, startedMs, tookMs) }
                slots[slotKey] = slot
            }
            return value
        } catch {
            slots.withLock { slots in
                if slots[slotKey]?.inFlight?.startedMs == startedMs { slots[slotKey]?.inFlight = nil }
            }
            throw error
        }
    }
}
