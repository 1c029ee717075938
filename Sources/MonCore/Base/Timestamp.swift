/// ISO 8601 UTC timestamps (`2026-11-29T05:00:00Z`, milliseconds when not whole).
public enum Timestamp {
    public static func iso8601(ms: Int64) -> String {
        let day = DayPartition(timestampMs: ms)
        let (y, mo, d) = day.date
        let inDay = ms - day.day * DayPartition.millisecondsPerDay
        let seconds = inDay / 1000
        let millis = inDay % 1000
        var text = "\(y.padded4)-\((mo).padded2)-\((d).padded2)T"
        text += "\((seconds / 3600).padded2):\((seconds / 60 % 60).padded2):\((seconds % 60).padded2)"
        if millis != 0 {
            let m = "\(millis)"
            text += "." + String(repeating: "0", count: 3 - m.count) + m
        }
        return text + "Z"
    }
}
