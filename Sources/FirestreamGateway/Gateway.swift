import FirestreamConfig
import FirestreamJSON
import FirestreamLog
import Foundation
import HTTPTypes
import Hummingbird
import KafkaWire
import NIOCore

/// The HTTP side of `firestream up`: health, topic listing, REST consume and durable ingest,
/// served from the same process as the log.
public struct Gateway: Sendable {
    /// Where and how the gateway listens.
    public struct Options: Sendable {
        /// Loopback by default; `0.0.0.0` exposes it.
        public var host: String
        /// 0 picks a free port (tests).
        public var port: Int
        /// Largest request body accepted (413 above).
        public var maxBodyBytes: Int
        /// Create unknown topics on ingest instead of answering 404.
        public var autoCreateTopics: Bool

        public init(host: String = "127.0.0.1", port: Int = 8000, maxBodyBytes: Int = 1 << 20, autoCreateTopics: Bool = false) {
            self.host = host
            self.port = port
            self.maxBodyBytes = maxBodyBytes
            self.autoCreateTopics = autoCreateTopics
        }
    }

    public let log: Log
    public let options: Options
    /// Per topic: the JSON pointer whose value keys ingested records (from the config).
    public let keyPointers: [String: String]

    public init(log: Log, options: Options, keyPointers: [String: String] = [:]) {
        self.log = log
        self.options = options
        self.keyPointers = keyPointers
    }

    /// The gateway could not start listening.
    public struct ListenError: Error, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var reason: String
        public var description: String {
            "cannot listen on \(host):\(port): \(reason) (is another program using the port? choose one with --port, or run without HTTP with --no-http)"
        }
    }

    /// Serves until the calling task is cancelled; `onListening` receives the bound port.
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let application = Application(
            router: router(),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "firestream"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) })
        do {
            try await application.run()
        } catch let error as IOError {
            throw ListenError(host: options.host, port: options.port, reason: String(cString: strerror(error.errnoCode)).lowercased())
        }
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("healthz") { _, _ in "ok\n" }
        router.get("readyz") { _, _ in "ready\n" }
        router.get("topics") { _, _ in json(listTopics()) }
        router.get("topics/:topic/records") { request, context in try consume(request, context) }
        router.post("topics/:topic") { request, context in try await ingest(request, context) }
        return router
    }

    // MARK: Handlers

    private func listTopics() -> String {
        let items = log.topicNames.filter { !$0.hasPrefix("__") }.compactMap { name -> String? in
            guard let topic = log.topicIfExists(name) else { return nil }
            return "{\"name\":\(JSONText.quote(name)),\"partitions\":\(topic.partitions.count),\"records\":\(topic.recordCount)}"
        }
        return "{\"topics\":[" + items.joined(separator: ",") + "]}"
    }

    private func consume(_ request: Request, _ context: BasicRequestContext) throws -> Response {
        let name = try context.parameters.require("topic")
        guard let topic = log.topicIfExists(name) else { return failure(404, "unknown topic \"\(name)\"") }
        let query = request.uri.queryParameters
        guard let partitionIndex = Int(query["partition"].map(String.init) ?? "0"), topic.partitions.indices.contains(partitionIndex) else {
            return failure(400, "partition must be between 0 and \(topic.partitions.count - 1)")
        }
        guard let limit = Int(query["limit"].map(String.init) ?? "100"), (1...10_000).contains(limit) else {
            return failure(400, "limit must be between 1 and 10000")
        }
        let partition = topic.partitions[partitionIndex]
        var from = partition.startOffset
        if let raw = query["from"].map(String.init) {
            switch raw {
            case "earliest": from = partition.startOffset
            case "latest": from = partition.durableOffset
            default:
                guard let number = Int64(raw) else { return failure(400, "from must be earliest, latest, -N or an offset, got \"\(raw)\"") }
                from = number < 0 ? max(partition.startOffset, partition.durableOffset + number) : number
            }
        }
        if from < partition.startOffset {
            return failure(416, "offset \(from) was removed by retention; the partition starts at \(partition.startOffset)")
        }
        var records: [ConsumerRecord] = []
        var next = from
        while records.count < limit, next < partition.durableOffset {
            let fetched = try partition.read(from: next, maxBytes: 1 << 20)
            if fetched.records.isEmpty { break }
            records += fetched.records.prefix(limit - records.count)
            next = records.last.map { $0.offset + 1 } ?? fetched.nextOffset
        }
        let body =
            "{\"records\":[" + records.map { RecordJSON.render(topic: name, partition: partitionIndex, $0) }.joined(separator: ",")
            + "],\"next\":\(next),\"end\":\(partition.durableOffset)}"
        return json(body)
    }

    private func ingest(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let name = try context.parameters.require("topic")
        let framing: IngestBody.Framing
        switch Result(catching: { () throws(IngestBody.Refusal) in try IngestBody.Framing(contentType: request.headers[.contentType]) }) {
        case .success(let value): framing = value
        case .failure(let refusal): return failure(refusal.status, refusal.message)
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: options.maxBodyBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            return failure(413, "the body is larger than \(options.maxBodyBytes) bytes")
        }
        let key = request.uri.queryParameters["key"].map(String.init) ?? request.headers[keyHeader]
        let text = String(buffer: buffer)
        let pointer = key == nil ? keyPointers[name] : nil
        let records: [IngestBody.Record]
        switch Result(catching: { () throws(IngestBody.Refusal) in try IngestBody.parse(text, framing: framing, key: key, keyPointer: pointer) }) {
        case .success(let value): records = value
        case .failure(let refusal): return failure(refusal.status, refusal.message)
        }
        let topic: Topic
        if let existing = log.topicIfExists(name) {
            topic = existing
        } else if options.autoCreateTopics {
            do {
                topic = try log.ensureTopic(name)
            } catch {
                return failure(400, "\(error)")
            }
        } else {
            return failure(404, "unknown topic \"\(name)\" (create it, declare it in the config, or enable auto-create)")
        }
        let now = wallClockMilliseconds()
        let placed = try await topic.append(
            records.map { ProducerRecord(key: $0.key.map { Array($0.utf8) }, value: Array($0.value.utf8), timestamp: now) })
        let body = "{\"records\":[" + placed.map { "{\"partition\":\($0.partition),\"offset\":\($0.offset)}" }.joined(separator: ",") + "]}"
        return json(body)
    }
}

/// Header carrying the record key when `?key=` is not used.
private let keyHeader = HTTPField.Name("X-Firestream-Key")!

private func json(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
    Response(
        status: status, headers: [.contentType: "application/json"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: body + "\n")))
}

private func failure(_ status: Int, _ message: String) -> Response {
    json("{\"status\":\(status),\"error\":\(JSONText.quote(message))}", status: HTTPResponse.Status(code: status))
}
