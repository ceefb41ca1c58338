import FirestreamDemo
import FirestreamJSON
import FirestreamLog
import FirestreamPython
import FirestreamStreams
import FirestreamTesting
import Foundation
import KafkaWire
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

extension KafkaClusterTests {
    /// Apps written in Python, run by the real `firestream up` with real worker processes.
    @Suite(.serialized) struct PythonAppTests {
        static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        /// The package from this checkout, whatever else is installed.
        static let environment = ["PYTHONPATH": repository.appending(path: "python").path]

        /// A project folder with the example apps and `config`.
        static func project(_ config: String) throws -> TemporaryDirectory {
            let scratch = TemporaryDirectory("fs-python")
            let apps = scratch.url.appending(path: "apps")
            try FileManager.default.createDirectory(at: apps, withIntermediateDirectories: true)
            for file in ["wiener.py", "sessions.py"] {
                // wiener.py is a link to the template `init --template python` writes.
                let source = repository.appending(path: "examples/python/apps/\(file)").resolvingSymlinksInPath()
                try FileManager.default.copyItem(at: source, to: apps.appending(path: file))
            }
            try scratch.write("firestream.json", config)
            return scratch
        }

        static func records(_ topic: String, in data: String) throws -> [ConsumerRecord] {
            let log = try Log(directory: data)
            defer { log.close() }
            return try drain(log.topic(topic).partitions[0])
        }

        @Test func thePythonWienerWritesTheSwiftWienersBytes() async throws {
            let scratch = try Self.project(
                """
                {"name": "twins", "topics": [{"name": "metronome"}],
                 "apps": [{"name": "metronome", "kind": "metronome", "settings": {"devices": 5}},
                          {"name": "swift", "kind": "wiener", "settings": {"output": "wiener-swift"}},
                          {"name": "py", "kind": "python", "settings": {"module": "apps/wiener.py:Wiener"}}]}
                """)
            let data = scratch.url.appending(path: "data").path
            let up = try RuntimeCommandTests.Running(
                ["up", "--no-http", "--no-kafka", "--rate", "400", "--status-interval", "1", "--data-dir", data], in: scratch.url,
                environment: Self.environment)
            try await up.waitFor(app: "py", outputs: 3000)
            #expect(await up.stop() == 0, "\(up.text)")
            let swift = try Self.records("wiener-swift", in: data)
            let python = try Self.records("wiener", in: data)
            let compared = min(swift.count, python.count)
            #expect(compared >= 3000)
            #expect(
                zip(swift, python).allSatisfy { $0.value == $1.value && $0.key == $1.key },
                "the first difference: \(Self.firstDifference(swift, python))"
            )
        }

        static func firstDifference(_ a: [ConsumerRecord], _ b: [ConsumerRecord]) -> String {
            guard let index = a.indices.first(where: { $0 < b.count && (a[$0].value != b[$0].value || a[$0].key != b[$0].key) }) else {
                return "none"
            }
            return
                "offset \(index): \(String(decoding: a[index].value ?? [], as: UTF8.self)) vs \(String(decoding: b[index].value ?? [], as: UTF8.self))"
        }

