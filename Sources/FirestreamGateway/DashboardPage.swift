import Foundation

/// The live dashboard served at `/`: one Plotly.js line per key of the chosen topic (`wiener` by
/// default) and a panel for `metronome`. Each panel replays the last five minutes from the log,
/// then follows `/ws/topics/{topic}`, draws at 10 Hz, and on reconnect resumes from the next
/// offset of every partition it has seen, so nothing is drawn twice or missed. When the project
/// declares tokens, the page first asks for one and posts it to `/login`, which answers with an
/// HttpOnly session cookie: the token never appears in a URL, and the page's script never keeps it.
enum DashboardPage {
    /// `Resources/dashboard.html`, compiled into the binary (a single file to ship).
    static let html = String(decoding: PackageResources.dashboard_html, as: UTF8.self)

    /// `Resources/warehouse.html`: the SQL page (`/dashboard/sql`: a query, its result as a table
    /// and a Plotly chart, run again every few seconds if asked) and the catalog page
    /// (`/dashboard/catalog`: `GET /catalog` as tables, refreshed every 5 s). Both call the same
    /// HTTP API as any client, with the dashboard's session cookie.
    static let warehouse = String(decoding: PackageResources.warehouse_html, as: UTF8.self)

    /// The page shown instead when Plotly.js was not found.
    static func missingPlotly(_ explanation: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Firestream: Plotly.js missing</title></head>
        <body style="font: 15px system-ui, sans-serif; margin: 40px; max-width: 50em">
        <h1>The dashboard needs Plotly.js</h1>
        <p>\(explanation.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;"))</p>
        <p>Install it with <code>python3 -m pip install plotly</code> (it ships
        <code>plotly/package_data/plotly.min.js</code>), or point Firestream at a copy with
        <code>firestream up --plotly-js /path/to/plotly.min.js</code>, then restart <code>firestream up</code>.</p>
        <p>Everything else works without it: <a href="/topics">/topics</a>, <code>/ws/topics/{topic}</code>, <a href="/metrics">/metrics</a>.</p>
        </body></html>
        """
    }
}
