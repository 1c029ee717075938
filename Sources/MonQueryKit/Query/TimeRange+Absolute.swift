import MonCore

extension TimeRange {
    /// Shortest and longest range a route answers (relative or absolute alike).
    public struct Limits: Sendable, Equatable {
        public var minimumSeconds: Int64
        public var maximumSeconds: Int64

        public init(minimumSeconds: Int64 = 1, maximumSeconds: Int64 = DurationText.maximumSeconds) {
            self.minimumSeconds = minimumSeconds
            self.maximumSeconds = maximumSeconds
        }

        /// 1s to 400d (the hour rollups' retention).
        public static let standard = Limits()

        var text: String {
            "between \(DurationText.format(seconds: minimumSeconds)) and \(DurationText.format(seconds: maximumSeconds))"
        }
    }

    /// How far after now `to` may be: a client's clock ahead of ours, a picker rounding up.
    public static let maximumAheadMs: Int64 = 3_600_000

    /// The range a request asks for: `period` back from now (under `periodName`, the name it
    /// was given as: `period`, or an alias such as `since`), or the absolute `from` … `to`
    /// (`InstantText`; `to` defaults to now). `from`/`to` with a period, `to` without `from`,
    /// `from` not before `to`, `to` more than `maximumAheadMs` after now and spans outside
    /// `limits` are refused, naming the parameter.
    ///
    /// With `retention`, the step is one the kept data can serve: a range starting before the
    /// oldest raw partition kept gets a default step of whole minutes (the minute rollups),
    /// before the oldest minute partition whole hours, and an explicit finer step is refused.
    public init(
        period: String?, periodName: String = "period", defaultPeriod: String = "1h", from: String?, to: String?,
        step: String?, nowMs: Int64, limits: Limits = .standard, retention: RetentionPolicy? = nil
    ) throws(ParameterError) {
        if from != nil || to != nil {
            if period != nil {
                throw ParameterError(
                    from != nil ? "from" : "to",
                    "cannot be combined with \(periodName): give either \(periodName) (back from now) or from/to")
            }
            guard let from else {
                throw ParameterError("to", "needs from (the range's start); from without to runs until now")
            }
            let fromMs = try InstantText.milliseconds(from, parameter: "from")
            let toMs = try to.map { text throws(ParameterError) in try InstantText.milliseconds(text, parameter: "to") }
            if let toMs, let to {
                guard toMs <= nowMs + Self.maximumAheadMs else {
                    throw ParameterError(
                        "to", "'\(to.prefix(40))' is more than 1h after now (\(Timestamp.iso8601(ms: nowMs)))")
                }
                guard fromMs < toMs else {
                    throw ParameterError("from", "'\(from.prefix(40))' is not before to '\(to.prefix(40))'")
                }
            } else {
                guard fromMs < nowMs else {
                    throw ParameterError(
                        "from", "'\(from.prefix(40))' is not before now (\(Timestamp.iso8601(ms: nowMs))); give to")
                }
            }
            let endMs = toMs ?? nowMs
            let spanSeconds = (endMs - fromMs + 999) / 1000
            guard spanSeconds >= limits.minimumSeconds, spanSeconds <= limits.maximumSeconds else {
                throw ParameterError(
                    "from",
                    "the range \(Timestamp.iso8601(ms: fromMs)) to \(Timestamp.iso8601(ms: endMs)) spans "
                        + "\(DurationText.format(seconds: spanSeconds)); it must be \(limits.text)")
            }
            self.init(startMs: fromMs, endMs: endMs, periodSeconds: spanSeconds)
        } else {
            let text = period ?? defaultPeriod
            let seconds = try DurationText.seconds(text, parameter: periodName)
            guard seconds >= limits.minimumSeconds, seconds <= limits.maximumSeconds else {
                throw ParameterError(periodName, "'\(text.prefix(40))' must be \(limits.text)")
            }
            self.init(startMs: nowMs - seconds * 1000, endMs: nowMs, periodSeconds: seconds)
        }
        let finest = retention.map { Self.finestKeptStepSeconds(startMs: startMs, nowMs: nowMs, retention: $0) } ?? 1
        try chooseStep(step, finest: finest)
    }

    private init(startMs: Int64, endMs: Int64, periodSeconds: Int64) {
        self.startMs = startMs
        self.endMs = endMs
        self.periodSeconds = periodSeconds
        stepSeconds = periodSeconds
    }

    /// The step: `step` when given (at most the period, at most `maximumPoints`, a whole
    /// number of `finest`), else the nice step for ~60 points that is a whole number of
    /// `finest`.
    private mutating func chooseStep(_ step: String?, finest: Int64) throws(ParameterError) {
        let horizon = finest >= 3600 ? "minute rollups" : "raw samples"
        let unit = finest >= 3600 ? "hour" : "minute"
        if let step {
            stepSeconds = try DurationText.seconds(step, parameter: "step")
            guard stepSeconds <= periodSeconds else {
                throw ParameterError("step", "'\(step)' is longer than the period")
            }
            guard periodSeconds / stepSeconds <= Self.maximumPoints else {
                throw ParameterError("step", "'\(step)' gives more than \(Self.maximumPoints) points for this period")
            }
            guard stepSeconds % finest == 0 else {
                throw ParameterError(
                    "step",
                    "'\(step)': the \(horizon) of \(Timestamp.iso8601(ms: startMs)) are no longer kept; "
                        + "that time needs a step of whole \(unit)s")
            }
        } else {
            guard periodSeconds >= finest else {
                throw ParameterError(
                    "from",
                    "the \(horizon) of \(Timestamp.iso8601(ms: startMs)) are no longer kept; "
                        + "a range that old must span at least 1 \(unit)")
            }
            let wanted = max(5, periodSeconds / 60)
            let nice = Self.niceSteps.first { $0 >= wanted && $0 % finest == 0 } ?? 86_400
            stepSeconds = min(periodSeconds, nice)
            // A period of 90 minutes with hour rows: the step stays whole hours.
            if stepSeconds % finest != 0 { stepSeconds = periodSeconds / finest * finest }
        }
    }

    /// The finest step the data kept for `startMs` serves: 1 (raw samples), 60 (raw
    /// partitions of that day dropped: minute rollups) or 3600 (minute partitions dropped too:
    /// hour rollups). Retention drops the day `n` days before today and earlier, so the oldest
    /// day kept is `n - 1` days before today.
    public static func finestKeptStepSeconds(startMs: Int64, nowMs: Int64, retention: RetentionPolicy) -> Int64 {
        func horizonMs(_ table: String) -> Int64? {
            guard let days = retention.days[table] else { return nil }
            return DayPartition(timestampMs: nowMs).adding(days: -Int64(max(days, 1) - 1)).startMs
        }
        if let raw = horizonMs("metrics"), startMs < raw {
            if let minute = horizonMs("metrics_1m"), startMs < minute { return 3600 }
            return 60
        }
        return 1
    }
}
