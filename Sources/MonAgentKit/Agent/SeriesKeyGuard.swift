import MonCore

/// Makes a series identity one the daemon accepts (`SeriesLimits`), at the agent, before the
/// batch is numbered: names are sanitised, long label values cut and hashed, extra labels
/// folded into one hash, and the whole key shortened until it fits. Distinct inputs stay
/// distinct (the hash is of what was cut), so two series are never merged by a cut.
public enum SeriesKeyGuard {
    /// Characters of a SHA-256 (hex) appended where something was cut.
    static let hashCharacters = 16
    /// A cut value keeps this many bytes before its hash when the key is too long.
    static let shortValueBytes = 64
    /// The label that holds the hash of the labels past `SeriesLimits.maxLabels - 1`.
    public static let foldedLabel = "labels_hash"

    /// The fixed name and labels, or nil when the series is fine as it is.
    public static func fix(name: String, labels: Labels) -> (name: String, labels: Labels)? {
        guard SeriesLimits.problem(name: name, labels: labels) != nil else { return nil }
        var name = SeriesLimits.isValidMetricName(name) ? name : metricName(name)
        var fixed = Labels()
        for pair in labels.pairs {
            let labelName = SeriesLimits.isValidLabelName(pair.name) ? pair.name : labelName(pair.name)
            fixed.set(labelName, value(pair.value))
        }
        if fixed.count > SeriesLimits.maxLabels {
            let kept = fixed.pairs.prefix(SeriesLimits.maxLabels - 1)
            let rest = Labels(decodedPairs: Array(fixed.pairs.dropFirst(SeriesLimits.maxLabels - 1)))
            fixed = Labels(decodedPairs: Array(kept))
            fixed.set(foldedLabel, hash(rest.canonicalKey))
        }
        // Still too long: shorten the longest values; then keep the labels that fit and fold
        // the others; a name too long alone is cut last.
        while SeriesLimits.problem(name: name, labels: fixed) == .seriesKey {
            guard let longest = fixed.pairs.max(by: { $0.value.utf8.count < $1.value.utf8.count }),
                longest.value.utf8.count > shortValueBytes + hashCharacters + 1
            else {
                if name.utf8.count > SeriesLimits.maxSeriesKeyBytes / 2 {
                    name = name.prefix(utf8Bytes: 200) + "_" + hash(name)
                }
                fixed = fold(fixed, keepingBytes: SeriesLimits.maxSeriesKeyBytes - name.utf8.count)
                break
            }
            fixed.set(longest.name, cut(longest.value, keeping: shortValueBytes))
        }
        return (name, fixed)
    }

    /// The first labels whose canonical text fits in `bytes` (with room for the fold), and
    /// `labels_hash` holding the hash of the others.
    static func fold(_ labels: Labels, keepingBytes bytes: Int) -> Labels {
        let room = bytes - (foldedLabel.utf8.count + hashCharacters + 4)
        var kept: [Labels.Pair] = []
        var used = 0
        for pair in labels.pairs where pair.name != foldedLabel {
            let size = Labels(decodedPairs: [pair]).canonicalKey.utf8.count + 1
            guard used + size <= room else { break }
            kept.append(pair)
            used += size
        }
        let rest = Labels(decodedPairs: Array(labels.pairs.filter { !kept.contains($0) }))
        var folded = Labels(decodedPairs: kept)
        folded.set(foldedLabel, hash(rest.canonicalKey))
        return folded
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`: other characters become `_`; a leading digit gets a `_`.
    static func metricName(_ name: String) -> String {
        var sanitized = MetricNames.sanitize(name.prefix(utf8Bytes: 1024))
        if sanitized.isEmpty || sanitized.utf8.first.map({ $0 >= 48 && $0 <= 57 }) == true {
            sanitized = "_" + sanitized
        }
        return sanitized
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*` not starting with `__` (a `__` prefix loses one `_`).
    static func labelName(_ name: String) -> String {
        var sanitized = metricName(name)
        while sanitized.hasPrefix("__") { sanitized.removeFirst() }
        return sanitized == "_" && name.isEmpty ? "label" : sanitized
    }

    /// Without NUL, at most `SeriesLimits.maxLabelValueBytes`.
    static func value(_ value: String) -> String {
        let clean = value.utf8.contains(0) ? String(value.unicodeScalars.filter { $0 != "\0" }) : value
        // The escaped key doubles `\`, `"` and newlines: cut so that the value alone stays in bounds.
        guard clean.utf8.count > SeriesLimits.maxLabelValueBytes else { return clean }
        return cut(clean, keeping: SeriesLimits.maxLabelValueBytes - hashCharacters - 1)
    }

    /// The first `keeping` bytes, `~`, and the hash of the whole.
    static func cut(_ value: String, keeping bytes: Int) -> String {
        value.prefix(utf8Bytes: bytes) + "~" + hash(value)
    }

    static func hash(_ text: String) -> String {
        String(SHA256.hex(Array(text.utf8)).prefix(hashCharacters))
    }
}
