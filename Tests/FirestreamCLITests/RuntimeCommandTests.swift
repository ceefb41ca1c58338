import FirestreamDemo
import FirestreamTesting
import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// `firestream up` and `firestream topics` through the real binary.
@Suite(.serialized) struct RuntimeCommandTests {
    /// Starts `firestream up` in `directory`, capturing its output into files.
    final class Running {
        let process = Process()
        let output: URL

        init(_ arguments: [String], in directory: URL, environment: [String: String] = [:], executable: URL = FirestreamProcess.binary) throws {
            output = directory.appendingPathComponent("up-\(UUID().uuidString).log")
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            process.executableURL = executable
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            process.arguments = arguments
            process.currentDirectoryURL = directory
            let handle = try FileHandle(forWritingTo: output)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
        }

        var text: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

        /// The HTTP port `up` reports (`http:   http://127.0.0.1:PORT`), waiting up to 20 s for it.
        func port() async throws -> Int {
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                if let line = text.split(separator: "\n").first(where: { $0.contains("http:   http://") }),
                    let port = line.split(separator: ":").dropFirst(3).first.flatMap({ Int($0.prefix { $0.isNumber }) })
                {
                    return port
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            Issue.record("firestream up did not report its port: \(text)")
            throw CancellationError()
        }

        /// Waits (up to 30 s) until the output holds `text`, or a status line reports that
        /// `app` has written at least `outputs` records.
        func waitFor(_ text: String? = nil, app: String? = nil, outputs: Int = 0) async throws {
            try await eventually("firestream up to print \(text ?? "\(outputs) outputs of \(app ?? "")")") {
                if let text, !self.text.contains(text) { return false }
                guard let app else { return true }
                return self.text.split(separator: "\n").contains { line in
                    guard let part = line.split(separator: ";").first(where: { $0.contains("\(app): ") }),
                        let written = part.split(separator: ",").dropFirst().first?.split(separator: " ").first.flatMap({ Int($0) })
                    else { return false }
                    return written >= outputs
                }
            }
        }

        /// Sends SIGINT and waits; returns the exit status.
        func stop() async -> Int32 {
            kill(process.processIdentifier, SIGINT)
            await process.exited()
            return process.terminationStatus
        }

        /// Sends SIGINT and returns at once: for a `defer`, which cannot wait (the process ends
        /// on its own; Foundation reaps it).
        func interrupt() {
            if process.isRunning { kill(process.processIdentifier, SIGINT) }
        }
    }

    @Test func upRunsTheDemoAndStopsCleanly() async throws {
        let scratch = TemporaryDirectory()
        let up = try Running(["up", "--kafka-port", "0", "--port", "0", "--rate", "50", "--status-interval", "1"], in: scratch.url)
        try await up.waitFor(app: "wiener", outputs: 25)
        #expect(await up.stop() == 0)
        let text = up.text
        // The project is named after its directory (a DNS label: lower case).
        #expect(text.contains("project \"\(scratch.url.lastPathComponent.lowercased())\""))
        #expect(text.contains("app:    metronome (source) → metronome: 5 devices, 50 tick(s)/s"))
        #expect(text.contains("app:    wiener (WienerApp) metronome → wiener"))
        #expect(text.contains("Stopped: every app finished its step"))
        #expect(FileManager.default.fileExists(atPath: scratch.url.appendingPathComponent(".firestream/topics/wiener/0").path))

        let listed = try await FirestreamProcess.run(["topics", "list"], in: scratch.url)
        #expect(listed.status == 0)
        #expect(listed.stdout.contains("metronome"))
        #expect(!listed.stdout.contains("__wiener.journal"))
        let tail = try await FirestreamProcess.run(["topics", "tail", "wiener", "--from-beginning", "--format", "json"], in: scratch.url)
        let lines = tail.stdout.split(separator: "\n")
        #expect(lines.count > 20)
        let objects = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(objects.map { $0["offset"] as! Int } == Array(0..<objects.count))
        #expect(objects.allSatisfy { ($0["value"] as? [String: Any])?["measurement"] is Double })
        let last = try await FirestreamProcess.run(["topics", "tail", "metronome", "--last", "3"], in: scratch.url)
        #expect(last.stdout.split(separator: "\n").count == 3)
        let described = try await FirestreamProcess.run(["topics", "describe", "wiener"], in: scratch.url)
        #expect(described.stdout.contains("retention:  1w"))
    }

