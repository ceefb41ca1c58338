import FirestreamTesting
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The dashboard's SQL and catalog pages in headless Chromium, against a real `firestream up`
/// (in the serialized browser suite: one Chromium at a time on a 2-core machine).
extension KafkaClusterTests.DashboardBrowserTests {
    @Test func sqlPageDrawsTheQueryAndCatalogPageListsTopicsAndTables() async throws {
        let scratch = TemporaryDirectory()
        try scratch.write(
            "firestream.json",
            """
            {"name": "pages", "topics": [{"name": "notes"}], "tables": [{"name": "points", "from": "wiener", "columns": {"device_id": {}, "measurement": {"type": "real"}}}]}
            """)
        let up = try RuntimeCommandTests.Running(
            ["up", "--kafka-port", "0", "--port", "0", "--rate", "5", "--status-interval", "0"], in: scratch.url)
        defer { up.interrupt() }
        let port = try await up.port()
        let base = "http://127.0.0.1:\(port)"
        // A hostile value: drawn as text, it must never run.
        let hostile = #"<img src=x onerror="window.pwned=1">"#
        var post = URLRequest(url: URL(string: "\(base)/topics/notes")!)
        post.httpMethod = "POST"
        post.setValue("application/json", forHTTPHeaderField: "Content-Type")
        post.httpBody = try JSONSerialization.data(withJSONObject: ["device_id": hostile])
        let (_, posted) = try await URLSession.shared.data(for: post)
        #expect((posted as? HTTPURLResponse)?.statusCode == 200)

        try await Self.withBrowserPage(profile: scratch.url.appendingPathComponent("chromium")) { devtools in
            func runs() async throws -> Int { try await devtools.json("window.firestream ? firestream.runs : 0") as? Int ?? 0 }

            // The SQL page runs the query in its URL, shows the rows and draws them: one bar per device.
            let sql = "SELECT value->>'device_id' AS device, count(*) AS n FROM records('wiener') GROUP BY 1 ORDER BY 1"
            let query = sql.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            _ = try await devtools.call("Page.navigate", ["url": "\(base)/dashboard/sql?q=\(query)"])
            try await eventually("the SQL page to show five devices") {
                let shown = try await devtools.json("window.firestream && firestream.result ? firestream.result.rows.length : 0") as? Int
                return try await runs() >= 1 && shown == 5
            }
            let rows = try await devtools.json("firestream.result.rows") as? [[Any]] ?? []
            let devices = rows.compactMap { $0.first as? String }
            #expect(devices.count == 5 && devices == devices.sorted() && devices.allSatisfy { $0.hasPrefix("device-") }, "\(rows)")
            let chart =
                try await devtools.json("document.getElementById('chart').data.map(t => ({type: t.type, x: t.x, y: t.y}))") as? [[String: Any]] ?? []
            #expect(chart.count == 1 && chart.first?["type"] as? String == "bar", "\(chart)")
            #expect(chart.first?["x"] as? [String] == devices)
            #expect(chart.first?["y"] as? [Int] == rows.compactMap { $0.last as? Int }, "the bars are the result's counts")
            let cells =
                try await devtools.json("[...document.querySelectorAll('#result tr')].map(r => [...r.cells].map(c => c.textContent))") as? [[String]]
            #expect(cells?.first == ["device", "n"] && cells?.count == 6, "\(cells ?? [])")

            // Live refresh: every second the query runs again and the counts grow.
            let total = rows.compactMap { $0.last as? Int }.reduce(0, +)
            _ = try await devtools.evaluate(
                "const r = document.getElementById('refresh'); r.value = '1000'; r.dispatchEvent(new Event('change')); 'on'")
            try await eventually("the refreshed counts to grow") {
                let now = try await devtools.json("firestream.result.rows.map(r => r[1])") as? [Int] ?? []
                return now.reduce(0, +) > total
            }

            _ = try await Self.saveScreenshot(devtools, as: "sql-page.png")

            // An error names the HTTP status and the SQL position; the last good result stays.
            _ = try await devtools.evaluate(
                """
                document.getElementById('refresh').value = '0'; document.getElementById('refresh').dispatchEvent(new Event('change'));
                document.getElementById('sql').value = 'SELECT nope FROM records(\\'wiener\\')'; document.getElementById('run').click(); 'ran'
                """)
            try await eventually("the error to show") {
                try await devtools.evaluate("document.getElementById('sql-error').textContent")?.contains("HTTP 400") == true
            }
            let error = try await devtools.evaluate("document.getElementById('sql-error').textContent") ?? ""
            #expect(error.hasSuffix("line 1, column 8: no such column: nope\nSELECT nope FROM records('wiener')\n       ^"), "\(error)")

            // Hostile record values are text in the table and the chart, never markup.
            _ = try await devtools.evaluate(
                "document.getElementById('sql').value = 'SELECT value->>\\'device_id\\' AS note, 1 AS one FROM records(\\'notes\\')'; document.getElementById('run').click(); 'ran'"
            )
            try await eventually("the note to be shown") {
                try await devtools.evaluate("document.querySelector('#result tr:nth-child(2) td')?.textContent ?? ''") == hostile
            }
            #expect(try await devtools.evaluate("String(window.pwned)") == "undefined")
            #expect(try await devtools.json("document.querySelectorAll('#result img').length") as? Int == 0)

            // The catalog page: topics with their counts and inferred fields, the declared table, links to SQL.
            _ = try await devtools.call("Page.navigate", ["url": "\(base)/dashboard/catalog"])
            try await eventually("the catalog page to list wiener and the table") {
                let topics =
                    try await devtools.json("window.firestream && firestream.catalog ? firestream.catalog.topics.map(t => t.name) : []") as? [String]
                    ?? []
                let tables =
                    try await devtools.json("window.firestream && firestream.catalog ? firestream.catalog.tables.map(t => t.name) : []") as? [String]
                    ?? []
                return topics.contains("wiener") && topics.contains("metronome") && tables == ["points"]
            }
            let wiener =
                try await devtools.json(
                    "[...document.querySelectorAll('#topics tr')].map(r => [...r.cells].map(c => c.textContent)).find(r => r[0] === 'wiener')")
                as? [String] ?? []
            #expect(Int(wiener.count > 2 ? wiener[2] : "") ?? 0 > 0, "records of wiener: \(wiener)")
            #expect(wiener.count > 7 && wiener[7].contains("measurement: real"), "inferred fields: \(wiener)")
            let link = try await devtools.evaluate("document.querySelector('#tables tr:nth-child(2) a').href") ?? ""
            #expect(link.hasPrefix("\(base)/dashboard/sql?q=") && link.contains("points"), "\(link)")
            let tableRow =
                try await devtools.json("[...document.querySelectorAll('#tables tr:nth-child(2) td')].map(c => c.textContent)") as? [String] ?? []
            #expect(tableRow.first == "points" && tableRow.count > 2 && tableRow[2] == "wiener", "\(tableRow)")
            _ = try await Self.saveScreenshot(devtools, as: "catalog-page.png")
        }
    }

