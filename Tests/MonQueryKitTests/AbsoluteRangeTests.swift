import Testing

@testable import MonCore
@testable import MonQueryKit

/// Absolute ranges (`from`/`to`): the instants' spellings, the range's checks, the step a
/// past range gets from the data kept, and the tiers that serve it.
struct AbsoluteRangeTests {
    /// 2026-12-05T12:00:00Z.
    let now: Int64 = 1_796_472_000_000
    /// 2026-12-04T02:10:00Z and 02:40:00Z (yesterday).
    let incidentFrom: Int64 = 1_796_350_200_000
    let incidentTo: Int64 = 1_796_352_000_000

    @Test(
        "instants: RFC 3339 with Z or an offset (+14:00, -12:00, an unencoded '+' read as a space), epoch seconds",
        arguments: [
            ("2026-12-04T02:10:00Z", Int64(1_796_350_200_000)),
            ("2026-12-04t02:10:00z", 1_796_350_200_000),
            ("2026-12-04 02:10:00Z", 1_796_350_200_000),
            ("2026-12-04T16:10:00+14:00", 1_796_350_200_000),
            ("2026-12-04T16:10:00 14:00", 1_796_350_200_000),
            ("2026-12-03T14:10:00-12:00", 1_796_350_200_000),
            ("2026-12-04T02:10:00-00:00", 1_796_350_200_000),
            ("2026-12-04T02:10:00.25Z", 1_796_350_200_250),
            ("2026-12-04T02:10:00.123456789Z", 1_796_350_200_123),
            ("1796350200", 1_796_350_200_000),
            ("1796350200.5", 1_796_350_200_500),
            ("1796350200.0001", 1_796_350_200_000),
            ("0", 0),
            // A leap second is the next minute's first instant (POSIX time).
            ("2026-12-31T23:59:60Z", 1_798_761_600_000),
            ("2027-01-01T05:29:60+05:30", 1_798_761_600_000),
            ("2028-02-29T12:00:00Z", 1_835_438_400_000),
        ])
    func acceptedInstant(_ text: String, _ ms: Int64) throws {
        #expect(try InstantText.milliseconds(text, parameter: "from") == ms)
    }

    @Test(
        "refused instants name the parameter: garbage, exponents, NaN, inf, signs, impossible dates, out of range",
        arguments: [
            "", "yesterday", "1e308", "1E3", "nan", "NaN", "inf", "-inf", "Infinity", "-1", "+5", " 1796350200",
            "1796350200 ", "0x10", "1796350200.", ".5", "1.2.3", "1796350200.1234567890", "9999999999999",
            "4102444800", "2026-13-45T99:00:00Z", "2026-12-04T24:00:00Z", "2026-12-04T23:60:00Z",
            "2026-12-04T23:58:60Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-00-10T00:00:00Z",
            "2026-12-04T02:10:00", "2026-12-04T02:10Z", "2026-12-04", "2026-12-04T02:10:00+24:00",
            "2026-12-04T02:10:00+14:60", "2026-12-04T02:10:00+1400", "2026-12-04T02:10:00.Z", "1969-12-31T23:59:59Z",
            "2100-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-12-04T02:10:00ZZ", "２０２６-12-04T02:10:00Z",
            String(repeating: "1", count: 41), "\u{0}", "2026-12-04T02:10:00+25:00", "1796350200T",
            "99999999999999999999999999",
        ])
    func refusedInstant(_ text: String) {
        #expect(throws: ParameterError.self) { try InstantText.milliseconds(text, parameter: "to") }
        do {
            _ = try InstantText.milliseconds(text, parameter: "to")
        } catch {
            #expect(error.parameter == "to")
            #expect(error.message.count < 300)
        }
    }

    func range(
        period: String? = nil, from: String? = nil, to: String? = nil, step: String? = nil,
        limits: TimeRange.Limits = .standard, retention: RetentionPolicy? = .defaults
    ) throws(ParameterError) -> TimeRange {
        try TimeRange(
            period: period, from: from, to: to, step: step, nowMs: now, limits: limits, retention: retention)
    }

