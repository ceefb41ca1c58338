import FirestreamTesting
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

extension KafkaClusterTests {
    /// Real Apache Airflow (3.3, from `.build/airflow/venv`, which the README's test command
    /// installs) running the provider's example DAGs against a real `firestream up`.
    @Suite(.serialized) struct AirflowTests {
        static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        static let venv = repository.appending(path: ".build/airflow/venv/bin")

        /// Airflow's settings for one test: its home in `scratch`, the example DAGs, the connection.
        static func environment(in scratch: TemporaryDirectory, port: Int) -> [String: String] {
            var environment = ProcessInfo.processInfo.environment
            environment["PATH"] = venv.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
            environment["AIRFLOW_HOME"] = scratch.url.appending(path: "airflow").path
            environment["AIRFLOW__CORE__DAGS_FOLDER"] = repository.appending(path: "integrations/airflow/example_dags").path
            environment["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
            environment["AIRFLOW_CONN_FIRESTREAM_DEFAULT"] = #"{"conn_type": "firestream", "host": "http://127.0.0.1:\#(port)"}"#
            return environment
        }

        static func airflow() throws -> URL {
            let airflow = venv.appending(path: "airflow")
            try #require(
                FileManager.default.isExecutableFile(atPath: airflow.path),
                "Airflow is not installed: scripts/test installs it into .build/airflow/venv (require_airflow)")
            return airflow
        }

        /// `airflow dags test`: produce → poke sensor → deferrable sensor (records posted from
        /// here once it waits) → read back by offsets.
        @Test func theExampleDagProducesWaitsInBothModesAndReadsBack() async throws {
            let airflow = try Self.airflow()
            let scratch = TemporaryDirectory("fs-airflow")
            try scratch.write("firestream.json", #"{"topics": [{"name": "airflow-orders"}]}"#)
            let up = try RuntimeCommandTests.Running(["up", "--kafka-port", "0", "--port", "0", "--status-interval", "0"], in: scratch.url)
            defer { up.interrupt() }
            let port = try await up.port()
            let environment = Self.environment(in: scratch, port: port)
            let migrated = try await FirestreamProcess.run(["db", "migrate"], in: scratch.url, executable: airflow, environment: environment)
            #expect(migrated.status == 0, "\(migrated.stderr)")

            let run = try RuntimeCommandTests.Running(
                ["dags", "test", "firestream_produce_and_wait"], in: scratch.url, environment: environment, executable: airflow)
            defer { run.interrupt() }
            try await eventually("the deferrable sensor to wait (\(run.text.suffix(2000)))", within: .seconds(180)) {
                run.text.contains("Deferring: waiting for 2 new record(s) in airflow-orders") || !run.process.isRunning
            }
            try #require(run.process.isRunning, "airflow dags test ended before its sensor deferred: \(run.text.suffix(4000))")
            // A record that does not match, then the two the sensor waits for.
            let body = "{\"from\":\"elsewhere\"}\n{\"from\":\"outside\"}\n{\"from\":\"outside\"}\n"
            #expect(try await Self.post(port: port, topic: "airflow-orders", ndjson: body) == 200)
            try await eventually("airflow dags test to finish (\(run.text.suffix(2000)))", within: .seconds(180)) { !run.process.isRunning }
            let output = run.text
            #expect(run.process.terminationStatus == 0, "\(output.suffix(4000))")
            #expect(output.contains("read back 3 record(s) of run"), "\(output.suffix(4000))")
            #expect(output.contains("airflow-orders: 2 record(s) arrived"), "\(output.suffix(4000))")
            // Three records of the run, the one that did not match and the two from outside.
            let described = try await Self.get(port: port, path: "/topics/airflow-orders")
            #expect(described.contains(#""records":6"#), "\(described)")
        }

        static func post(port: Int, topic: String, ndjson: String) async throws -> Int {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/topics/\(topic)")!)
            request.httpMethod = "POST"
            request.httpBody = Data(ndjson.utf8)
            request.setValue("application/x-ndjson", forHTTPHeaderField: "Content-Type")
            let (_, response) = try await URLSession.shared.data(for: request)
            return (response as? HTTPURLResponse)?.statusCode ?? 0
        }

        static func get(port: Int, path: String) async throws -> String {
            let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            return String(decoding: data, as: UTF8.self)
        }
    }
}
