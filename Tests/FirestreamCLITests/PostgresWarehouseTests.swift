import FirestreamTesting
import FirestreamWarehouse
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

#if canImport(Glibc)
    import Glibc
#endif

extension KafkaClusterTests {
    /// `up --warehouse postgres`: Debian's PostgreSQL run by Firestream, tables kept in it, and
    /// real clients (psql, psycopg, SQLAlchemy, pandas) reading them.
    @Suite(.serialized) struct PostgresWarehouseTests {
        static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

        /// A free loopback port for the server.
        static func freePort() throws -> Int {
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(socket) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) } }
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) } }
            return Int(UInt16(bigEndian: address.sin_port))
        }

        static func config(port: Int) -> String {
            """
            {"name": "bi", "warehouse": {"engine": "postgres", "port": \(port)}, "tables": [
              {"name": "points", "from": "wiener", "columns": {"device_id": {}, "measurement": {"type": "real"}, "event_time": {"type": "integer"}}},
              {"name": "latest", "from": "wiener", "mode": "upsert", "key": "device_id", "columns": {"device_id": {}, "measurement": {"type": "real"}}}
            ]}
            """
        }

        @Test func realClientsReadTablesFilledExactlyOnce() async throws {
            let scratch = TemporaryDirectory("fs-postgres")
            let port = try Self.freePort()
            try scratch.write("firestream.json", Self.config(port: port))
            let arguments = ["up", "--kafka-port", "0", "--port", "0", "--rate", "100", "--status-interval", "1"]
            let first = try RuntimeCommandTests.Running(arguments, in: scratch.url)
            try await first.waitFor("Running.")
            #expect(first.text.contains("warehouse: PostgreSQL (managed) at postgresql://firestream_reader:"), "\(first.text)")
            try await eventually("rows in latest", within: .seconds(60)) {
                (try? await FirestreamProcess.run(["sql", "--format", "csv", "SELECT count(*) FROM latest"], in: scratch.url).stdout)
                    == "count\r\n5\r\n"
            }
            // A crash: PostgreSQL outlives the killed `up`; the next one stops it and goes on.
            kill(first.process.processIdentifier, SIGKILL)
            await first.process.exited()
            let second = try RuntimeCommandTests.Running(arguments, in: scratch.url)
            try await second.waitFor("Running.")
            try await second.waitFor(app: "wiener", outputs: 50)
            #expect(second.text.contains("warehouse: stopping PostgreSQL"), "\(second.text)")

            let credentialsPath = scratch.url.appending(path: ".firestream/postgres-credentials.json").path
            let attributes = try FileManager.default.attributesOfItem(atPath: credentialsPath)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let credentials = try JSONDecoder().decode(
                ManagedPostgres.Credentials.self, from: Data(contentsOf: URL(fileURLWithPath: credentialsPath)))
            #expect(credentials.port == port && credentials.host == "127.0.0.1")

            // psql, as the read-only user: it reads, and cannot write.
            let psql = try await FirestreamProcess.run(
                ["-X", "-A", "-t", credentials.readerURL, "-c", "SELECT count(*) FROM latest"], in: scratch.url,
                executable: URL(fileURLWithPath: "/usr/bin/psql"))
            #expect(psql.status == 0 && psql.stdout == "5\n", "\(psql.stderr)")
            let write = try await FirestreamProcess.run(
                ["-X", credentials.readerURL, "-c", "DELETE FROM points"], in: scratch.url, executable: URL(fileURLWithPath: "/usr/bin/psql"))
            #expect(write.status != 0 && write.stderr.contains("cannot execute DELETE in a read-only transaction"), "\(write.stderr)")

            // psycopg, SQLAlchemy and pandas, as a BI tool's driver would connect.
            let clients = try await FirestreamProcess.run(
                ["python3", Self.repository.appending(path: "Tests/Interop/postgres_clients.py").path, credentials.readerURL], in: scratch.url,
                executable: URL(fileURLWithPath: "/usr/bin/env"), environment: nil)
            #expect(clients.status == 0, "\(clients.stdout)\(clients.stderr)")
            #expect(clients.stdout.contains("psycopg: 5 devices"), "\(clients.stdout)")
            #expect(clients.stdout.contains("sqlalchemy: tables latest, points"), "\(clients.stdout)")
            #expect(clients.stdout.contains("pandas: 5 rows, columns device_id, measurement, _partition, _offset, _timestamp"), "\(clients.stdout)")
            // Over HTTP: POST /sql runs on PostgreSQL (as the reader), and the catalog counts the
            // tables there, through the gateway and the CLI alike.
            let base = "http://127.0.0.1:\(try await second.port())"
            var post = URLRequest(url: URL(string: "\(base)/sql")!)
            post.httpMethod = "POST"
            post.httpBody = Data("SELECT count(*) AS n, current_setting('transaction_read_only') AS ro FROM latest".utf8)
            let (answer, response) = try await URLSession.shared.data(for: post)
            let sql = try JSONSerialization.jsonObject(with: answer) as? [String: Any]
            #expect((response as? HTTPURLResponse)?.statusCode == 200, "\(String(decoding: answer, as: UTF8.self))")
            #expect(sql?["engine"] as? String == "postgresql")
            #expect((sql?["rows"] as? [[Any]])?.first.map { "\($0)" } == #"[5, "on"]"#, "\(String(decoding: answer, as: UTF8.self))")
            for catalog in [
                try await URLSession.shared.data(from: URL(string: "\(base)/catalog")!).0,
                Data(try await FirestreamProcess.run(["catalog", "--format", "json"], in: scratch.url).stdout.utf8),
            ] {
                let tables = (try JSONSerialization.jsonObject(with: catalog) as? [String: Any])?["tables"] as? [[String: Any]] ?? []
                let latestEntry = tables.first { $0["name"] as? String == "latest" }
                #expect(latestEntry?["engine"] as? String == "postgresql", "\(tables)")
                #expect(latestEntry?["rows"] as? Int == 5, "\(tables)")
                #expect((tables.first { $0["name"] as? String == "points" }?["rows"] as? Int ?? 0) > 0, "\(tables)")
            }
            // Exactly once across the crash, read through `firestream sql` (on PostgreSQL while
            // `up` runs it): every Wiener output is one row of points, in offset order from 0, and
            // latest holds, per device, a row that is that device's output at its offset.
            let points = try await rows("SELECT _offset, device_id, measurement FROM points ORDER BY _offset", in: scratch)
            let latest = try await rows("SELECT _offset, device_id, measurement FROM latest ORDER BY device_id", in: scratch)
            #expect(await second.stop() == 0, "\(second.text)")
            let outputs = try await rows(
                "SELECT offset, value->>'$.device_id', value->>'$.measurement' FROM records('wiener') ORDER BY offset", in: scratch, engine: "sqlite")
            #expect(points.count > 50, "the table filled (\(points.count) rows)")
            #expect(points.map(\.offset) == Array(0..<Int64(points.count)), "each output once, none skipped")
            #expect(points.elementsEqual(outputs.prefix(points.count), by: ==), "points equals the topic")
            #expect(latest.count == 5)
            for row in latest {
                let output = try #require(outputs.first { $0.offset == row.offset })
                #expect(output == row, "latest's row is the topic's output at its offset")
            }
        }

        typealias Output = (offset: Int64, device: String, measurement: Double)

        /// `firestream sql` as CSV, parsed as (offset, device, measurement) rows.
        func rows(_ query: String, in scratch: TemporaryDirectory, engine: String = "postgres") async throws -> [Output] {
            let outcome = try await FirestreamProcess.run(["sql", "--warehouse", engine, "--format", "csv", query], in: scratch.url)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            return outcome.stdout.split(separator: "\r\n").dropFirst().compactMap { line in
                let fields = line.split(separator: ",")
                guard fields.count == 3, let offset = Int64(fields[0]), let value = Double(fields[2]) else { return nil }
                return (offset, String(fields[1]), value)
            }
        }
    }
}
