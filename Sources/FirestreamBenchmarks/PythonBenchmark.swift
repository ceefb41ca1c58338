import FirestreamDemo
import FirestreamLog
import FirestreamPython
import FirestreamStreams
import Foundation
import KafkaWire
import Synchronization

/// `firestream-bench python`: the demo's readings through the Python Wiener end to end
/// (durable: journal and outputs on the log, fsync), beside the same Python logic as a plain loop
/// over a file with no runtime and no durability, and the Swift Wiener on the same records.
enum PythonBenchmark {
    static func run(records: Int, in base: String, app: String) async throws {
        let path = Benchmarks.scratch(base)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let module = URL(fileURLWithPath: app).standardizedFileURL
        guard FileManager.default.fileExists(atPath: module.path) else { Benchmarks.fail("no Python app at \(module.path) (--python-app)") }
        let repositoryPackage = URL(fileURLWithPath: "python").standardizedFileURL
        if FileManager.default.fileExists(atPath: repositoryPackage.appending(path: "firestream/__init__.py").path) {
            setenv("PYTHONPATH", repositoryPackage.path, 1)
        }
        let (values, devices) = Benchmarks.metronomeReadings(records)
        print("\n== python: \(values.count) metronome records through the Python Wiener (\(module.lastPathComponent))")
        let lines = FileManager.default.temporaryDirectory.appending(path: "firestream-bench-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: lines) }
        var text = Data()
        for value in values {
            text.append(contentsOf: value.value!)
            text.append(0x0A)
        }
        try text.write(to: lines)
        try plainLoop(module: module, lines: lines)

        let log = try Log(directory: path)
        defer { log.close() }
        let input = try log.createTopic("metronome")
        for start in stride(from: 0, to: values.count, by: 5000) {
            _ = try await input.partitions[0].append(Array(values[start..<min(start + 5000, values.count)]))
        }
        let workers = PythonWorkers(
            PythonCommand(python: "python3", module: "\(module.lastPathComponent):Wiener", directory: module.deletingLastPathComponent()), count: 1)
        defer { workers.stop() }
        let runner = AppRunner(PythonApp(name: "wiener", inputs: ["metronome"], output: "wiener", workers: workers))
        try runner.prepare(log)
        let clock = ContinuousClock()
        let started = clock.now
        let task = Task { try await runner.run(log) }
        let output = try log.topic("wiener")
        let expected = Int64(values.count - devices.count)
        while output.recordCount < expected { try await Task.sleep(for: .milliseconds(2)) }
        let elapsed = Benchmarks.seconds(clock.now - started)
        task.cancel()
        try await task.value
        let inPython = Double(workers.exchangeNanoseconds) / 1e9
        print(
            String(
                format:
                    "  firestream, durable: %d events in %.3f s = %.0f events/s (%d steps); %.3f s in exchanges with the worker (%.0f%%), %.3f s in the runtime",
                values.count, elapsed, Double(values.count) / elapsed, runner.counters.steps.load(ordering: .relaxed), inPython,
                100 * inPython / elapsed, elapsed - inPython))
    }

    /// The app's logic in a plain Python loop: read a line, decode, process, encode the output.
    static func plainLoop(module: URL, lines: URL) throws {
        let script = """
            import json, sys, time
            sys.path.insert(0, sys.argv[1])
            from firestream import State, Context
            from firestream._app import App
            from wiener import Wiener
            app, states, count = Wiener(), {}, 0
            with open(sys.argv[2], "rb") as f:
                data = f.read().splitlines()
            start = time.perf_counter()
            for line in data:
                reading = json.loads(line)
                key = app.key(reading)
                state = State(states.get(key))
                out = app.process(reading, state, Context(0, 0))
                states[key] = state.get()
                if out is not None:
                    count += len(app.encode(out.value))
            loop = time.perf_counter() - start
            start = time.perf_counter()
            for line in data:
                json.loads(line)
            decode = time.perf_counter() - start
            print("%d %.6f %.6f" % (len(data), loop, decode))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, module.deletingLastPathComponent().path, lines.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let answer = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ")
        process.waitUntilExit()
        guard answer.count == 3, let count = Double(answer[0]), let loop = Double(answer[1]),
            let decode = Double(answer[2].trimmingCharacters(in: .whitespacesAndNewlines))
        else { Benchmarks.fail("the plain Python loop failed") }
        print(
            String(
                format: "  plain Python loop over a file, no durability: %.0f records/s (%.3f s; json.loads alone %.0f%% of it)", count / loop, loop,
                100 * decode / loop))
    }
}
