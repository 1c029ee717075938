import MonCore

/// The `filesystem_hours_to_full` signal: hours until a file system's available space
/// (`mon_host_filesystem_avail_bytes`, what df's Use% and non-root writers see) reaches 0 at
/// the rate of the rule's window. A least-squares line (`TrendDetector`) through the window's
/// points must fall, over at least `detector.minimumPoints` points with r² of at least
/// `detector.minimumR2`; the hours are the latest available bytes over the fitted loss per
/// hour. Pure; no I/O.
public enum FilesystemForecast {
    /// Any steady fall counts (a disk losing 1 % of its free space an hour is full in 4 days),
    /// but the line must explain most of the movement: a noisy window forecasts nothing.
    public static let detector = TrendDetector(minimumChangePercent: 0, minimumR2: 0.8, minimumPoints: 5)

    /// What the signal reads for a file system with enough points but no forecast (flat,
    /// shrinking or noisy usage), and the cap of every forecast: a year. A firing alert needs a
    /// value on the good side to resolve; "no value" would keep it firing (no data is not
    /// recovery).
    public static let notFillingHours: Double = 8760

    /// Hours until the available bytes reach 0 at the fitted rate; nil when they do not fall
    /// steadily (flat, rising, noisy), with fewer than `detector.minimumPoints` finite points,
    /// or when the numbers are not finite or negative.
    public static func hoursToFull(_ samples: [(ms: Int64, value: Double)]) -> Double? {
        guard let verdict = detector.evaluate(samples), verdict.flagged, verdict.direction == .falling,
            verdict.fit.slopePerHour.isFinite,
            let latest = samples.filter({ $0.value.isFinite }).max(by: { $0.ms < $1.ms })?.value, latest >= 0
        else { return nil }
        let hours = latest / -verdict.fit.slopePerHour
        return hours.isFinite ? hours : nil
    }

    /// The signal's value for one file system: the forecast capped at `notFillingHours`, that
    /// cap when there is no forecast, nil with too few finite points to judge.
    public static func reading(_ samples: [(ms: Int64, value: Double)]) -> Double? {
        guard samples.lazy.filter({ $0.value.isFinite }).count >= detector.minimumPoints else { return nil }
        return min(hoursToFull(samples) ?? notFillingHours, notFillingHours)
    }
}
