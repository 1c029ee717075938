import Foundation

/// The wall clock in Unix milliseconds (`CLOCK_REALTIME`): sample and batch timestamps.
public enum WallClock {
    public static func nowMs() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