        @Test func timersFireForIdleKeysAndWhatRaisesIsADeadLetterWithItsTraceback() async throws {
            let scratch = try Self.project(
                """
                {"name": "clicks", "topics": [{"name": "clicks", "key": "/user"}],
                 "apps": [{"name": "sessions", "kind": "python", "settings": {"module": "apps/quick.py:Quick"}}]}
                """)
            try scratch.write(
                "apps/quick.py",
                """
                from sessions import Sessions

                class Quick(Sessions):
                    gap_ms = 300

                    def process(self, click, state, ctx):
                        if click.get("boom"):
                            raise RuntimeError("boom for " + click["user"])
                        return super().process(click, state, ctx)

                """)
            let up = try RuntimeCommandTests.Running(
                ["up", "--port", "0", "--no-kafka", "--status-interval", "0", "--data-dir", scratch.url.appending(path: "data").path],
                in: scratch.url,
                environment: Self.environment)
            defer { up.interrupt() }
            let port = try await up.port()
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/topics/clicks")!)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(
                #"[{"user": "a", "page": "/"}, {"user": "b", "page": "/"}, {"user": "a", "page": "/cart"}, {"user": "a", "boom": true}]"#.utf8)
            let (_, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            var sessions: [[String: Any]] = []
            try await eventually("both sessions to close after 300 ms without clicks") {
                let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/topics/sessions/records?limit=10")!)
                let body = try JSONSerialization.jsonObject(with: data) as? [String: Any]
                sessions = (body?["records"] as? [[String: Any]] ?? []).compactMap { $0["value"] as? [String: Any] }
                return sessions.count >= 2
            }
            let byUser = Dictionary(uniqueKeysWithValues: sessions.map { ($0["user"] as? String ?? "?", $0) })
            #expect(byUser["a"]?["pages"] as? [String] == ["/", "/cart"])
            #expect(byUser["b"]?["clicks"] as? Int == 1)
            let (letters, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/topics/sessions.dlq/records?limit=10")!)
            let text = String(decoding: letters, as: UTF8.self)
            #expect(text.contains("Traceback (most recent call last)") && text.contains("RuntimeError: boom for a"), "\(text)")
        }
    }
}

extension KafkaClusterTests.PythonAppTests {
    /// The Python workers `up` (process `parent`) runs: its children running firestream.worker
    /// (not the one that describes the app at start).
    static func workers(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let fields = stat.split(separator: ")").last?.split(separator: " "), fields.count > 2, Int32(fields[1]) == parent,
                let command = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
            else { return false }
            let line = String(decoding: command, as: UTF8.self)
            return line.contains("firestream.worker") && !line.contains("--describe")
        }
    }

    /// SIGKILL `up` at random moments, and its Python worker at others, while the demo runs at
    /// 500 readings/s through the Python Wiener: the outputs are those of a run without
    /// crashes, byte for byte (the Swift app's encoding), none missing and none twice.
    @Test func outputsAreExactlyOnceAcrossSIGKILLOfUpAndOfThePythonWorker() async throws {
        let scratch = try Self.project(
            """
            {"name": "crashes", "topics": [{"name": "metronome"}, {"name": "wiener"}],
             "apps": [{"name": "metronome", "kind": "metronome", "settings": {"devices": 5}},
                      {"name": "wiener", "kind": "python", "settings": {"module": "apps/wiener.py:Wiener"}}]}
            """)
        let data = scratch.url.appending(path: "data").path
        let seed = UInt64(ProcessInfo.processInfo.environment["FIRESTREAM_CRASH_SEED"] ?? "") ?? 20_261_126
        var random = SplitMix64(seed: seed)
        let arguments = [
            "up", "--kafka-port", "0", "--no-http", "--rate", "500", "--status-interval", "0", "--snapshot-every", "16Ki", "--data-dir", data,
        ]
        var workerKills = 0
        for _ in 0..<8 {
            let up = try RuntimeCommandTests.Running(arguments, in: scratch.url, environment: Self.environment)
            for _ in 0..<3 {
                try await Task.sleep(for: .milliseconds(Int.random(in: 50...300, using: &random)))
                // Once the worker is there (it starts with the first step).
                do {
                    try await eventually("a Python worker under up (seed \(seed))", within: .seconds(20)) {
                        !Self.workers(of: up.process.processIdentifier).isEmpty
                    }
                } catch {
                    Issue.record("no worker under \(up.process.processIdentifier): \(up.text)")
                    throw error
                }
                for worker in Self.workers(of: up.process.processIdentifier) {
                    kill(worker, SIGKILL)
                    workerKills += 1
                }
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 50...300, using: &random)))
            kill(up.process.processIdentifier, SIGKILL)
            await up.process.exited()
        }
        #expect(workerKills >= 16, "the Python worker was killed only \(workerKills) times (seed \(seed))")
        let last = try RuntimeCommandTests.Running(arguments, in: scratch.url, environment: Self.environment)
        do {
            try await last.waitFor("Running.")
        } catch {
            Issue.record("the last run did not start: \(last.text)")
            throw error
        }
        #expect(await last.stop() == 0, "\(last.text)")

        // The Python Wiener alone, in this process, until it has read every reading.
        setenv("PYTHONPATH", Self.environment["PYTHONPATH"]!, 1)
        let log = try Log(directory: data)
        defer { log.close() }
        let readings = try log.topic("metronome").partitions[0]
        let wiener = try log.topic("wiener")
        let expectedOutputs = Int(readings.durableOffset) - 5
        #expect(expectedOutputs > 1000, "the demo produced too little to test (seed \(seed))")
        let workers = PythonWorkers(PythonCommand(python: "python3", module: "apps/wiener.py:Wiener", directory: scratch.url), count: 1)
        let app = PythonApp(name: "wiener", inputs: ["metronome"], output: "wiener", workers: workers)
        let running = Task { try await AppRunner(app, limits: TaskLimits(snapshotEveryBytes: 16 * 1024)).run(log) }
        try await eventually("the Python wiener to catch up with every reading (seed \(seed))", within: .seconds(60)) {
            wiener.recordCount >= expectedOutputs
        }
        running.cancel()
        try await running.value
        workers.stop()

        // The crash-free reference: the Swift Wiener over the readings stored, encoded as it encodes.
        let model = WienerApp()
        var states: [String: WienerApp.State] = [:]
        var expected: [String: [[UInt8]]] = [:]
        for record in try drain(readings) {
            let reading = try model.decode(record.value!)
            var state = states[reading.deviceID]
            var context = ProcessingContext(now: 0, timestamp: 0)
            expected[reading.deviceID, default: []] += try model.process(reading, state: &state, context: &context).map(model.encode)
            states[reading.deviceID] = state
        }
        var actual: [String: [[UInt8]]] = [:]
        for record in try drain(wiener.partitions[0]) {
            actual[String(decoding: record.key ?? [], as: UTF8.self), default: []].append(record.value ?? [])
        }
        #expect(wiener.recordCount == expectedOutputs, "(seed \(seed))")
        #expect(expected.count == 5)
        for (device, values) in expected {
            #expect(actual[device] == values, "device \(device) diverges from the crash-free reference (seed \(seed))")
        }
    }
}