    /// With tokens declared, the SQL page sends a visitor to the sign-in on `/` and back, and the
    /// catalog page then shows only what the token may read.
    @Test func warehousePagesSignInThroughTheDashboardAndSeeOnlyWhatTheTokenReads() async throws {
        let scratch = TemporaryDirectory()
        let created = try await FirestreamProcess.run(
            ["token", "create", "--name", "analyst", "--scope", "topic:wiener:read", "--format", "json"], in: scratch.url)
        let lines = created.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let token = try #require(lines.first { $0.hasPrefix("fst_") }, "\(created.stdout)\(created.stderr)")
        let entry = try #require(lines.first { $0.hasPrefix("{") })
        try scratch.write("firestream.json", #"{"name": "signed", "gateway": {"tokens": ["# + entry + "]}}")
        let up = try RuntimeCommandTests.Running(
            ["up", "--kafka-port", "0", "--port", "0", "--rate", "5", "--status-interval", "0"], in: scratch.url)
        defer { up.interrupt() }
        let base = "http://127.0.0.1:\(try await up.port())"

        try await Self.withBrowserPage(profile: scratch.url.appendingPathComponent("chromium")) { devtools in
            let query = "SELECT count(*) AS n FROM records('wiener')".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            _ = try await devtools.call("Page.navigate", ["url": "\(base)/dashboard/sql?q=\(query)"])
            try await eventually("the sign-in form on /") {
                try await devtools.evaluate(
                    "location.pathname + ':' + (document.getElementById('login') ? getComputedStyle(document.getElementById('login')).display : '')")
                    == "/:block"
            }
            _ = try await devtools.evaluate(
                "document.getElementById('token').value = '\(token)'; document.getElementById('login').requestSubmit(); 'sent'")
            try await eventually("the SQL page to run the query after signing in") {
                let path = try await devtools.evaluate("location.pathname")
                let ran = try await devtools.evaluate("window.firestream && firestream.result ? 'ran' : ''")
                return path == "/dashboard/sql" && ran == "ran"
            }
            #expect(try await devtools.evaluate("document.getElementById('sql').value") == "SELECT count(*) AS n FROM records('wiener')")

            _ = try await devtools.call("Page.navigate", ["url": "\(base)/dashboard/catalog"])
            try await eventually("the catalog to show the one topic the token reads") {
                try await devtools.evaluate("window.firestream && firestream.catalog ? firestream.catalog.topics.map(t => t.name).join(',') : ''")
                    == "wiener"
            }
        }
    }
}