    func refusal(
        period: String? = nil, from: String? = nil, to: String? = nil, step: String? = nil,
        limits: TimeRange.Limits = .standard
    ) -> ParameterError? {
        do {
            _ = try range(period: period, from: from, to: to, step: step, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test("from/to: the exact window, the span as the period, the step for ~60 points; to defaults to now")
    func absoluteWindow() throws {
        let window = try range(from: "2026-12-04T02:10:00Z", to: "2026-12-04T02:40:00Z")
        #expect(window.startMs == incidentFrom && window.endMs == incidentTo)
        #expect(window.periodSeconds == 1800 && window.stepSeconds == 30)
        let open = try range(from: "2026-12-05T11:00:00Z")
        #expect(open.startMs == now - 3_600_000 && open.endMs == now && open.stepSeconds == 60)
        let fractional = try range(from: "1796350200.25", to: "1796350201")
        #expect(fractional.startMs == incidentFrom + 250 && fractional.periodSeconds == 1)
        // The relative form is unchanged.
        let relative = try range(period: "6h")
        #expect(relative.startMs == now - 21_600_000 && relative.endMs == now && relative.stepSeconds == 600)
        #expect(try range(period: nil).periodSeconds == 3600)
    }

    @Test("refused ranges name the parameter: with a period, to alone, from ≥ to, to far ahead, spans out of limits")
    func refusedRanges() {
        let cases: [(ParameterError?, String)] = [
            (refusal(period: "1h", from: "1796350200"), "from"),
            (refusal(period: "1h", to: "1796350200"), "to"),
            (refusal(to: "1796350200"), "to"),
            (refusal(from: "1796350200", to: "1796350200"), "from"),
            (refusal(from: "1796352000", to: "1796350200"), "from"),
            (refusal(from: "2026-12-05T13:00:00Z"), "from"),
            (refusal(from: "1796350200", to: "2026-12-05T13:00:01Z"), "to"),
            (refusal(from: "1796350200", to: "2099-12-31T00:00:00Z"), "to"),
            (refusal(from: "1970-01-01T00:00:00Z", to: "2026-12-05T00:00:00Z"), "from"),
            (
                refusal(
                    from: "2026-12-04T02:10:00Z", to: "2026-12-04T02:10:30Z",
                    limits: .init(minimumSeconds: 60, maximumSeconds: 7 * 86_400)), "from"
            ),
            (
                refusal(
                    from: "2026-11-01T00:00:00Z", to: "2026-12-04T00:00:00Z",
                    limits: .init(minimumSeconds: 60, maximumSeconds: 7 * 86_400)), "from"
            ),
            (refusal(period: "8d", limits: .init(minimumSeconds: 60, maximumSeconds: 7 * 86_400)), "period"),
            (refusal(from: "2026-12-04T02:10:00Z", to: "2026-12-04T02:40:00Z", step: "1h"), "step"),
            (refusal(from: "2026-12-04T02:10:00Z", to: "2026-12-04T04:10:00Z", step: "1s"), "step"),
            (refusal(from: "1e308"), "from"),
            (refusal(from: "1796350200", to: "-1"), "to"),
        ]
        for (index, (error, parameter)) in cases.enumerated() {
            #expect(error?.parameter == parameter, "case \(index): \(error.map(\.description) ?? "accepted")")
        }
        // The relative period's own name shows in its message (an alias such as `since`).
        do {
            _ = try TimeRange(
                period: "9d", periodName: "since", from: nil, to: nil, step: nil, nowMs: now,
                limits: .init(minimumSeconds: 60, maximumSeconds: 7 * 86_400))
            Issue.record("accepted")
        } catch {
            #expect(error.parameter == "since" && error.message == "'9d' must be between 1m and 7d")
        }
    }

    @Test("a past range older than the raw partitions kept gets whole minutes, older than the minute ones whole hours")
    func stepFollowsRetention() throws {
        // 2026-11-20 is 15 days back: raw samples (7 days) are gone, minute rollups (30) kept.
        let fortnight = try range(from: "2026-11-20T02:10:00Z", to: "2026-11-20T02:40:00Z")
        #expect(fortnight.stepSeconds == 60)
        #expect(TierPlan(range: fortnight, watermarkMs: now - 30_000).tier == .minute)
        #expect(refusal(from: "2026-11-20T02:10:00Z", to: "2026-11-20T02:40:00Z", step: "30s")?.parameter == "step")
        #expect(try range(from: "2026-11-20T02:10:00Z", to: "2026-11-20T02:40:00Z", step: "5m").stepSeconds == 300)
        // 2026-10-01 is 65 days back: only hour rows are left.
        let old = try range(from: "2026-10-01T02:00:00Z", to: "2026-10-01T08:00:00Z")
        #expect(old.stepSeconds == 3600)
        #expect(TierPlan(range: old, watermarkMs: now - 30_000).tier == .hour)
        #expect(refusal(from: "2026-10-01T02:10:00Z", to: "2026-10-01T02:40:00Z")?.parameter == "from")
        #expect(refusal(from: "2026-10-01T02:00:00Z", to: "2026-10-01T08:00:00Z", step: "1m")?.parameter == "step")
        // Yesterday is within the raw retention: 30-s steps from raw rows, as before.
        let yesterday = try range(from: "2026-12-04T02:10:00Z", to: "2026-12-04T02:40:00Z")
        #expect(TierPlan(range: yesterday, watermarkMs: now - 30_000).tier == .raw)
        // The oldest raw day kept is the 6th before today (the 7th is dropped).
        #expect(TimeRange.finestKeptStepSeconds(startMs: 1_795_910_400_000, nowMs: now, retention: .defaults) == 1)
        #expect(TimeRange.finestKeptStepSeconds(startMs: 1_795_910_399_999, nowMs: now, retention: .defaults) == 60)
        // Without a retention policy nothing changes.
        #expect(try range(from: "2026-10-01T02:10:00Z", to: "2026-10-01T02:40:00Z", retention: nil).stepSeconds == 30)
    }

    @Test("a past window on the minute tier reads minute rows within from/to and no raw row but one at to itself")
    func tierPlanForPastWindow() throws {
        let window = try range(from: "2026-12-04T02:10:00Z", to: "2026-12-04T02:40:00Z", step: "1m")
        let plan = TierPlan(range: window, watermarkMs: now - 30_000)
        #expect(plan.tier == .minute && plan.splitMs == incidentTo && plan.endMs == incidentTo)
        let sql = plan.metricsSource(seriesFilter: "SELECT 1")
        #expect(sql.contains("FROM metrics_1m r"))
        #expect(sql.contains("r.ts >= to_timestamp(\(incidentFrom)::double precision / 1000)"))
        #expect(sql.contains("r.ts < to_timestamp(\(incidentTo)::double precision / 1000)"))
        #expect(sql.contains("m.ts >= to_timestamp(\(incidentTo)::double precision / 1000)"))
        // The whole-range aggregate (API statistics): minute rows only, the window has no whole hour.
        let aggregate = TierPlan(aggregating: window, watermarkMs: now - 30_000)
        let histograms = aggregate.histogramSource(seriesFilter: "SELECT 1")
        #expect(histograms.contains("FROM histograms_1m"))
        #expect(!histograms.contains("FROM histograms_1h"))
        // 02:10 to 04:40: minute rows to 03:00, the 03:00 hour row, minute rows from 04:00: the
        // 04:00 hour row would count 04:40 to 05:00.
        let longer = try range(from: "2026-12-04T02:10:00Z", to: "2026-12-04T04:40:00Z")
        let hours = TierPlan(aggregating: longer, watermarkMs: now - 30_000)
        #expect(hours.tailTier == .minute)
        let source = hours.histogramSource(seriesFilter: "SELECT 1")
        func time(_ ms: Int64) -> String { "to_timestamp(\(ms)::double precision / 1000)" }
        let three = incidentFrom + 50 * 60_000
        let four = three + 3_600_000
        #expect(source.components(separatedBy: "FROM histograms_1m").count == 3, "\(source)")
        #expect(
            source.contains(
                "FROM histograms_1h\nWHERE series_id IN (SELECT 1) AND ts > \(time(three)) AND ts <= \(time(four))"))
        #expect(source.contains("AND ts > \(time(four)) AND ts <= \(time(four + 40 * 60_000))"))
        let increase = hours.firstUnitIncrease(value: "v", firstRaw: "f")
        #expect(
            increase.contains(
                "WHEN src.ts < \(time(three)) THEN interval '1 minute' WHEN src.ts < \(time(four)) THEN interval '1 hour' ELSE interval '1 minute' END"
            ))
        // A relative range (ending now, after the watermark) keeps reading the hour row of the watermark.
        #expect(TierPlan(aggregating: try range(period: "6h"), watermarkMs: now - 30_000).tailTier == nil)
        // A window the rollups have not reached yet is read raw.
        #expect(TierPlan(range: window, watermarkMs: incidentFrom - 60_000).tier == .raw)
    }
}
