import MonCore

/// What a report reads from the database, for the period and for the previous period of the
/// same length (`ReportBuilder`); `PeriodReport(figures:)` turns it into text and charts.
public struct ReportFigures: Sendable {
    /// A gauge over a period (percent): the mean of its series' means (as `/compare` takes
    /// it), the highest bucket, and per bucket the highest host's value (the chart's line).
    public struct Gauge: Sendable {
        public var mean: Double?
        public var max: Double?
        public var points: [(ms: Int64, value: Double)]

        public init(mean: Double?, max: Double?, points: [(ms: Int64, value: Double)]) {
            self.mean = mean
            self.max = max
            self.points = points
        }

        /// From the series of one gauge, its values scaled by `scale` (ratio → percent: 100).
        public init(series: [SeriesData], scale: Double) {
            let averages = series.compactMap(\.average)
            mean = averages.isEmpty ? nil : averages.reduce(0, +) / Double(averages.count) * scale
            var worst: [Int64: Double] = [:]
            for data in series {
                for point in data.points where point.value.isFinite {
                    worst[point.ms] = Swift.max(worst[point.ms] ?? -.infinity, point.value * scale)
                }
            }
            points = worst.keys.sorted().map { (ms: $0, value: worst[$0]!) }
            max = worst.values.max()
        }
    }

    public struct Period: Sendable {
        public var startMs: Int64
        public var endMs: Int64
        /// Request statistics per endpoint over the whole period.
        public var endpoints: [EndpointStats]
        /// Every endpoint merged, with a point per step (the latency chart).
        public var requests: EndpointStats?
        /// The application's cache hits and misses per type, every host summed.
        public var cacheTypes: [String: (hits: Double, misses: Double)]
        /// The statements that took the most time, with their latest plans.
        public var statements: [QueryStore.StatementSummary]
        /// Statements over the slow threshold (`mon_postgres_statements_slow_total`).
        public var slowStatements: Double?
        public var cpu: Gauge
        public var memory: Gauge

        public init(
            startMs: Int64, endMs: Int64, endpoints: [EndpointStats] = [], requests: EndpointStats? = nil,
            cacheTypes: [String: (hits: Double, misses: Double)] = [:],
            statements: [QueryStore.StatementSummary] = [], slowStatements: Double? = nil,
            cpu: Gauge = Gauge(mean: nil, max: nil, points: []), memory: Gauge = Gauge(mean: nil, max: nil, points: [])
        ) {
            self.startMs = startMs
            self.endMs = endMs
            self.endpoints = endpoints
            self.requests = requests
            self.cacheTypes = cacheTypes
            self.statements = statements
            self.slowStatements = slowStatements
            self.cpu = cpu
            self.memory = memory
        }

        /// Hits / lookups per cache type, in percent.
        public var cacheHitRates: [String: Double] {
            cacheTypes.compactMapValues { $0.hits + $0.misses > 0 ? $0.hits / ($0.hits + $0.misses) * 100 : nil }
        }

        /// Hits / lookups over every type, in percent.
        public var cacheHitRate: Double? {
            let (hits, misses) = cacheTypes.values.reduce((0.0, 0.0)) { ($0.0 + $1.hits, $0.1 + $1.misses) }
            return hits + misses > 0 ? hits / (hits + misses) * 100 : nil
        }

        /// Every endpoint merged over the whole period.
        public var totals: EndpointStats.Totals { EndpointStats.totals(endpoints) }
    }

    /// `24h` or `7d`.
    public var period: String
    public var host: String?
    public var generatedMs: Int64
    public var current: Period
    public var previous: Period
    /// The alerts of the period, oldest first.
    public var alerts: [AlertSpan]
    /// The anomaly monitor's judgement at the end of the period (nil when detection is off).
    public var anomalies: [String]?
    public var trends: [String]?

    public init(
        period: String, host: String?, generatedMs: Int64, current: Period, previous: Period, alerts: [AlertSpan],
        anomalies: [String]?, trends: [String]?
    ) {
        self.period = period
        self.host = host
        self.generatedMs = generatedMs
        self.current = current
        self.previous = previous
        self.alerts = alerts
        self.anomalies = anomalies
        self.trends = trends
    }
}
