import FirestreamFormats
import FirestreamLog
import Foundation
import KafkaBroker
import KafkaProtocol
import KafkaWire

/// The Kafka broker's produce and fetch paths without sockets: request frames in, response
/// frames out, through `KafkaBroker.respond(to:)` over a real log with fsync (group commit).
/// Producers send 1,000 records of 100 bytes per request, eight requests in flight (as
/// librdkafka keeps several per connection); the consumer fetches 1 MiB at a time.
enum KafkaBenchmark {
    static let recordsPerBatch = 1000
    static let valueBytes = 100
    static let inFlight = 8

    static func run(records: Int, in base: String) async throws {
        let requests = max(1, records / recordsPerBatch)
        for signedIn in [false, true] {
            let path = Benchmarks.scratch(base)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let log = try Log(directory: path)
            defer { log.close() }
            _ = try log.createTopic("bench")
            var options = KafkaBroker.Options(advertisedHost: "127.0.0.1", advertisedPort: 9092)
            // The same work with a scoped token: every request's topics go through its scopes.
            if signedIn {
                options.credentials = [
                    TokenCredential(name: "bench", digest: Digests.sha256(token.utf8), scopes: [TokenScope(.topics(pattern: "ben*", .admin))])
                ]
            }
            let broker = KafkaBroker(log: log, options: options)
            print(
                "\n== kafka: \(requests * recordsPerBatch) records of \(valueBytes) B, produce (acks=all, fsync) then fetch, in process"
                    + (signedIn ? ", signed in with SASL PLAIN (token scoped topic:ben*:admin)" : ""))
            var connections: [KafkaConnection] = []
            for _ in 0..<inFlight { connections.append(try await connection(to: broker)) }
            try await produce(requests: requests, to: broker, on: connections, log: log)
            try await fetchAll(from: broker, on: connections[0], log: log)
        }
    }

    static let token = "fst_benchmark"

    /// A connection, signed in when the broker has credentials.
    static func connection(to broker: KafkaBroker) async throws -> KafkaConnection {
        var connection = broker.connection(peer: "/127.0.0.1")
        guard broker.authenticationRequired else { return connection }
        var handshake = SaslHandshakeRequest()
        handshake.mechanism = "PLAIN"
        var authenticate = SaslAuthenticateRequest()
        authenticate.authBytes = Array("\0bench\0\(token)".utf8)
        for frame in [
            RequestHeader(apiKey: 17, apiVersion: 1, correlationID: 1, clientID: "bench").frame(handshake),
            RequestHeader(apiKey: 36, apiVersion: 2, correlationID: 2, clientID: "bench").frame(authenticate),
        ] {
            guard case .frame = await broker.respond(to: Array(frame.dropFirst(4)), on: &connection) else { throw BenchmarkFailure("SASL refused") }
        }
        guard connection.isAuthenticated else { throw BenchmarkFailure("not signed in") }
        return connection
    }

    /// `requests` Produce requests of one batch each, `inFlight` at a time.
    static func produce(requests: Int, to broker: KafkaBroker, on connections: [KafkaConnection], log: Log) async throws {

        // One request body per producer slot, reused: the broker copies what it appends.
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: valueBytes)
        let batch = RecordBatch.encode((0..<recordsPerBatch).map { _ in ProducerRecord(key: nil, value: value, timestamp: 1_700_000_000_000) })
        var produce = ProduceRequest()
        produce.acks = -1
        var data = ProduceRequest.TopicProduceData()
        data.name = "bench"
        var partition = ProduceRequest.PartitionProduceData()
        partition.records = batch
        data.partitionData = [partition]
        produce.topicData = [data]
        let frame = Array(RequestHeader(apiKey: 0, apiVersion: 9, correlationID: 1, clientID: "bench").frame(produce).dropFirst(4))

        let clock = ContinuousClock()
        let started = clock.now
        let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for slot in 0..<inFlight {
                group.addTask {
                    var mine: [Duration] = []
                    var connection = connections[slot]
                    for _ in stride(from: slot, to: requests, by: inFlight) {
                        let sent = clock.now
                        guard case .frame = await broker.respond(to: frame, on: &connection) else {
                            throw BenchmarkFailure("produce got no answer")
                        }
                        mine.append(clock.now - sent)
                    }
                    return mine
                }
            }
            return try await group.reduce(into: [Duration]()) { $0 += $1 }.sorted()
        }
        let produceTime = Benchmarks.seconds(clock.now - started)
        let stored = try log.topic("bench").partitions[0]
        guard stored.durableOffset == Int64(requests * recordsPerBatch) else { throw BenchmarkFailure("stored \(stored.durableOffset) records") }
        let bytes = Double(stored.sizeInBytes)
        print(
            String(
                format: "  produce: %.0f records/s, %.1f MB/s; latency per request p50 %.2f ms, p99 %.2f ms",
                Double(requests * recordsPerBatch) / produceTime, bytes / produceTime / 1e6,
                Benchmarks.seconds(latencies[latencies.count / 2]) * 1000, Benchmarks.seconds(latencies[latencies.count * 99 / 100]) * 1000))
    }

    /// Reads the whole partition back with Fetch requests of 1 MiB.
    static func fetchAll(from broker: KafkaBroker, on connection: KafkaConnection, log: Log) async throws {
        var connection = connection
        let clock = ContinuousClock()
        let stored = try log.topic("bench").partitions[0]
        var fetch = FetchRequest()
        fetch.maxBytes = 1 << 20
        var topic = FetchRequest.FetchTopic()
        topic.topic = "bench"
        var wanted = FetchRequest.FetchPartition()
        wanted.partitionMaxBytes = 1 << 20
        var offset: Int64 = 0
        var fetched = 0
        let fetchStarted = clock.now
        while offset < stored.durableOffset {
            wanted.fetchOffset = offset
            topic.partitions = [wanted]
            fetch.topics = [topic]
            let request = Array(RequestHeader(apiKey: 1, apiVersion: 12, correlationID: 2, clientID: "bench").frame(fetch).dropFirst(4))
            guard case .frame(let answer) = await broker.respond(to: request, on: &connection) else {
                throw BenchmarkFailure("fetch got no answer")
            }
            fetched += answer.count
            // The last batch's end: walk the batch headers (what a client does before decoding).
            var reader = ProtocolReader(Array(answer.dropFirst(8)))
            try RequestHeader.readTaggedFields(&reader)  // the v1 response header's (empty) tags
            let response = try FetchResponse(from: &reader, version: 12)
            let records = response.responses.first?.partitions.first?.records ?? []
            guard
                let next = records.withUnsafeBytes({ raw -> Int64? in
                    var walker = RecordBatchWalker(raw)
                    var last: Int64?
                    while case .batch(let header, _) = walker.next() { last = header.lastOffset }
                    return last.map { $0 + 1 }
                })
            else { throw BenchmarkFailure("an empty fetch at \(offset)") }
            offset = next
        }
        let fetchTime = Benchmarks.seconds(clock.now - fetchStarted)
        print(
            String(
                format: "  fetch:   %.0f records/s, %.1f MB/s (1 MiB per request, response decoded by the generated codec)",
                Double(stored.durableOffset) / fetchTime, Double(fetched) / fetchTime / 1e6))
    }
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
