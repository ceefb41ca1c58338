import FirestreamLog
import FirestreamTesting
import Foundation
import KafkaWire
import Testing

@testable import FirestreamGateway

/// `GET /topics/{t}` and the group cursors: what Airflow's watchers (and any HTTP poller) use.
@Suite(.serialized) struct GroupCursorTests {
    @Test func aTopicsDescriptionGivesEachPartitionsOffsetsAndNewestTime() async throws {
        let gateway = try await LiveGateway()
        defer { Task { await gateway.stop() } }
        let topic = try gateway.log.createTopic("events", partitions: 2)
        _ = try await topic.partitions[1].append([ProducerRecord(key: nil, value: Array("{}".utf8), timestamp: 1_700_000_000_123)])
        _ = try await topic.partitions[1].append([ProducerRecord(key: nil, value: Array("{}".utf8), timestamp: 1_700_000_000_456)])
        let described = try await gateway.send("GET", "/topics/events")
        #expect(described.status == 200)
        #expect(
            described.body.trimmingCharacters(in: .newlines)
                == #"{"name":"events","partitions":[{"end":0,"lastTimestamp":null,"partition":0,"start":0},{"end":2,"lastTimestamp":1700000000456,"partition":1,"start":0}],"records":2}"#
        )
        #expect(try await gateway.send("GET", "/topics/nope").status == 404)
    }

    @Test func aGroupFetchesFromItsCommittedOffsetsAndOnlyACommitMovesIt() async throws {
        let gateway = try await LiveGateway()
        defer { Task { await gateway.stop() } }
        let topic = try gateway.log.createTopic("events", partitions: 2)
        for partition in 0..<2 {
            _ = try await topic.partitions[partition].append(
                (0..<5).map { ProducerRecord(key: nil, value: Array("{\"p\":\(partition),\"n\":\($0)}".utf8), timestamp: 0) })
        }
        let fresh = try gateway.json(try await gateway.send("GET", "/groups/watchers/topics/events").body)
        #expect((fresh["partitions"] as? [[String: Any]])?.map { $0["committed"] is NSNull } == [true, true])

        // A share of the limit each: 3 of partition 0, 3 of partition 1 (limit 6).
        let first = try await gateway.send("POST", "/groups/watchers/topics/events/fetch?limit=6")
        #expect(first.status == 200, "\(first.body)")
        let firstAnswer = try gateway.json(first.body)
        #expect(
            (firstAnswer["records"] as? [[String: Any]])?.map { "\($0["partition"]!)/\($0["offset"]!)" } == [
                "0/0", "0/1", "0/2", "1/0", "1/1", "1/2",
            ])
        #expect(firstAnswer["next"] as? [String: Int] == ["0": 3, "1": 3])
        #expect(firstAnswer["end"] as? [String: Int] == ["0": 5, "1": 5])
        // Not committed: the same records again.
        #expect(try await gateway.send("POST", "/groups/watchers/topics/events/fetch?limit=6").body == first.body)

        let committed = try await gateway.send("POST", "/groups/watchers/topics/events/commit", body: #"{"0": 3, "1": 3}"#)
        #expect(committed.status == 200, "\(committed.body)")
        #expect(gateway.log.consumerOffsets.committed(group: "watchers", topic: "events", partition: 0) == 3)
        let rest = try gateway.json(try await gateway.send("POST", "/groups/watchers/topics/events/fetch?limit=100").body)
        #expect((rest["records"] as? [[String: Any]])?.count == 4)
        #expect(rest["next"] as? [String: Int] == ["0": 5, "1": 5])
        let position = try gateway.json(try await gateway.send("GET", "/groups/watchers/topics/events").body)
        #expect((position["partitions"] as? [[String: Any]])?.map { $0["lag"] as? Int } == [2, 2])

        // A new group told to start at the end reads nothing of what is stored.
        let latest = try gateway.json(try await gateway.send("POST", "/groups/late/topics/events/fetch?reset=latest").body)
        #expect((latest["records"] as? [[String: Any]])?.isEmpty == true)
        #expect(latest["next"] as? [String: Int] == ["0": 5, "1": 5])
    }

    @Test func aFetchStopsAtTheResponseSizeLimitAndItsNextSaysWhereToGoOn() async throws {
        let gateway = try await LiveGateway(options: Gateway.Options(port: 0, maxResponseBytes: 64 << 10))
        defer { Task { await gateway.stop() } }
        let topic = try gateway.log.createTopic("big")
        let value = "\"" + String(repeating: "x", count: 10_000) + "\""
        _ = try await topic.partitions[0].append((0..<20).map { _ in ProducerRecord(key: nil, value: Array(value.utf8), timestamp: 0) })
        let answer = try gateway.json(try await gateway.send("POST", "/groups/readers/topics/big/fetch?limit=20").body)
        let records = answer["records"] as? [[String: Any]] ?? []
        #expect(answer["truncated"] as? Bool == true)
        #expect((1..<20).contains(records.count), "\(records.count)")
        #expect(answer["next"] as? [String: Int] == ["0": records.count])
    }

    @Test func badCursorRequestsAreRefusedWithTheirReasonAndCommitNothing() async throws {
        let gateway = try await LiveGateway()
        defer { Task { await gateway.stop() } }
        let topic = try gateway.log.createTopic("events")
        _ = try await topic.partitions[0].append([ProducerRecord(key: nil, value: Array("1".utf8), timestamp: 0)])
        let cases: [(String, String, String?, Int, String)] = [
            ("POST", "/groups/.hidden/topics/events/fetch", nil, 400, "not starting with '.'"),
            ("POST", "/groups/g/topics/events/fetch?limit=0", nil, 400, "limit must be between 1 and 10000"),
            ("POST", "/groups/g/topics/events/fetch?reset=newest", nil, 400, "reset must be earliest or latest"),
            ("POST", "/groups/g/topics/missing/fetch", nil, 404, "unknown topic \\\"missing\\\""),
            ("POST", "/groups/g/topics/events/commit", #"{"0": 2}"#, 400, "offset 2 is past the partition's end (1)"),
            ("POST", "/groups/g/topics/events/commit", #"{"0": 1, "7": 0}"#, 400, "7: not a partition of events"),
            ("POST", "/groups/g/topics/events/commit", #"[1]"#, 400, "partition → next offset"),
            ("POST", "/groups/g/topics/events/commit", #"{}"#, 400, "names no partition"),
        ]
        for (method, path, body, status, reason) in cases {
            let answer = try await gateway.send(method, path, body: body ?? "")
            #expect(answer.status == status && answer.body.contains(reason), "\(path) \(body ?? ""): \(answer.status) \(answer.body)")
        }
        #expect(gateway.log.consumerOffsets.committed(group: "g", topic: "events", partition: 0) == nil)
    }
}
