import FirestreamLog
import Foundation
import Hummingbird
import Synchronization

/// Counters of the gateway, served with the log's and the apps' figures at `/metrics` in the
/// Prometheus text format.
public final class GatewayMetrics: Sendable {
    let webSocketClients = Atomic<Int>(0)
    let framesSent = Atomic<Int>(0)
    let recordsSent = Atomic<Int>(0)
    let recordsSkipped = Atomic<Int>(0)
    let gaps = Atomic<Int>(0)
    let slowClientsClosed = Atomic<Int>(0)
    let ingestedRecords = Atomic<Int>(0)
    let ingestedBytes = Atomic<Int>(0)
    let signatureFailures = Atomic<Int>(0)
    let authenticationFailures = Atomic<Int>(0)
    let originRefusals = Atomic<Int>(0)
    let protectedWrites = Atomic<Int>(0)
    let connectionsRefused = Atomic<Int>(0)
    let headerTimeouts = Atomic<Int>(0)
    let bodyTimeouts = Atomic<Int>(0)
    let idleTimeouts = Atomic<Int>(0)
    let truncatedResponses = Atomic<Int>(0)
    private let responses = Locked<[Int: Int]>([:])

    public init() {}

    func recordFrames(count: Int) {
        framesSent.add(1, ordering: .relaxed)
        recordsSent.add(count, ordering: .relaxed)
    }

    func recordResponse(_ status: Int) {
        responses.withLock { $0[status, default: 0] += 1 }
    }

    /// One app's position in one input partition, for the lag gauge.
    public struct AppPosition: Sendable {
        public var app: String
        public var topic: String
        public var partition: Int
        public var next: Int64

        public init(app: String, topic: String, partition: Int, next: Int64) {
            self.app = app
            self.topic = topic
            self.partition = partition
            self.next = next
        }
    }

    func render(
        log: Log, apps: [AppPosition], feeds: (count: Int, bytes: Int) = (0, 0), feedEnds: [(topic: String, partition: Int, end: Int64)] = [],
        connections: Int = 0
    ) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func sample(_ name: String, _ labels: [(String, String)] = [], _ value: some Numeric) {
            let rendered = labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
            out += "\(name)\(rendered) \(value)\n"
        }
        let topics = log.topicNames.compactMap { log.topicIfExists($0) }
        family("firestream_log_end_offset", "counter", "Records appended to each partition (its durable end offset).")
        for topic in topics {
            for (index, partition) in topic.partitions.enumerated() {
                sample("firestream_log_end_offset", [("topic", topic.name), ("partition", "\(index)")], partition.durableOffset)
            }
        }
        family("firestream_log_bytes", "gauge", "Bytes on disk per topic.")
        for topic in topics {
            sample("firestream_log_bytes", [("topic", topic.name)], topic.partitions.reduce(Int64(0)) { $0 + $1.sizeInBytes })
        }
        family("firestream_app_lag_records", "gauge", "Records an app has not consumed yet, per input partition.")
        for position in apps {
            guard let topic = log.topicIfExists(position.topic), topic.partitions.indices.contains(position.partition) else { continue }
            let lag = max(0, topic.partitions[position.partition].durableOffset - position.next)
            sample(
                "firestream_app_lag_records",
                [("app", position.app), ("topic", position.topic), ("partition", "\(position.partition)")], lag)
        }
        family("firestream_ws_feed_end_offset", "gauge", "The next offset each watched partition's feed will render.")
        for feed in feedEnds {
            sample("firestream_ws_feed_end_offset", [("topic", feed.topic), ("partition", "\(feed.partition)")], feed.end)
        }
        family("firestream_http_responses_total", "counter", "HTTP responses by status code.")
        for (status, count) in responses.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            sample("firestream_http_responses_total", [("code", "\(status)")], count)
        }
        let counters: [(String, String, String, Int)] = [
            ("firestream_http_connections", "gauge", "HTTP and WebSocket connections open now.", connections),
            ("firestream_ws_feeds", "gauge", "Partition feeds alive (one per watched partition).", feeds.count),
            ("firestream_ws_feed_bytes", "gauge", "Bytes held by the feeds' rings.", feeds.bytes),
            ("firestream_ws_clients", "gauge", "WebSocket subscribers connected now.", webSocketClients.load(ordering: .relaxed)),
            ("firestream_ws_frames_sent_total", "counter", "WebSocket frames sent to subscribers.", framesSent.load(ordering: .relaxed)),
            ("firestream_ws_records_sent_total", "counter", "Records sent to WebSocket subscribers.", recordsSent.load(ordering: .relaxed)),
            ("firestream_ws_records_dropped_total", "counter", "Records skipped for subscribers that fell behind (gap notices).", recordsSkipped.load(ordering: .relaxed)),
            ("firestream_ws_gaps_total", "counter", "Gap notices sent to slow subscribers.", gaps.load(ordering: .relaxed)),
            ("firestream_ws_slow_clients_closed_total", "counter", "Subscribers closed because a write stalled.", slowClientsClosed.load(ordering: .relaxed)),
            ("firestream_ingest_records_total", "counter", "Records appended through HTTP and WebSocket ingest.", ingestedRecords.load(ordering: .relaxed)),
            ("firestream_ingest_bytes_total", "counter", "Request bytes accepted by ingest.", ingestedBytes.load(ordering: .relaxed)),
            ("firestream_signature_failures_total", "counter", "Ingest requests refused for a missing or wrong signature.", signatureFailures.load(ordering: .relaxed)),
            ("firestream_authentication_failures_total", "counter", "Requests refused for a missing or unknown token or session (401).", authenticationFailures.load(ordering: .relaxed)),
            ("firestream_origin_refusals_total", "counter", "Requests refused for a Host or Origin that is not allowed (403).", originRefusals.load(ordering: .relaxed)),
            ("firestream_connections_refused_total", "counter", "Connections closed on accept because maxConnections were open.", connectionsRefused.load(ordering: .relaxed)),
            ("firestream_header_timeouts_total", "counter", "Connections closed because their first request head did not arrive in time.", headerTimeouts.load(ordering: .relaxed)),
            ("firestream_idle_timeouts_total", "counter", "Keep-alive connections closed after idling between requests.", idleTimeouts.load(ordering: .relaxed)),
            ("firestream_body_timeouts_total", "counter", "Requests answered 408 because their body did not arrive in time.", bodyTimeouts.load(ordering: .relaxed)),
            ("firestream_truncated_responses_total", "counter", "Record listings cut at the response size limit.", truncatedResponses.load(ordering: .relaxed)),
            ("firestream_protected_writes_total", "counter", "Writes refused into internal, app output or dead-letter topics (403).", protectedWrites.load(ordering: .relaxed)),
        ]
        for (name, type, help, value) in counters {
            family(name, type, help)
            sample(name, [], value)
        }
        return out
    }

    private func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}

/// Counts every HTTP response by status for `/metrics`.
struct StatusCountingMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: GatewayMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            metrics.recordResponse(response.status.code)
            return response
        } catch let error as any HTTPResponseError {
            metrics.recordResponse(error.status.code)
            throw error
        } catch {
            metrics.recordResponse(500)
            throw error
        }
    }
}
