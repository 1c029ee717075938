import MonCore

/// The page around the dashboard's panels: header (sections, period selector, health
/// badge, pause, logout), main, footer. Styles and script are separate files under
/// `/ui/assets/` so the Content-Security-Policy can forbid inline scripts.
public struct DashboardPage: Sendable {
    public enum Section: String, Sendable, CaseIterable {
        case advanced, api, redis, postgres, logs, traces

        public var title: String {
            switch self {
            case .advanced: return "Overview"
            case .api: return "API"
            case .redis: return "Redis"
            case .postgres: return "PostgreSQL"
            case .logs: return "Logs"
            case .traces: return "Traces"
            }
        }

        public var path: String { "/ui/monitoring/" + rawValue }
    }

    /// Periods offered by the selector (any duration from 1m to 30d is accepted in the URL),
    /// besides the custom range (`from`/`to`).
    public static let periods: [(value: String, label: String)] = [
        ("15m", "Last 15 min"), ("1h", "Last 1 h"), ("6h", "Last 6 h"), ("24h", "Last 24 h"), ("7d", "Last 7 d"),
        ("30d", "Last 30 d"),
    ]

    public var section: Section
    /// The selector's period; empty with a custom range.
    public var period: String
    /// The custom range's bounds (RFC 3339, UTC); nil for a period.
    public var from: String?
    public var to: String?
    public var host: String?
    public var healthBadge: HTML
    /// False when no token is configured: the page says the dashboard is open.
    public var authenticationEnabled: Bool
    public var generatedMs: Int64
    public var body: HTML

    public init(
        section: Section, period: String, from: String? = nil, to: String? = nil, host: String?, healthBadge: HTML,
        authenticationEnabled: Bool, generatedMs: Int64, body: HTML
    ) {
        self.section = section
        self.period = period
        self.from = from
        self.to = to
        self.host = host
        self.healthBadge = healthBadge
        self.authenticationEnabled = authenticationEnabled
        self.generatedMs = generatedMs
        self.body = body
    }

    /// The range's query pairs: the period, or the custom range.
    var rangeQuery: [(String, String?)] { from == nil ? [("period", period)] : [("from", from), ("to", to)] }

    /// The link to `section` keeping the range and host.
    func link(_ target: Section) -> String { target.path + HTML.query(rangeQuery + [("host", host)]) }

    /// `2026-12-04T02:10:00Z` as a `datetime-local` value (`2026-12-04T02:10:00`).
    static func localValue(_ text: String?) -> String { String((text ?? "").prefix(19)) }

    /// "last 1h", or "2026-12-04 02:10:00 to 02:40:00 UTC" for a custom range.
    public var rangeNote: String {
        guard let from else { return "last \(period)" }
        func plain(_ text: String?) -> String {
            String((text ?? "now").compactMap { char -> Character? in char == "T" ? " " : char == "Z" ? nil : char })
        }
        return "\(plain(from)) to \(plain(to)) UTC"
    }

    public func render() -> HTML {
        let nav: [HTML] = Section.allCases.map { target in
            "<a href=\"\(link(target))\"\(target == section ? HTML(raw: " aria-current=\"page\"") : .empty)>\(target.title)</a>"
        }
        var periods = Self.periods
        if from != nil {
            periods.insert(("", "Custom range"), at: 0)
        } else if !periods.contains(where: { $0.value == period }) {
            periods.append((period, "Last \(period)"))
        }
        let options: [HTML] = periods.map { option in
            "<option value=\"\(option.value)\"\(option.value == period ? HTML(raw: " selected") : .empty)>\(option.label)</option>"
        }
        let hostField: HTML = host.map { "<input type=\"hidden\" name=\"host\" value=\"\($0)\">" } ?? .empty
        let session: HTML =
            authenticationEnabled
            ? "<form method=\"post\" action=\"/ui/logout\" class=\"logout\"><button type=\"submit\">Log out</button></form>"
            : "<span class=\"open-note\" title=\"No API token is configured (auth.*): the dashboard is open like the API\">Auth off</span>"
        let banner: HTML =
            authenticationEnabled
            ? .empty
            : "<p class=\"banner\" role=\"note\">Authentication is off: no token is configured (<code>auth.admin_tokens</code>), so this dashboard is open to anyone who can reach the daemon, like the API. The daemon only allows this on a loopback address.</p>"
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(section.title) · MnemoLite Monitoring</title>
            <link rel="stylesheet" href="/ui/assets/dashboard.css">
            <script src="/ui/assets/dashboard.js" defer></script>
            </head>
            <body data-section="\(section.rawValue)">
            <header class="top">
            <a class="brand" href="\(link(.advanced))"><span class="logo" aria-hidden="true">◆</span> MnemoLite Monitoring</a>
            <nav aria-label="Sections">\(nav)</nav>
            <div class="controls">
            <form class="period" method="get" action="\(section.path)"><label for="period">Period</label> <select id="period" name="period">\(options)</select>\(hostField) <button type="submit" class="apply">Apply</button></form>
            <details class="custom-range"\(from != nil ? HTML(raw: " open") : .empty)><summary>Custom</summary><form class="range" method="get" action="\(section.path)"><label for="range-from">From</label> <input id="range-from" name="from" type="datetime-local" step="1" required value="\(Self.localValue(from))"> <label for="range-to">to</label> <input id="range-to" name="to" type="datetime-local" step="1" value="\(Self.localValue(to))" title="Empty: until now">\(hostField) <span class="quiet">UTC</span> <button type="submit">Show</button></form></details>
            \(healthBadge)
            <button type="button" id="pause" aria-pressed="false" title="Pause the 5 s auto-refresh">Pause</button>
            <span id="updated" class="updated">Updated \(DashboardFormat.clock(ms: generatedMs, seconds: true)) UTC</span>
            \(session)
            </div>
            </header>
            \(banner)<main id="main">
            <h1 class="page-title">\(section.title)\(host.map { " · host \($0)" } ?? "") <span class="period-note">\(rangeNote)</span></h1>
            \(body)
            </main>
            <footer>Times in UTC · refreshed every 5 s · monquery \(MonCoreVersion.string) · <a href="/openapi.json">API description</a></footer>
            </body>
            </html>

            """
    }

    /// The login form (`GET /ui/login`), with an optional message (wrong token).
    public static func login(next: String, message: String?) -> HTML {
        let error: HTML = message.map { "<p class=\"form-error\" role=\"alert\">\($0)</p>" } ?? .empty
        return standalone(
            "Log in",
            """
            <form class="login" method="post" action="/ui/login">
            <h1>MnemoLite Monitoring</h1>
            <p>The dashboard needs an <strong>admin</strong> API token (<code>auth.admin_tokens</code>).</p>
            \(error)<label for="token">Admin token</label>
            <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
            <input type="hidden" name="next" value="\(next)">
            <button type="submit">Log in</button>
            </form>
            """)
    }

    /// A page with a title and a message (403 for a viewer token).
    public static func message(_ title: String, _ text: String, link: (href: String, label: String)?) -> HTML {
        let action: HTML = link.map { "<p><a href=\"\($0.href)\">\($0.label)</a></p>" } ?? .empty
        return standalone(title, "<div class=\"login\"><h1>\(title)</h1><p>\(text)</p>\(action)</div>")
    }

    static func standalone(_ title: String, _ body: HTML) -> HTML {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(title) · MnemoLite Monitoring</title>
        <link rel="stylesheet" href="/ui/assets/dashboard.css">
        </head>
        <body class="standalone">
        <main id="main">\(body)</main>
        </body>
        </html>

        """
    }
}