    @Test func oneDataDirectoryOneWriter() async throws {
        let scratch = TemporaryDirectory()
        let first = try Running(["up", "--kafka-port", "0", "--port", "0", "--status-interval", "0"], in: scratch.url)
        try await first.waitFor("Running.")
        let second = try await FirestreamProcess.run(["up", "--kafka-port", "0", "--port", "0"], in: scratch.url)
        #expect(second.status == 1)
        #expect(second.stderr.contains("another firestream process (pid \(first.process.processIdentifier)) is using"))
        let create = try await FirestreamProcess.run(["topics", "create", "clicks"], in: scratch.url)
        #expect(create.status == 1)
        #expect(create.stderr.contains("stop it first"))
        #expect(await first.stop() == 0)
        let created = try await FirestreamProcess.run(["topics", "create", "clicks", "--partitions", "3"], in: scratch.url)
        #expect(created.stdout == "created topic clicks with 3 partitions\n")
        let refused = try await FirestreamProcess.run(["topics", "delete", "clicks"], in: scratch.url)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("pass --yes to confirm"))
        let deleted = try await FirestreamProcess.run(["topics", "delete", "clicks", "--yes"], in: scratch.url)
        #expect(deleted.status == 0)
    }

    @Test func tailFollowsARunningUp() async throws {
        let scratch = TemporaryDirectory()
        let up = try Running(["up", "--kafka-port", "0", "--port", "0", "--rate", "20", "--status-interval", "1"], in: scratch.url)
        defer { up.interrupt() }
        try await up.waitFor(app: "wiener", outputs: 1)
        let follower = Process()
        follower.executableURL = FirestreamProcess.binary
        follower.arguments = ["topics", "tail", "wiener", "--last", "0", "--follow", "--format", "json"]
        follower.currentDirectoryURL = scratch.url
        let output = scratch.url.appendingPathComponent("tail.out")
        let errors = scratch.url.appendingPathComponent("tail.err")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        follower.standardOutput = try FileHandle(forWritingTo: output)
        follower.standardError = try FileHandle(forWritingTo: errors)
        try follower.run()
        func lines() -> [Substring] { ((try? String(contentsOf: output, encoding: .utf8)) ?? "").split(separator: "\n") }
        // New records arrive while it follows (20 ticks/s × 5 devices).
        try await eventually("the follower to print 50 records (stderr: \((try? String(contentsOf: errors, encoding: .utf8)) ?? ""))") {
            lines().count >= 50
        }
        kill(follower.processIdentifier, SIGINT)
        await follower.exited()
        let objects = try lines().map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
        let offsets = objects.compactMap { $0["offset"] as? Int }
        #expect(offsets.count == objects.count)
        #expect(offsets.first.map { offsets == Array($0..<($0 + offsets.count)) } == true)
    }

    @Test func aBusyPortIsExplained() async throws {
        let scratch = TemporaryDirectory()
        let first = try Running(["up", "--kafka-port", "0", "--port", "0", "--status-interval", "0"], in: scratch.url)
        let busy = try await first.port()
        let other = TemporaryDirectory()
        let second = try await FirestreamProcess.run(["up", "--kafka-port", "0", "--port", String(busy)], in: other.url)
        #expect(second.status == 1)
        #expect(second.stderr.contains("cannot listen on 127.0.0.1:\(busy): address already in use"))
        #expect(await first.stop() == 0)
    }

    /// 2,000 partitions need ~8,000 open files: `up` raises its soft limit (1,024 here) to the
    /// hard one and runs; where the hard limit is too low, `validate` and `up` both say so.
    @Test func manyPartitionsRunOrAreRefusedWithTheNumbers() async throws {
        let scratch = TemporaryDirectory()
        try scratch.write("firestream.json", #"{"topics": [{"name": "big", "partitions": 2000}]}"#)
        let shell = URL(fileURLWithPath: "/bin/sh")
        let binary = FirestreamProcess.binary.path
        let tooLow = try await FirestreamProcess.run(["-c", "ulimit -n 2048 && exec '\(binary)' validate"], in: scratch.url, executable: shell)
        #expect(tooLow.status == 1)
        #expect(tooLow.stderr.contains("the log needs about 8028 open files for 2007 partitions"))
        #expect(tooLow.stderr.contains("may open only 2048; raise the limit (ulimit -n 9052)"))
        let refused = try await FirestreamProcess.run(["-c", "ulimit -n 2048 && exec '\(binary)' up --port 0"], in: scratch.url, executable: shell)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("may open only 2048"))
        #expect(
            !FileManager.default.fileExists(atPath: scratch.url.appendingPathComponent(".firestream/topics/big").path), "nothing was half-created")

