/// Every metric the agent or the daemon emits, declared once (style rule 10): collectors,
/// `/metrics` and the API refer to these declarations. One file per area
/// (`MetricCatalogue+Host.swift`, …). Application (StatsD) metrics are not declared: their
/// descriptor is generated from the name and kind they arrive with (`application(_:type:)`).
/// docs/METRICS.md is generated from this list (`MetricCatalogue.markdown()`).
public enum MetricCatalogue {
    /// Every declared family, by area in documentation order.
    public static let all: [MetricDescriptor] = host + process + postgres + redis + agent + app + daemon

    /// Areas with a title, for the documentation.
    public static let areas: [(title: String, metrics: [MetricDescriptor])] = [
        ("Host (monagent, /proc)", host), ("Process groups (monagent)", process), ("PostgreSQL (monagent)", postgres),
        ("Redis (monagent)", redis), ("Agent self-monitoring (monagent)", agent),
        ("Application signals (monagent, StatsD and logs)", app), ("Daemon (monquery)", daemon),
    ]

    private static let byName: [String: MetricDescriptor] = {
        var byName: [String: MetricDescriptor] = [:]
        for descriptor in all { byName[descriptor.name] = descriptor }
        return byName
    }()

    /// The declaration of a sample or family name (`x_total` or, for counters, `x`).
    public static func descriptor(_ name: String) -> MetricDescriptor? {
        if let found = byName[name] { return found }
        if let found = byName[name + "_total"], found.type == .counter { return found }
        return nil
    }

    /// Whether `name` belongs to the declared vocabulary (`mon_…`, `process_…`) rather than to an
    /// application.
    public static func isDeclaredNamespace(_ name: String) -> Bool {
        name.hasPrefix("mon_") || name.hasPrefix("process_")
    }

    /// The declaration of `name` (when its type fits: a declared counter or gauge wins over the
    /// kind a sample arrived with), or a generated one naming its source. A generated gauge or
    /// counter whose name ends in `_bucket`, `_count` or `_sum` (suffixes only histograms and
    /// summaries write) is exposed as `<name>_value` (`app_queue_count` → `app_queue_count_value`),
    /// its help text saying so: the data stays, and `/metrics` passes `promtool check metrics`.
    public static func describe(_ name: String, type: MetricType) -> MetricDescriptor {
        if let found = descriptor(name) {
            let values: Set<MetricType> = [.counter, .gauge]
            if found.type == type || (values.contains(found.type) && values.contains(type)) { return found }
        }
        let generated =
            isDeclaredNamespace(name)
            ? MetricDescriptor(
                name, type,
                help: "Undeclared \(type.rawValue) `\(name)` received from monagent (an agent of another version?).")
            : application(name, type: type)
        guard generated.hasReservedSuffix else { return generated }
        return MetricDescriptor(
            name + "_value", type,
            help: generated.help + " Exposed as `\(name)_value`: `_bucket`, `_count` and `_sum` end only histogram"
                + " and summary samples.")
    }

    /// A generated descriptor for an application metric received over StatsD.
    public static func application(_ name: String, type: MetricType) -> MetricDescriptor {
        let kind: String
        switch type {
        case .counter: kind = "counter"
        case .gauge: kind = "gauge (or set size)"
        case .histogram: kind = "timer"
        case .summary: kind = "summary"
        }
        return MetricDescriptor(
            name, type, help: "StatsD \(kind) `\(name)` from the application, received by monagent.")
    }

    /// Pairs of declarations that would write the same name in either exposition format
    /// (`x` vs `x_total`, `_bucket`/`_count`/`_sum`/`_created`), and declarations with a label
    /// their type reserves (`le`, `quantile`) or that the daemon adds (`host`). Empty when sound.
    public static func conflicts(in descriptors: [MetricDescriptor] = all) -> [String] {
        var found: [String] = []
        var owner: [String: String] = [:]
        for descriptor in descriptors {
            for name in descriptor.occupiedNames {
                if let other = owner[name], other != descriptor.name {
                    found.append("\(descriptor.name) and \(other) both write \(name)")
                }
                owner[name] = descriptor.name
            }
            for label in descriptor.labels {
                if ["le", "quantile"].contains(label), descriptor.type.reservedLabel != label {
                    found.append("\(descriptor.name) (\(descriptor.type.rawValue)) has a `\(label)` label")
                }
                if label == "host", !daemon.contains(descriptor) {
                    found.append("\(descriptor.name) declares `host`, which the daemon adds")
                }
            }
            if descriptor.type == .counter, !descriptor.name.hasSuffix("_total") {
                found.append("\(descriptor.name) is a counter without `_total`")
            }
            if descriptor.type != .counter, descriptor.name.hasSuffix("_total") {
                found.append("\(descriptor.name) ends in `_total` but is a \(descriptor.type.rawValue)")
            }
            if descriptor.hasReservedSuffix {
                found.append("\(descriptor.name) is a \(descriptor.type.rawValue) named with a histogram suffix")
            }
            if let unit = descriptor.unit, !descriptor.family.hasSuffix("_" + unit) {
                found.append("\(descriptor.name): unit \(unit) is not the end of its family name")
            }
        }
        return found
    }
}
