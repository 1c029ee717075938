/// The e-mail digest of a report: its subject, and its headline figures as plain text and
/// HTML (the period, the hosts, the health cards, the alerts fired, the top regression). Made
/// with the PDF and stored with it, so a delivery retried hours later sends the same text.
public struct ReportDigest: Sendable, Equatable {
    public var subject: String
    public var text: String
    public var html: String

    /// The digest of `report` (drawn from `figures`), made by `kind` for the period that
    /// `schedule` names in its zone (`2026-12-05`).
    public init(kind: String, dayText: String, zone: String, figures: ReportFigures, report: PeriodReport) {
        let scope = figures.host ?? "all hosts"
        subject = "MnemoLite \(kind) report \(dayText) (\(scope))"
        let period =
            "\(PeriodReport.time(report.startMs)) – \(PeriodReport.time(report.endMs)) UTC (last \(report.period), \(zone))"
        let fired = figures.alerts.filter { $0.firedMs != nil }
        let alertLines = fired.prefix(10).map { "\($0.severity) \($0.rule) on \($0.host): \($0.summary)" }
        let regression = Regression.find(current: figures.current, previous: figures.previous, scope: scope).first
        let regressionLine =
            regression.map {
                "\($0.kind) \($0.subject): \($0.text($0.before)) → \($0.text($0.after)) (\($0.changeText))"
            } ?? "none beyond the thresholds (\(Regression.minimumWorsePercent.formatted0) % worse)"

        var lines = [
            subject, "",
            "Period: \(period)",
            "Hosts: \(scope)",
            "",
        ]
        for card in report.cards { lines.append("\(card.title): \(card.value) (\(card.detail))") }
        lines += ["", "Alerts fired: \(fired.count)"]
        lines += alertLines.map { "- \($0)" }
        if fired.count > alertLines.count { lines.append("- … and \(fired.count - alertLines.count) more in the PDF") }
        lines += ["", "Top regression: \(regressionLine)", "", "The full report is attached (PDF)."]
        text = lines.joined(separator: "\n") + "\n"

        func escape(_ value: String) -> String { HTML.escape(value) }
        var html = """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>\(escape(subject))</title></head>
            <body style="font-family: 'DejaVu Sans', Arial, sans-serif; color: #222">
            <h2>\(escape(PeriodReport.title)) — \(escape(kind))</h2>
            <p><b>Period:</b> \(escape(period))<br><b>Hosts:</b> \(escape(scope))</p>
            <table cellpadding="4" style="border-collapse: collapse">

            """
        for card in report.cards {
            html +=
                "<tr><td>\(escape(card.title))</td><td><b>\(escape(card.value))</b></td>"
                + "<td style=\"color: #666\">\(escape(card.detail))</td></tr>\n"
        }
        html += "</table>\n<p><b>Alerts fired:</b> \(fired.count)</p>\n"
        if !alertLines.isEmpty {
            html += "<ul>\n" + alertLines.map { "<li>\(escape($0))</li>\n" }.joined() + "</ul>\n"
        }
        html += "<p><b>Top regression:</b> \(escape(regressionLine))</p>\n"
        html += "<p>The full report is attached (PDF).</p>\n</body></html>\n"
        self.html = html
    }
}

extension Double {
    /// `10` for 10.0: a threshold in a sentence.
    fileprivate var formatted0: String { DashboardFormat.number(self) }
}