        let hard = try await FirestreamProcess.run(["-c", "ulimit -Hn"], in: scratch.url, executable: shell).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        // A machine whose hard limit is below what 2,000 partitions need gets the refusal above only.
        guard hard == "unlimited" || Int(hard) ?? 0 >= 9052 else { return }
        let up = try Running(["-c", "ulimit -Sn 1024 && exec '\(binary)' up --port 0 --status-interval 0"], in: scratch.url, executable: shell)
        try await up.waitFor("Running.")
        #expect(await up.stop() == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.appendingPathComponent(".firestream/topics/big").path).count == 2001)
    }

    /// Listening beyond loopback needs tokens; a token from `token create` then opens the door.
    @Test func exposedGatewaysNeedTokens() async throws {
        let scratch = TemporaryDirectory()
        try scratch.write("firestream.json", #"{"topics": [{"name": "in"}]}"#)
        let open = try await FirestreamProcess.run(["up", "--kafka-port", "0", "--host", "0.0.0.0", "--port", "0"], in: scratch.url)
        #expect(open.status == 1)
        #expect(open.stderr.contains("refusing to listen on 0.0.0.0 without authentication"))
        try scratch.write("firestream.json", #"{"topics": [{"name": "in"}], "kafka": {"listener": "0.0.0.0:0"}}"#)
        let openKafka = try await FirestreamProcess.run(["up", "--port", "0"], in: scratch.url)
        #expect(openKafka.status == 1)
        #expect(openKafka.stderr.contains("refusing to listen for Kafka clients on 0.0.0.0 without authentication"))

        let created = try await FirestreamProcess.run(
            ["token", "create", "--name", "ingest", "--scope", "topic:in:write", "--format", "json"], in: scratch.url)
        #expect(created.status == 0)
        let lines = created.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let token = try #require(lines.first { $0.hasPrefix("fst_") })
        let entry = try #require(lines.first { $0.hasPrefix("{") })
        #expect(!entry.contains(token), "the config entry holds the hash, not the token")
        try scratch.write(
            "firestream.json", #"{"topics": [{"name": "in"}], "kafka": {"listener": "0.0.0.0:0"}, "gateway": {"tokens": ["# + entry + "]}}")
        #expect(try await FirestreamProcess.run(["validate"], in: scratch.url).status == 0)

        let up = try Running(["up", "--host", "0.0.0.0", "--port", "0", "--status-interval", "0"], in: scratch.url)
        defer { up.interrupt() }
        let port = try await up.port()
        #expect(up.text.contains("1 token(s) required"))
        #expect(up.text.contains("kafka:  0.0.0.0:") && up.text.contains("SASL_PLAINTEXT"))
        func post(_ headers: [String: String]) async throws -> Int {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/topics/in")!)
            request.httpMethod = "POST"
            request.httpBody = Data("{\"n\":1}".utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
            let (_, response) = try await URLSession.shared.data(for: request)
            return (response as? HTTPURLResponse)?.statusCode ?? 0
        }
        #expect(try await post([:]) == 401)
        #expect(try await post(["Authorization": "Bearer fst_wrong"]) == 401)
        #expect(try await post(["Authorization": "Bearer \(token)"]) == 200)
    }

    @Test func upRefusesAnInvalidConfig() async throws {
        let scratch = TemporaryDirectory()
        try scratch.write("firestream.json", #"{"apps": [{"name": "w", "kind": "wiener", "settings": {"input": 3}}]}"#)
        let outcome = try await FirestreamProcess.run(["up", "--kafka-port", "0", "--port", "0"], in: scratch.url)
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("apps[\"w\"].settings.input: expected a non-empty string"))
        try scratch.write("firestream.json", #"{"replicas": 1}"#)
        let invalid = try await FirestreamProcess.run(["up", "--kafka-port", "0", "--port", "0"], in: scratch.url)
        #expect(invalid.status == 1)
        #expect(invalid.stderr.contains("firestream.json:1:2: error: replicas: unknown key"))
    }

    @Test(arguments: [
        (["--snapshot-every", "1e30"], "--snapshot-every: \"1e30\" is too large"),
        (["--snapshot-every", "2Ti"], "--snapshot-every must be between 1Ki and 1Ti"),
        (["--snapshot-every", "1e99999999999"], "--snapshot-every: \"1e99999999999\" is out of range"),
        (["--snapshot-every", "lots"], "--snapshot-every: "),
        (["--rate", "1e300"], "--rate must be between 0 and 1000000"),
        (["--rate", "nan"], "--rate must be between 0 and 1000000"),
        (["--port", "99999999999999999999"], "--port"),
        (["--with", "airflow", "--airflow-venv", "/nonexistent/venv"], "--with airflow: no Airflow in /nonexistent/venv"),
        (["--with", "airflow", "--no-http"], "--with airflow talks to the HTTP gateway; it cannot run with --no-http"),
        (["--with", "dagster"], "--with"),
        (["--airflow-port", "0"], "--airflow-port must be between 1 and 65535"),
    ])
    func outOfRangeFlagsAreRefusedBeforeAnythingStarts(flags: [String], message: String) async throws {
        let scratch = TemporaryDirectory()
        try scratch.write("firestream.json", #"{"topics": [{"name": "t"}]}"#)
        let outcome = try await FirestreamProcess.run(["up", "--kafka-port", "0", "--port", "0"] + flags, in: scratch.url)
        #expect(outcome.status != 0)
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.url.appendingPathComponent(".firestream").path))
    }
}
