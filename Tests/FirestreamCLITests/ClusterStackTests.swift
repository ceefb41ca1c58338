import FirestreamTesting
import Foundation
import Logging
import Testing
import WSClient

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// The suites that run heavy processes of their own — Kafka clusters and workers, Python apps
/// killed at random, container image builds, headless Chromium — one test at a time: together they would load the
/// 2-core CI machine enough to starve the suite's timing-sensitive tests (a stalled WebSocket
/// client's neighbour once saw a p99 of 17 s beside them, and 1.2 s beside the Python crash test; 1.03 s beside
/// three Chromium sessions).
@Suite(.serialized) struct KafkaClusterTests {}

extension KafkaClusterTests {
    /// `firestream up --kafka`: the same project on a Kafka cluster (Firestream's own broker, a
    /// process of its own, with no apps of its own): sources append there, the app runs as a worker,
    /// the gateway and effects read there, `topics --kafka` talks to it.
    @Suite(.serialized) struct ClusterStackTests {
        /// A broker that runs nothing itself (`--no-apps`), with its gateway on.
        static func broker(in directory: TemporaryDirectory, topics: String = "[]") async throws -> (RuntimeCommandTests.Running, String, Int) {
            try directory.write("firestream.json", #"{"name": "cluster", "topics": \#(topics)}"#)
            let up = try RuntimeCommandTests.Running(
                ["up", "--no-apps", "--port", "0", "--kafka-port", "0", "--status-interval", "0"], in: directory.url)
            return (up, "127.0.0.1:\(try await KafkaClientTests.kafkaPort(up))", try await up.port())
        }

        static func text(_ url: String) async throws -> (String, Int) {
            let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
            return (String(decoding: data, as: UTF8.self), (response as? HTTPURLResponse)?.statusCode ?? 0)
        }

        static func json(_ url: String) async throws -> [String: Any] {
            let (data, _) = try await URLSession.shared.data(from: URL(string: url)!)
            return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        }

        /// Every record of `topic` on the cluster, as `topics tail --kafka` prints them.
        static func tail(_ topic: String, bootstrap: String, in directory: URL) async throws -> [[String: Any]] {
            let tail = try await FirestreamProcess.run(
                ["topics", "tail", topic, "--kafka", bootstrap, "--from-beginning", "--format", "json"], in: directory)
            #expect(tail.status == 0, "\(tail.stderr)")
            return try tail.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        }

        @Test func theDemoRunsOnTheClusterAndResumesThereAfterARestart() async throws {
            let cluster = TemporaryDirectory("fs-cluster")
            let (broker, bootstrap, _) = try await Self.broker(in: cluster)
            defer { broker.interrupt() }
            let project = TemporaryDirectory("fs-onkafka")
            let arguments = ["up", "--kafka", bootstrap, "--port", "0", "--rate", "40", "--status-interval", "1"]
            let first = try RuntimeCommandTests.Running(arguments, in: project.url)
            let port = try await first.port()
            // /readyz answers 503 naming the app while its worker joins the group and restores, then 200.
            let (early, earlyStatus) = try await Self.text("http://127.0.0.1:\(port)/readyz")
            #expect(earlyStatus == 200 || (earlyStatus == 503 && early.contains("not ready: wiener")), "\(earlyStatus): \(early)")
            try await eventually("/readyz to say ready") { try await Self.text("http://127.0.0.1:\(port)/readyz") == ("ready\n", 200) }
            #expect(first.text.contains("data:   the Kafka cluster at \(bootstrap) (apps exactly once)"))
            #expect(!FileManager.default.fileExists(atPath: project.url.appendingPathComponent(".firestream").path))
            try await first.waitFor(app: "wiener", outputs: 200)

            // The gateway reads the cluster: listing, REST, and a live WebSocket subscription.
            let listing = try await Self.json("http://127.0.0.1:\(port)/topics")["topics"] as? [[String: Any]] ?? []
            #expect(Set(listing.compactMap { $0["name"] as? String }).isSuperset(of: ["metronome", "wiener", "wiener.dlq"]))
            let page = try await Self.json("http://127.0.0.1:\(port)/topics/wiener/records?limit=5")
            #expect((page["records"] as? [Any])?.count == 5)
            let live = try await liveRecords(port: port, topic: "wiener", count: 20)
            #expect(live.count == 20)
            #expect(Set(live).count == 20)
            #expect(await first.stop() == 0)

            // Started again, the metronome continues after its last tick and the app from its state.
            let second = try RuntimeCommandTests.Running(arguments, in: project.url)
            try await second.waitFor("keys restored")
            try await second.waitFor(app: "wiener", outputs: 200)
            #expect(await second.stop() == 0)

            let readings = try await Self.tail("metronome", bootstrap: bootstrap, in: project.url)
            var indices: [String: [Int]] = [:]
            var times: [String: [Int]] = [:]
            for reading in readings {
                let value = reading["value"] as! [String: Any]
                indices[value["device_id"] as! String, default: []].append(value["index"] as! Int)
                times[value["device_id"] as! String, default: []].append(value["event_time"] as! Int)
            }
            #expect(indices.count == 5)
            for (_, seen) in indices { #expect(seen == Array(0..<seen.count)) }
            // Each device's walk continues across the restart: one point per reading, in order (the
            // last readings may still wait for the app), each adding its increment to the last.
            var position: [String: Double] = [:]
            var pointTimes: [String: [Int]] = [:]
            let points = try await Self.tail("wiener", bootstrap: bootstrap, in: project.url)
            #expect(points.count >= 400)
            for point in points {
                let value = point["value"] as! [String: Any]
                let device = value["device_id"] as! String
                let measurement = value["measurement"] as! Double
                let expected = (position[device] ?? 0) + (value["increment"] as! Double)
                #expect(abs(measurement - expected) < 1e-9, "device \(device) at offset \(point["offset"]!)")
                position[device] = measurement
                pointTimes[device, default: []].append(value["event_time"] as! Int)
            }
            // The app compares each reading with the one before: the first reading of a device has no point.
            for (device, seen) in pointTimes {
                let expected = Array(times[device, default: []].dropFirst().prefix(seen.count))
                #expect(
                    expected == seen,
                    "device \(device): \(seen.count) points, first difference at \(zip(expected, seen).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1)"
                )
            }
        }

        /// A declared table filled from a topic on the cluster: its rows and offsets are in the
        /// project's SQLite, and across a restart it holds each record of the topic once.
        @Test func aTableIsFilledFromTheClusterExactlyOnceAcrossARestart() async throws {
            let cluster = TemporaryDirectory("fs-cluster")
            let (broker, bootstrap, _) = try await Self.broker(in: cluster)
            defer { broker.interrupt() }
            let project = TemporaryDirectory("fs-onkafka")
            try project.write(
                "firestream.json",
                #"{"name": "tables", "tables": [{"name": "points", "from": "wiener", "columns": {"device_id": {}, "measurement": {"type": "real"}}}]}"#
            )
            let arguments = ["up", "--kafka", bootstrap, "--port", "0", "--rate", "40", "--status-interval", "1"]
            for _ in 0..<2 {
                let up = try RuntimeCommandTests.Running(arguments, in: project.url)
                do {
                    try await up.waitFor(app: "wiener", outputs: 100)
                } catch {
                    Issue.record("\(up.text)")
                    throw error
                }
                #expect(await up.stop() == 0, "\(up.text)")
            }
            let database = project.url.appendingPathComponent(".firestream/warehouse.sqlite").path
            let dump = try await FirestreamProcess.run(
                [
                    "python3", "-c",
                    "import sqlite3, sys, json; print(json.dumps(sqlite3.connect(sys.argv[1]).execute('SELECT _offset, device_id, measurement FROM points ORDER BY _offset').fetchall()))",
                    database,
                ], in: project.url, executable: URL(fileURLWithPath: "/usr/bin/env"))
            #expect(dump.status == 0, "\(dump.stderr)")
            let rows = try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [[Any]] ?? []
            let topic = try await Self.tail("wiener", bootstrap: bootstrap, in: project.url)
            #expect(rows.count > 100 && rows.count <= topic.count, "\(rows.count) rows, \(topic.count) records")
            for (row, record) in zip(rows, topic) {
                let value = record["value"] as? [String: Any] ?? [:]
                #expect(row[0] as? Int == record["offset"] as? Int, "each record once, in offset order")
                #expect(row[1] as? String == value["device_id"] as? String && row[2] as? Double == value["measurement"] as? Double)
            }
        }

        @Test func ingestAndAWebhookEffectWorkOnTheClusterAndTheEffectResumesWhereItStopped() async throws {
            let cluster = TemporaryDirectory("fs-cluster")
            let (broker, bootstrap, brokerPort) = try await Self.broker(in: cluster, topics: #"[{"name": "inbox"}]"#)
            defer { broker.interrupt() }
            let project = TemporaryDirectory("fs-onkafka")
            try project.write(
                "firestream.json",
                """
                {"name": "onkafka", "topics": [{"name": "outbox"}],
                 "effects": [{"name": "forward", "kind": "webhook", "topic": "outbox", "body": "values",
                              "url": "http://127.0.0.1:\(brokerPort)/topics/inbox"}]}
                """)
            let arguments = ["up", "--kafka", bootstrap, "--port", "0", "--status-interval", "0"]
            var up = try RuntimeCommandTests.Running(arguments, in: project.url)
            var port = try await up.port()
            #expect(try await post("http://127.0.0.1:\(port)/topics/outbox", (0..<25).map { "{\"n\":\($0)}" }) == 200)
            try await eventually("the effect to deliver 25 records") { try await inbox(brokerPort).count == 25 }
            #expect(await up.stop() == 0)

            // The records are on the cluster, where any Kafka tool reads them.
            await #expect(
                try Self.tail("outbox", bootstrap: bootstrap, in: project.url).map { ($0["value"] as! [String: Any])["n"] as! Int } == Array(0..<25))

            // Restarted, the effect starts from the offset it committed on the cluster.
            up = try RuntimeCommandTests.Running(arguments, in: project.url)
            defer { up.interrupt() }
            port = try await up.port()
            #expect(try await post("http://127.0.0.1:\(port)/topics/outbox", (25..<30).map { "{\"n\":\($0)}" }) == 200)
            try await eventually("the effect to deliver 5 more") { try await inbox(brokerPort).count >= 30 }
            #expect(try await inbox(brokerPort) == Array(0..<30))

            // Without its cluster, the gateway says so: 503 and the reason, not a bare 500; up goes on.
            kill(broker.process.processIdentifier, SIGKILL)
            await broker.process.exited()
            let (answer, status) = try await Self.text("http://127.0.0.1:\(port)/topics/outbox/records")
            #expect(status == 503 && answer.contains("the Kafka cluster at \(bootstrap)"), "\(status): \(answer)")

            // The cluster back (the same log, the same ports), the effect picks up again.
            let kafkaPort = bootstrap.split(separator: ":").last.map(String.init) ?? "0"
            let back = try RuntimeCommandTests.Running(
                ["up", "--no-apps", "--port", "\(brokerPort)", "--kafka-port", kafkaPort, "--status-interval", "0"], in: cluster.url)
            defer { back.interrupt() }
            try await eventually("the gateway to append again", within: .seconds(120)) {
                (try? await post("http://127.0.0.1:\(port)/topics/outbox", (30..<35).map { "{\"n\":\($0)}" })) == 200
            }
            try await eventually("the effect to deliver after the outage", within: .seconds(120)) { try await inbox(brokerPort).count >= 35 }
            #expect(try await inbox(brokerPort) == Array(0..<35))
        }

        @Test func topicsCommandsTalkToTheCluster() async throws {
            let cluster = TemporaryDirectory("fs-cluster")
            let (broker, bootstrap, _) = try await Self.broker(in: cluster)
            defer { broker.interrupt() }
            let scratch = TemporaryDirectory()
            let created = try await FirestreamProcess.run(["topics", "create", "clicks", "--partitions", "3", "--kafka", bootstrap], in: scratch.url)
            #expect(created.stdout.contains("created topic clicks with 3 partitions on the Kafka cluster at \(bootstrap)"))
            let again = try await FirestreamProcess.run(["topics", "create", "clicks", "--kafka", bootstrap], in: scratch.url)
            #expect(again.status == 1)
            #expect(again.stderr.contains("topic \"clicks\" already exists"))
            let listed = try await FirestreamProcess.run(["topics", "list", "--kafka", bootstrap], in: scratch.url)
            #expect(listed.stdout.contains("clicks"))
            let described = try await FirestreamProcess.run(["topics", "describe", "clicks", "--kafka", bootstrap], in: scratch.url)
            #expect(described.stdout.split(separator: "\n").count == 6)
            let unknown = try await FirestreamProcess.run(["topics", "tail", "clikcs", "--kafka", bootstrap], in: scratch.url)
            #expect(unknown.status == 1)
            #expect(unknown.stderr.contains("did you mean \"clicks\"?"))
            let deleted = try await FirestreamProcess.run(["topics", "delete", "clicks", "--yes", "--kafka", bootstrap], in: scratch.url)
            #expect(deleted.status == 0)
            #expect(!(try await FirestreamProcess.run(["topics", "list", "--kafka", bootstrap], in: scratch.url).stdout.contains("clicks")))
            // The broker's own log lost the topic too.
            #expect(!FileManager.default.fileExists(atPath: cluster.url.appendingPathComponent(".firestream/topics/clicks").path))

            // No cluster there: up says so and stops.
            let nowhere = "127.0.0.1:\(try freePort())"
            let refused = try await FirestreamProcess.run(["up", "--kafka", nowhere, "--port", "0", "--connect-timeout", "2"], in: scratch.url)
            #expect(refused.status == 1 && refused.stderr.contains("cannot reach the Kafka cluster at \(nowhere)"), "\(refused.stderr)")
        }

        /// The `n` of each record the broker's `inbox` holds, in order.
        private func inbox(_ port: Int) async throws -> [Int] {
            let page = try await Self.json("http://127.0.0.1:\(port)/topics/inbox/records?limit=1000")
            return (page["records"] as? [[String: Any]] ?? []).compactMap { ($0["value"] as? [String: Any])?["n"] as? Int }
        }

        private func post(_ url: String, _ lines: [String]) async throws -> Int {
            var request = URLRequest(url: URL(string: url)!)
            request.httpMethod = "POST"
            request.httpBody = Data(lines.joined(separator: "\n").utf8)
            request.setValue("application/x-ndjson", forHTTPHeaderField: "Content-Type")
            let (_, response) = try await URLSession.shared.data(for: request)
            return (response as! HTTPURLResponse).statusCode
        }

        /// The offsets of the first `count` records a WebSocket subscriber of `topic` receives.
        private func liveRecords(port: Int, topic: String, count: Int) async throws -> [Int] {
            let offsets = Shared<[Int]>([])
            let logger = Logger(label: "ws") { _ in SwiftLogNoOpLogHandler() }
            try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/ws/topics/\(topic)?from=latest", logger: logger) { inbound, _, _ in
                for try await message in inbound.messages(maxSize: 1 << 24) {
                    guard case .text(let text) = message else { continue }
                    let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8))
                    let records = (parsed as? [[String: Any]]) ?? ((parsed as? [String: Any]).map { $0["offset"] == nil ? [] : [$0] } ?? [])
                    let found = records.compactMap { $0["offset"] as? Int }
                    offsets.update { $0 += found }
                    if offsets.value.count >= count { return }
                }
            }
            return Array(offsets.value.prefix(count))
        }
    }
}
