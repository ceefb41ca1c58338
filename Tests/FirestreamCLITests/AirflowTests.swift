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

        /// A DAG scheduled on a topic through `FirestreamNewRecordsTrigger`; each run writes the
        /// batch it was started for to `airflow-runs`.
        static let eventDag = """
            from datetime import datetime

            from airflow.sdk import Asset, AssetWatcher, dag, task

            from airflow_provider_firestream.hooks.firestream import FirestreamHook
            from airflow_provider_firestream.triggers.records import FirestreamNewRecordsTrigger

            EVENTS = Asset(
                name="firestream_airflow_events",
                uri="firestream://topics/airflow-events",
                watchers=[AssetWatcher(name="events", trigger=FirestreamNewRecordsTrigger(topic="airflow-events", start="earliest", poll_interval=1.0))],
            )


            @dag(schedule=[EVENTS], start_date=datetime(2026, 1, 1), catchup=False)
            def on_events():
                @task
                def record_the_batch(triggering_asset_events=None, run_id=None):
                    batches = [event.extra.get("payload", event.extra) for event in triggering_asset_events[EVENTS]]
                    FirestreamHook().produce("airflow-runs", [{"run": run_id, "batches": batches}])

                record_the_batch()


            on_events()


            PUSHED = Asset(name="firestream_airflow_pushed", uri="firestream://topics/airflow-pushed")


            @dag(schedule=[PUSHED], start_date=datetime(2026, 1, 1), catchup=False)
            def on_pushed():
                @task
                def record_the_events(triggering_asset_events=None, run_id=None):
                    events = [event.extra for event in triggering_asset_events[PUSHED]]
                    FirestreamHook().produce("airflow-runs", [{"run": run_id, "pushed": events}])

                record_the_events()


            on_pushed()
            """

        /// `up --with airflow`: `airflow standalone` from the virtualenv, wired to the gateway;
        /// an AssetWatcher on a topic starts exactly one DAG run per posted batch; an `airflow`
        /// effect signs in as a user of its own and turns a topic's records into asset events;
        /// and Ctrl-C stops Airflow with Firestream. The gateway needs tokens: Airflow's come from `up`.
        @Test func upWithAirflowStartsOneDagRunPerBatchAndStopsWithIt() async throws {
            _ = try Self.airflow()
            let scratch = TemporaryDirectory("fs-airflow")
            let airflowPort = try freePort()
            let tester = try await KafkaClientTests.createToken("tester", scopes: ["admin"], in: scratch.url)
            try scratch.write(
                "firestream.json",
                """
                {"gateway": {"tokens": [\(tester.entry)]},
                 "topics": [{"name": "airflow-events"}, {"name": "airflow-runs"}, {"name": "airflow-pushed"}],
                 "effects": [{"name": "to-airflow", "kind": "airflow", "topic": "airflow-pushed", "url": "http://127.0.0.1:\(airflowPort)",
                              "airflow": {"asset": "firestream://topics/airflow-pushed", "username": "firestream", "passwordEnv": "TEST_AIRFLOW_PASSWORD"}}]}
                """)
            try FileManager.default.createDirectory(at: scratch.url.appending(path: "dags"), withIntermediateDirectories: true)
            try scratch.write("dags/on_events.py", Self.eventDag)
            // A user of Airflow's own for the effect, with a password Airflow reads from this file.
            try scratch.write("passwords.json", #"{"firestream": "s3cret-for-tests"}"#)
            let up = try RuntimeCommandTests.Running(
                [
                    "up", "--with", "airflow", "--airflow-venv", Self.venv.deletingLastPathComponent().path, "--airflow-port", String(airflowPort),
                    "--port", "0", "--kafka-port", "0", "--status-interval", "0",
                ], in: scratch.url,
                environment: [
                    "TEST_AIRFLOW_PASSWORD": "s3cret-for-tests", "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "firestream:admin",
                    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": scratch.url.appending(path: "passwords.json").path,
                ])
            defer { up.interrupt() }
            let port = try await up.port()
            #expect(try await Self.exchange(port: port, path: "/topics").status == 401)
            try await up.waitFor("  airflow: http://127.0.0.1:\(airflowPort) (airflow standalone from")
            let log = scratch.url.appending(path: ".firestream/airflow/home/standalone.log")
            func tail() -> String { String(((try? String(contentsOf: log, encoding: .utf8)) ?? "").suffix(3000)) }
            try await eventually("Airflow to answer (\(tail()))", within: .seconds(240)) {
                (try? await Self.get(port: airflowPort, path: "/api/v2/monitor/health"))?.contains("healthy") == true
            }

            func runs(_ field: String = "batches") async throws -> [[String: Any]] {
                let answer = try await Self.get(port: port, path: "/topics/airflow-runs/records", token: tester.token)
                let records = (try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any])?["records"] as? [[String: Any]] ?? []
                return records.compactMap { ($0["value"] as? [String: Any])?[field] as? [[String: Any]] }.flatMap { $0 }
            }
            // Three batches, each posted once the run of the one before has finished.
            for (index, batch) in [3, 2, 1].enumerated() {
                let lines = (0..<batch).map { "{\"batch\":\(index),\"n\":\($0)}\n" }.joined()
                #expect(try await Self.post(port: port, topic: "airflow-events", ndjson: lines, token: tester.token) == 200)
                try await eventually("DAG run \(index + 1) (\(tail()))", within: .seconds(180)) { try await runs().count > index }
            }
            let seen = try await runs()
            #expect(seen.map { $0["count"] as? Int } == [3, 2, 1], "\(seen)")
            #expect(seen.map { $0["from"] as? [String: Int] } == [["0": 0], ["0": 3], ["0": 5]], "\(seen)")

            // Firestream → Airflow: the effect's asset events start the DAG scheduled on the asset.
            let pushed = (0..<4).map { "{\"pushed\":\($0)}\n" }.joined()
            #expect(try await Self.post(port: port, topic: "airflow-pushed", ndjson: pushed, token: tester.token) == 200)
            func pushedValues() async throws -> [Int] {
                try await runs("pushed").flatMap { ($0["values"] as? [[String: Int]] ?? []).compactMap { $0["pushed"] } }
            }
            try await eventually("the pushed DAG run (\(tail()); \(up.text.suffix(1500)))", within: .seconds(180)) {
                try await pushedValues().count >= 4
            }
            #expect(try await pushedValues().sorted() == [0, 1, 2, 3])
            let events = try await runs("pushed")
            #expect(events.allSatisfy { ($0["firestream"] as? [String: Any])?["topic"] as? String == "airflow-pushed" }, "\(events)")
            #expect(events.allSatisfy { $0["from_rest_api"] as? Bool == true }, "\(events)")

            // Ctrl-C stops Airflow (its whole process group) and then Firestream, gracefully.
            #expect(await up.stop() == 0, "\(up.text)")
            try await eventually("every Airflow process to end", within: .seconds(60)) {
                try await FirestreamProcess.run(
                    ["-f", "^airflow |\(Self.venv.path)/airflow "], in: scratch.url, executable: URL(fileURLWithPath: "/usr/bin/pgrep")
                ).status == 1
            }
        }

        /// `init --template airflow` writes a DAG that Airflow loads: scheduled on the demo's
        /// `wiener` topic through the provider's trigger.
        @Test func theAirflowTemplatesDagLoadsInAirflow() async throws {
            _ = try Self.airflow()
            let scratch = TemporaryDirectory("fs-airflow")
            let created = try await FirestreamProcess.run(["init", "ops", "--template", "airflow", "--yes"], in: scratch.url)
            #expect(created.status == 0, "\(created.stderr)")
            #expect(created.stdout.contains("Created dags/wiener_positions.py"))
            #expect(try scratch.read("ops/firestream.json").contains("\"service_name\": \"airflow\""))
            let check = """
                import runpy
                found = runpy.run_path("dags/wiener_positions.py")
                dag = found["wiener_positions"]()
                trigger = found["WIENER"].watchers[0].trigger
                print(dag.dag_id, trigger.topic, trigger.serialize()[0], sorted(dag.task_ids))
                """
            let loaded = try await FirestreamProcess.run(
                ["-c", check], in: scratch.url.appending(path: "ops"), executable: Self.venv.appending(path: "python"))
            #expect(loaded.status == 0, "\(loaded.stderr)")
            #expect(
                loaded.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                    == "wiener_positions wiener airflow_provider_firestream.triggers.records.FirestreamNewRecordsTrigger ['latest_positions']",
                "\(loaded.stdout) \(loaded.stderr)")
        }

        static func post(port: Int, topic: String, ndjson: String, token: String? = nil) async throws -> Int {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/topics/\(topic)")!)
            request.httpMethod = "POST"
            request.httpBody = Data(ndjson.utf8)
            request.setValue("application/x-ndjson", forHTTPHeaderField: "Content-Type")
            if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
            let (_, response) = try await URLSession.shared.data(for: request)
            return (response as? HTTPURLResponse)?.statusCode ?? 0
        }

        static func get(port: Int, path: String, token: String? = nil) async throws -> String {
            try await exchange(port: port, path: path, token: token).body
        }

        static func exchange(port: Int, path: String, token: String? = nil) async throws -> (status: Int, body: String) {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
        }
    }
}
