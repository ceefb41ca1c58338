import FirestreamLog
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

/// Real Kafka clients against a real `firestream up`: kcat (librdkafka 2.0.2 from Debian),
/// kafka-python and confluent-kafka (librdkafka 2.16) from PyPI, on free ports. The setup in
/// scripts/test installs them; a missing client fails the test rather than skipping it.
@Suite(.serialized) struct KafkaClientTests {
    static let env = URL(fileURLWithPath: "/usr/bin/env")
    static let clientsScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Interop/kafka_clients.py")
    static let groupsScript = clientsScript.deletingLastPathComponent().appendingPathComponent("kafka_groups.py")
    static let compressionScript = clientsScript.deletingLastPathComponent().appendingPathComponent("kafka_compression.py")
    static let saslScript = clientsScript.deletingLastPathComponent().appendingPathComponent("kafka_sasl.py")
    static let transactionsScript = clientsScript.deletingLastPathComponent().appendingPathComponent("kafka_transactions.py")

    /// The Kafka port `up` reports (`kafka:  127.0.0.1:PORT`).
    static func kafkaPort(_ up: RuntimeCommandTests.Running) async throws -> Int {
        var found: Int?
        try await eventually("firestream up to report its Kafka listener") {
            found = up.text.split(separator: "\n").first { $0.contains("kafka:  ") }.flatMap { line in
                line.split(separator: " ").first { $0.contains(":") && $0.first?.isNumber == true }.flatMap { Int($0.split(separator: ":").last!) }
            }
            return found != nil
        }
        return found!
    }

    static func kcat(_ arguments: [String], input: String = "", in directory: URL) async throws -> FirestreamProcess.Outcome {
        try await FirestreamProcess.run(["timeout", "60", "kcat"] + arguments, in: directory, input: input, executable: env)
    }

    @Test func kcatListsProducesAndConsumesAndTheGatewaySeesItsRecords() async throws {
        let scratch = TemporaryDirectory("fs-kafka")
        let up = try RuntimeCommandTests.Running(
            ["up", "--port", "0", "--kafka-port", "0", "--rate", "20", "--status-interval", "1"], in: scratch.url)
        defer { up.interrupt() }
        let kafka = try await Self.kafkaPort(up)
        let http = try await up.port()
        let bootstrap = "127.0.0.1:\(kafka)"

        let listing = try await Self.kcat(["-b", bootstrap, "-L"], in: scratch.url)
        #expect(listing.status == 0, "\(listing.stderr)")
        #expect(listing.stdout.contains("broker 1 at 127.0.0.1:\(kafka)"))
        #expect(listing.stdout.contains("topic \"wiener\" with 1 partitions"))

        // Produced by kcat into a topic it creates by asking for it, read by HTTP.
        let produced = try await Self.kcat(
            ["-b", bootstrap, "-P", "-t", "from-kcat", "-K", ":"], input: "d1:{\"x\":1}\nd2:{\"x\":2}\n", in: scratch.url)
        #expect(produced.status == 0, "\(produced.stderr)")
        let (body, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(http)/topics/from-kcat/records")!)
        let records = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])["records"] as? [[String: Any]]
        #expect(records?.count == 2)
        #expect(records?.first?["key"] as? String == "d1")

        // The demo's outputs, consumed by kcat from the beginning.
        try await up.waitFor(app: "wiener", outputs: 5)
        let consumed = try await Self.kcat(
            ["-b", bootstrap, "-C", "-t", "wiener", "-o", "beginning", "-c", "5", "-e", "-f", "%k %s\\n"], in: scratch.url)
        #expect(consumed.status == 0, "\(consumed.stderr)")
        let lines = consumed.stdout.split(separator: "\n")
        #expect(lines.count == 5)
        #expect(lines.allSatisfy { $0.hasPrefix("device-") && $0.contains("\"measurement\"") })