extension KafkaClusterTests.PythonAppTests {
    /// `init --template python` makes a project that validates, whose test passes with pytest,
    /// and whose app `apps test` runs.
    @Test func thePythonTemplateValidatesAndItsTestsPass() async throws {
        let scratch = TemporaryDirectory("fs-template")
        let created = try await FirestreamProcess.run(["init", "shop", "--template", "python", "--yes"], in: scratch.url)
        #expect(created.status == 0, "\(created.stderr)")
        let project = scratch.url.appending(path: "shop")
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = Self.environment["PYTHONPATH"]
        let validated = try await FirestreamProcess.run(["validate"], in: project, environment: environment)
        #expect(validated.status == 0, "\(validated.stderr)")
        #expect(validated.stdout.contains("2 app(s)"))
        let python = URL(fileURLWithPath: "/usr/bin/env")
        let tests = try await FirestreamProcess.run(
            ["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], in: project, executable: python, environment: environment)
        #expect(tests.status == 0, "\(tests.stdout)\(tests.stderr)")
        #expect(tests.stdout.contains("2 passed"))
        try
            "{\"device_id\": \"d\", \"event_time\": 0, \"magnitude\": 2.0, \"direction\": 1}\n{\"device_id\": \"d\", \"event_time\": 4000, \"magnitude\": 2.0, \"direction\": 1}\n"
            .write(to: project.appending(path: "sample.jsonl"), atomically: true, encoding: .utf8)
        let run = try await FirestreamProcess.run(
            ["apps", "test", "apps/wiener.py:Wiener", "--input", "sample.jsonl"], in: project, environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            run.stdout == """
                output       key=d  {"device_id":"d","event_time":4000,"measurement":4.0,"increment":4.0}
                state        d  {"last":4000,"position":4.0}

                """)
        // Outputs that are not JSON (text written as it is) are strings in the JSON form.
        let upper =
            "from firestream import Map\n\nclass Upper(Map):\n    inputs = [\"in\"]\n    output = \"out\"\n\n    def map(self, record):\n        return record.upper()\n"
        try upper.write(to: project.appending(path: "apps/upper.py"), atomically: true, encoding: .utf8)
        try "\"a\"\n".write(to: project.appending(path: "words.jsonl"), atomically: true, encoding: .utf8)
        let text = try await FirestreamProcess.run(
            ["apps", "test", "apps/upper.py:Upper", "--input", "words.jsonl", "--format", "json"], in: project, environment: environment)
        #expect(text.stdout == "{\"output\":\"A\",\"key\":null}\n", "\(text.stderr)")
    }
}