        // App outputs are the app's: a client may not write them.
        let refused = try await Self.kcat(["-b", bootstrap, "-P", "-t", "wiener"], input: "{}\n", in: scratch.url)
        #expect(refused.stderr.contains("Topic authorization failed") || refused.stderr.contains("TOPIC_AUTHORIZATION_FAILED"), "\(refused.stderr)")

        // A consumer that follows the topic (its fetch waiting) does not hold up a graceful stop.
        let follower = Process()
        let followed = scratch.url.appendingPathComponent("follower.out")
        _ = FileManager.default.createFile(atPath: followed.path, contents: nil)
        follower.executableURL = Self.env
        follower.arguments = ["kcat", "-b", bootstrap, "-C", "-t", "wiener", "-o", "beginning", "-q"]
        follower.standardOutput = try FileHandle(forWritingTo: followed)
        follower.standardError = FileHandle.nullDevice
        try follower.run()
        defer { follower.terminate() }
        // Once it has printed records it is connected, and its next fetch waits at the end.
        try await eventually("kcat to follow wiener") { ((try? Data(contentsOf: followed))?.count ?? 0) > 0 }
        #expect(await up.stop() == 0, "\(up.text)")
        #expect(up.text.contains("Stopped: every app finished its step"))
    }

    @Test func acknowledgedRecordsSurviveAKill9OfTheBroker() async throws {
        let scratch = TemporaryDirectory("fs-kafka")
        let arguments = ["up", "--no-http", "--kafka-port", "0", "--status-interval", "0", "--config", "project.json"]
        // A project declaring the two-partition topic the client writes (the demo runs beside it).
        try Data(#"{"name": "crash", "topics": [{"name": "events", "partitions": 2}], "apps": []}"#.utf8)
            .write(to: scratch.url.appendingPathComponent("project.json"))
        let first = try RuntimeCommandTests.Running(arguments, in: scratch.url)
        let before = "127.0.0.1:\(try await Self.kafkaPort(first))"
        let lines = (0..<50).map { "k\($0 % 7):v\($0)" }.joined(separator: "\n") + "\n"
        // kcat exits once every record is acknowledged (acks=all: durable).
        let produced = try await Self.kcat(["-b", before, "-P", "-t", "events", "-K:", "-X", "acks=all"], input: lines, in: scratch.url)
        #expect(produced.status == 0, "\(produced.stderr)")
        // A consumer group reads them all and commits as it leaves (durably, before the answer).
        let group = try await Self.kcat(
            ["-b", before, "-G", "survivors", "-X", "auto.offset.reset=earliest", "-e", "-q", "-f", "%s\\n", "events"], in: scratch.url)
        #expect(group.status == 0, "\(group.stderr)")
        #expect(group.stdout.split(separator: "\n").count == 50)
        kill(first.process.processIdentifier, SIGKILL)
        await first.process.exited()

        let second = try RuntimeCommandTests.Running(arguments, in: scratch.url)
        defer { second.interrupt() }
        let after = "127.0.0.1:\(try await Self.kafkaPort(second))"
        var values: [String] = []
        for partition in 0..<2 {
            let read = try await Self.kcat(
                ["-b", after, "-C", "-t", "events", "-p", "\(partition)", "-o", "beginning", "-e", "-q", "-f", "%s\\n"], in: scratch.url)
            #expect(read.status == 0, "\(read.stderr)")
            values += read.stdout.split(separator: "\n").map(String.init)
        }
        #expect(values.sorted() == (0..<50).map { "v\($0)" }.sorted(), "every acknowledged record is back, once")
        // The group's committed offsets survived: it resumes at the end and reads nothing again.
        let resumed = try await Self.kcat(
            ["-b", after, "-G", "survivors", "-X", "auto.offset.reset=earliest", "-e", "-q", "-f", "%s\\n", "events"], in: scratch.url)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.isEmpty, "read again after the restart: \(resumed.stdout.prefix(200))")
    }

    @Test(arguments: ["kafka-python", "confluent-kafka", "aiokafka"])
    func pythonClientsProduceConsumeAndAdministerTopics(client: String) async throws {
        let scratch = TemporaryDirectory("fs-kafka")
        let up = try RuntimeCommandTests.Running(
            ["up", "--port", "0", "--kafka-port", "0", "--rate", "20", "--status-interval", "1"], in: scratch.url)
        defer { up.interrupt() }
        let kafka = try await Self.kafkaPort(up)
        try await up.waitFor(app: "wiener", outputs: 5)
        let outcome = try await FirestreamProcess.run(
            ["timeout", "120", "python3", Self.clientsScript.path, client, "127.0.0.1:\(kafka)"], in: scratch.url, executable: Self.env)
        #expect(outcome.status == 0, "\(outcome.stdout)\n\(outcome.stderr)\n--- firestream up:\n\(up.text)")
        #expect(outcome.stdout.contains("\(client): ok"))
    }

    /// Consumer groups of 1, 2 and 3 members of each client (and of three clients together),
    /// with joins, leaves, a SIGKILLed member and committed offsets; kafka_groups.py has the steps.
    @Test(arguments: ["kcat", "confluent-kafka", "kafka-python", "aiokafka", "mixed"])
    func consumerGroupsShareRebalanceAndCommit(client: String) async throws {
        let scratch = TemporaryDirectory("fs-kafka")
        let up = try RuntimeCommandTests.Running(["up", "--no-http", "--kafka-port", "0", "--status-interval", "0"], in: scratch.url)
        defer { up.interrupt() }
        let kafka = try await Self.kafkaPort(up)
        let outcome = try await FirestreamProcess.run(
            ["timeout", "300", "python3", Self.groupsScript.path, client, "127.0.0.1:\(kafka)"], in: scratch.url, executable: Self.env)
        #expect(outcome.status == 0, "\(outcome.stdout)\n\(outcome.stderr)\n--- firestream up:\n\(up.text)")
        #expect(outcome.stdout.contains("\(client): ok"), "\(outcome.stdout)")
    }

    /// Starts `firestream up` (gateway and Kafka listener on free ports, the demo at 5 ticks/s) in
    /// `scratch`, runs `script` against its listener, and expects `<client>: ok` from each client.
    /// The caller stops the returned `up`.
    static func runScript(_ script: URL, clients: [String], in scratch: TemporaryDirectory) async throws -> (RuntimeCommandTests.Running, Int) {
        let up = try RuntimeCommandTests.Running(
            ["up", "--port", "0", "--kafka-port", "0", "--rate", "5", "--status-interval", "0"], in: scratch.url)
        let kafka: Int
        let http: Int
        do {
            kafka = try await kafkaPort(up)
            http = try await up.port()
        } catch {
            _ = await up.stop()
            throw error
        }
        let outcome = try await FirestreamProcess.run(
            ["timeout", "300", "python3", script.path, "127.0.0.1:\(kafka)"], in: scratch.url, executable: env)
        #expect(outcome.status == 0, "\(outcome.stdout)\n\(outcome.stderr)\n--- firestream up:\n\(up.text)")
        for client in clients { #expect(outcome.stdout.contains("\(client): ok"), "\(outcome.stdout)") }
        return (up, http)
    }

    /// confluent-kafka's and kafka-python's transactional producers: commits, aborts, open
    /// transactions, fencing, offsets in transactions; the gateway reads committed records only.
    @Test func transactionalProducersCommitAbortAndAreFencedAndTheGatewayReadsCommittedRecords() async throws {
        let scratch = TemporaryDirectory("fs-kafka")
        let (up, http) = try await Self.runScript(Self.transactionsScript, clients: ["confluent-kafka", "kafka-python"], in: scratch)
        defer { up.interrupt() }

        let url = URL(string: "http://127.0.0.1:\(http)/topics/tx-ck-in/records?limit=100")!
        let (body, _) = try await URLSession.shared.data(from: url)
        let records = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])["records"] as? [[String: Any]]
        #expect(records?.compactMap { $0["value"] as? String } == ["c1", "c2", "c3", "c4", "o1", "c5"])
    }

    /// Each client produces with gzip, snappy, lz4 and zstd; each reads every other's batches;
    /// the batches are stored compressed as sent, and the gateway reads them too.
    @Test func compressedBatchesFromEveryClientAreReadByEveryClientAndTheGateway() async throws {
        let scratch = TemporaryDirectory("fs-kafka")
        let (up, http) = try await Self.runScript(
            Self.compressionScript, clients: ["kcat", "confluent-kafka", "kafka-python", "aiokafka"], in: scratch)
        defer { up.interrupt() }

        let log = try Log(directory: scratch.url.appendingPathComponent(".firestream").path, readOnly: true)
        for client in ["kcat", "confluent-kafka", "kafka-python", "aiokafka"] {
            for codec in [CompressionCodec.gzip, .snappy, .lz4, .zstd] {
                let batches = try log.topic("codec-\(client)-\(codec.name)").partitions[0].readBatches(from: 0).bytes
                // librdkafka sends a batch uncompressed when compressing would not make it smaller.
                let codecs = batches.withUnsafeBytes { raw in
                    var walker = RecordBatchWalker(raw)
                    var codecs: [Int] = []
                    while case .batch(let header, _) = walker.next() { codecs.append(header.compression) }
                    return codecs
                }
                #expect(codecs.contains(codec.rawValue) && Set(codecs).isSubset(of: [0, codec.rawValue]), "\(client) \(codec.name): \(codecs)")
            }
        }
        let url = URL(string: "http://127.0.0.1:\(http)/topics/codec-kafka-python-snappy/records?limit=3")!
        let (body, _) = try await URLSession.shared.data(from: url)
        let records = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])["records"] as? [[String: Any]]
        #expect(records?.compactMap { $0["value"] as? String }.first == "kafka-python/snappy/0/")
    }

    /// A token made by `firestream token create` in `directory`: the secret and its config entry.
    static func createToken(_ name: String, scopes: [String], in directory: URL) async throws -> (token: String, entry: String) {
        let created = try await FirestreamProcess.run(
            ["token", "create", "--name", name, "--format", "json"] + scopes.flatMap { ["--scope", $0] }, in: directory)
        #expect(created.status == 0, "\(created.stderr)")
        let lines = created.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        return (try #require(lines.first { $0.hasPrefix("fst_") }), try #require(lines.first { $0.hasPrefix("{") }))
    }

    /// With tokens declared, every client signs in with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512
    /// and may do what its token allows; a wrong password, a read-only token's produce and a
    /// client without credentials are refused (kafka_sasl.py has the steps).
    @Test func everyClientSignsInWithEachMechanismAndTokenScopesDecide() async throws {
        let scratch = TemporaryDirectory("fs-kafka")
        let writer = try await Self.createToken("writer", scopes: ["topic:sasl-*:admin"], in: scratch.url)
        let reader = try await Self.createToken("reader", scopes: ["topic:sasl-*:read"], in: scratch.url)
        try scratch.write("firestream.json", #"{"gateway": {"tokens": ["# + writer.entry + ", " + reader.entry + "]}}")
        let up = try RuntimeCommandTests.Running(["up", "--no-http", "--kafka-port", "0", "--status-interval", "0"], in: scratch.url)
        defer { up.interrupt() }
        let kafka = try await Self.kafkaPort(up)
        #expect(up.text.contains("SASL_PLAINTEXT: PLAIN, SCRAM-SHA-256/512"))
        let outcome = try await FirestreamProcess.run(
            ["timeout", "300", "python3", Self.saslScript.path, "127.0.0.1:\(kafka)", writer.token, reader.token], in: scratch.url,
            executable: Self.env)
        #expect(outcome.status == 0, "\(outcome.stdout)\n\(outcome.stderr)\n--- firestream up:\n\(up.text)")
        for client in ["kcat", "confluent-kafka", "kafka-python", "aiokafka"] { #expect(outcome.stdout.contains("\(client): ok")) }
        #expect(!up.text.contains(reader.token) && !up.text.contains(writer.token), "tokens never reach the log")
    }
}
