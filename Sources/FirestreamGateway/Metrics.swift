public import CoreMetrics
import FirestreamLog
import Hummingbird
public import Prometheus

/// The gateway's metrics, recorded through swift-metrics and served with the log's and the apps'
/// figures at `/metrics` from a swift-prometheus registry.
///
/// Nothing is bootstrapped globally: every metric is made by `factory`, so two gateways in one
/// process (tests do this) keep separate figures.
public final class GatewayMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry: PrometheusCollectorRegistry
    /// Makes metrics in `registry` with their help text.
    public let factory: DescribedMetricsFactory

    let webSocketClients: CoreMetrics.Meter
    let framesSent: CoreMetrics.Counter
    let recordsSent: CoreMetrics.Counter
    let recordsSkipped: CoreMetrics.Counter
    let gaps: CoreMetrics.Counter
    let slowClientsClosed: CoreMetrics.Counter
    let ingestedRecords: CoreMetrics.Counter
    let ingestedBytes: CoreMetrics.Counter
    let signatureFailures: CoreMetrics.Counter
    let authenticationFailures: CoreMetrics.Counter
    let originRefusals: CoreMetrics.Counter
    let protectedWrites: CoreMetrics.Counter
    let connectionsRefused: CoreMetrics.Counter
    let headerTimeouts: CoreMetrics.Counter
    let bodyTimeouts: CoreMetrics.Counter
    let idleTimeouts: CoreMetrics.Counter
    let truncatedResponses: CoreMetrics.Counter
    let sqlQueries: CoreMetrics.Counter
    let sqlFailures: CoreMetrics.Counter
    /// Figures read at scrape time (log offsets, lag, feeds), and what was last reported of them.
    private let scraped = Locked(Scraped())

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        let factory = DescribedMetricsFactory(registry: registry, help: Self.help)
        self.factory = factory
        webSocketClients = CoreMetrics.Meter(label: "firestream_ws_clients", factory: factory)
        framesSent = CoreMetrics.Counter(label: "firestream_ws_frames_sent_total", factory: factory)
        recordsSent = CoreMetrics.Counter(label: "firestream_ws_records_sent_total", factory: factory)
        recordsSkipped = CoreMetrics.Counter(label: "firestream_ws_records_dropped_total", factory: factory)
        gaps = CoreMetrics.Counter(label: "firestream_ws_gaps_total", factory: factory)
        slowClientsClosed = CoreMetrics.Counter(label: "firestream_ws_slow_clients_closed_total", factory: factory)
        ingestedRecords = CoreMetrics.Counter(label: "firestream_ingest_records_total", factory: factory)
        ingestedBytes = CoreMetrics.Counter(label: "firestream_ingest_bytes_total", factory: factory)
        signatureFailures = CoreMetrics.Counter(label: "firestream_signature_failures_total", factory: factory)
        authenticationFailures = CoreMetrics.Counter(label: "firestream_authentication_failures_total", factory: factory)
        originRefusals = CoreMetrics.Counter(label: "firestream_origin_refusals_total", factory: factory)
        protectedWrites = CoreMetrics.Counter(label: "firestream_protected_writes_total", factory: factory)
        connectionsRefused = CoreMetrics.Counter(label: "firestream_connections_refused_total", factory: factory)
        headerTimeouts = CoreMetrics.Counter(label: "firestream_header_timeouts_total", factory: factory)
        bodyTimeouts = CoreMetrics.Counter(label: "firestream_body_timeouts_total", factory: factory)
        idleTimeouts = CoreMetrics.Counter(label: "firestream_idle_timeouts_total", factory: factory)
        truncatedResponses = CoreMetrics.Counter(label: "firestream_truncated_responses_total", factory: factory)
        sqlQueries = CoreMetrics.Counter(label: "firestream_sql_queries_total", factory: factory)
        sqlFailures = CoreMetrics.Counter(label: "firestream_sql_failures_total", factory: factory)
    }

    /// Every metric's help line. A name missing here is a programming error caught by the test
    /// that renders all of them.
    static let help: [String: String] = [
        "firestream_log_end_offset": "Records appended to each partition (its durable end offset).",
        "firestream_log_bytes": "Bytes on disk per topic.",
        "firestream_app_lag_records": "Records an app has not consumed yet, per input partition.",
        "firestream_consumer_group_lag_records":
            "Records a consumer group has not committed yet, per partition (partition end minus committed offset).",
        "firestream_ws_feed_end_offset": "The next offset each watched partition's feed will render.",
        "firestream_http_responses_total": "HTTP responses by status code.",
        "firestream_sql_queries_total": "POST /sql queries answered.",
        "firestream_sql_failures_total": "POST /sql queries refused or failed (bad SQL, writes, time limit, busy).",
        "firestream_http_connections": "HTTP and WebSocket connections open now.",
        "firestream_ws_feeds": "Partition feeds alive (one per watched partition).",
        "firestream_ws_feed_bytes": "Bytes held by the feeds' rings.",
        "firestream_ws_clients": "WebSocket subscribers connected now.",
        "firestream_ws_frames_sent_total": "WebSocket frames sent to subscribers.",
        "firestream_ws_records_sent_total": "Records sent to WebSocket subscribers.",
        "firestream_ws_records_dropped_total": "Records skipped for subscribers that fell behind (gap notices).",
        "firestream_ws_gaps_total": "Gap notices sent to slow subscribers.",
        "firestream_ws_slow_clients_closed_total": "Subscribers closed because a write stalled.",
        "firestream_ingest_records_total": "Records appended through HTTP and WebSocket ingest.",
        "firestream_ingest_bytes_total": "Request bytes accepted by ingest.",
        "firestream_signature_failures_total": "Ingest requests refused for a missing or wrong signature.",
        "firestream_authentication_failures_total": "Requests refused for a missing or unknown token or session (401).",
        "firestream_origin_refusals_total": "Requests refused for a Host or Origin that is not allowed (403).",
        "firestream_connections_refused_total": "Connections closed on accept because maxConnections were open.",
        "firestream_header_timeouts_total": "Connections closed because their first request head did not arrive in time.",
        "firestream_idle_timeouts_total": "Keep-alive connections closed after idling between requests.",
        "firestream_body_timeouts_total": "Requests answered 408 because their body did not arrive in time.",
        "firestream_truncated_responses_total": "Record listings cut at the response size limit.",
        "firestream_protected_writes_total": "Writes refused into internal, app output or dead-letter topics (403).",
    ]

    func recordFrames(count: Int) {
        framesSent.increment()
        recordsSent.increment(by: count)
    }

    func recordResponse(_ status: Int) {
        let counter = scraped.withLock { state in
            if let counter = state.responses[status] { return counter }
            let counter = CoreMetrics.Counter(label: "firestream_http_responses_total", dimensions: [("code", "\(status)")], factory: factory)
            state.responses[status] = counter
            return counter
        }
        counter.increment()
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

    /// Reads the figures that live elsewhere (log, apps, feeds) into the registry, then renders it.
    func render(
        log: Log?, apps: [AppPosition], feeds: (count: Int, bytes: Int) = (0, 0), feedEnds: [(topic: String, partition: Int, end: Int64)] = [],
        connections: Int = 0
    ) -> String {
        var sample = ScrapeSample()
        // On a Kafka cluster these figures are the cluster's own metrics.
        if let log { sampleLog(log, apps: apps, into: &sample) }
        for feed in feedEnds {
            sample.gauges[Series("firestream_ws_feed_end_offset", [("topic", feed.topic), ("partition", "\(feed.partition)")])] = Double(feed.end)
        }
        sample.gauges[Series("firestream_http_connections", [])] = Double(connections)
        sample.gauges[Series("firestream_ws_feeds", [])] = Double(feeds.count)
        sample.gauges[Series("firestream_ws_feed_bytes", [])] = Double(feeds.bytes)
        scraped.withLock { $0.apply(sample, factory: factory) }
        return registry.emitToString()
    }

    /// The log's ends and sizes, the apps' lag, and every consumer group's lag.
    private func sampleLog(_ log: Log, apps: [AppPosition], into sample: inout ScrapeSample) {
        let topics = log.topicNames.compactMap { log.topicIfExists($0) }
        for topic in topics {
            for (index, partition) in topic.partitions.enumerated() {
                sample.ends[[topic.name, "\(index)"]] = partition.durableOffset
            }
            sample.gauges[Series("firestream_log_bytes", [("topic", topic.name)])] =
                Double(topic.partitions.reduce(Int64(0)) { $0 + $1.sizeInBytes })
        }
        for position in apps {
            guard let topic = log.topicIfExists(position.topic), topic.partitions.indices.contains(position.partition) else { continue }
            let lag = max(0, topic.partitions[position.partition].durableOffset - position.next)
            let labels = [("app", position.app), ("topic", position.topic), ("partition", "\(position.partition)")]
            sample.gauges[Series("firestream_app_lag_records", labels)] = Double(lag)
        }
        // Every consumer group that committed offsets (Kafka clients', and Firestream's effects').
        for group in log.consumerOffsets.groupNames {
            for position in log.positions(of: group) {
                let labels = [("group", group), ("topic", position.topic), ("partition", "\(position.partition)")]
                sample.gauges[Series("firestream_consumer_group_lag_records", labels)] = Double(position.lag)
            }
        }
    }
}

/// One time series: a metric name and its labels.
struct Series: Hashable, Sendable {
    var name: String
    var labels: [String]

    init(_ name: String, _ labels: [(String, String)]) {
        self.name = name
        self.labels = labels.flatMap { [$0.0, $0.1] }
    }

    var dimensions: [(String, String)] { stride(from: 0, to: labels.count, by: 2).map { (labels[$0], labels[$0 + 1]) } }
}

/// The values read at one scrape.
struct ScrapeSample {
    /// Durable end offsets by [topic, partition]: reported as a counter.
    var ends: [[String]: Int64] = [:]
    var gauges: [Series: Double] = [:]
}

/// What `/metrics` last reported of the figures read at scrape time. Series that disappear
/// (a deleted topic, an app that stopped) are removed from the registry.
struct Scraped: Sendable {
    var responses: [Int: CoreMetrics.Counter] = [:]
    var ends: [[String]: (counter: CoreMetrics.Counter, reported: Int64)] = [:]
    var gauges: [Series: CoreMetrics.Gauge] = [:]

    mutating func apply(_ sample: ScrapeSample, factory: DescribedMetricsFactory) {
        for (key, end) in sample.ends {
            var entry =
                ends[key]
                ?? (
                    CoreMetrics.Counter(
                        label: "firestream_log_end_offset", dimensions: [("topic", key[0]), ("partition", key[1])], factory: factory), 0
                )
            // Offsets only grow while a partition exists, so the counter advances by the difference.
            if end > entry.reported {
                entry.counter.increment(by: end - entry.reported)
                entry.reported = end
            }
            ends[key] = entry
        }
        for key in ends.keys where sample.ends[key] == nil { ends.removeValue(forKey: key)?.counter.destroy() }
        for (series, value) in sample.gauges {
            let gauge = gauges[series] ?? CoreMetrics.Gauge(label: series.name, dimensions: series.dimensions, factory: factory)
            gauge.record(value)
            gauges[series] = gauge
        }
        for series in gauges.keys where sample.gauges[series] == nil { gauges.removeValue(forKey: series)?.destroy() }
    }
}

/// A swift-metrics factory over a Prometheus registry that gives each metric its help line
/// (swift-prometheus's own factory registers them without one).
public struct DescribedMetricsFactory: MetricsFactory, Sendable {
    public let registry: PrometheusCollectorRegistry
    public let help: [String: String]

    public init(registry: PrometheusCollectorRegistry, help: [String: String]) {
        self.registry = registry
        self.help = help
    }

    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: help[label] ?? "")
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(
            descriptor: descriptor(label), labels: dimensions, buckets: [.milliseconds(1), .milliseconds(10), .milliseconds(100), .seconds(1)])
    }

    public func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    public func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    public func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    public func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
    }
}

/// Counts every HTTP response by status for `/metrics`.
/// Answers a failure of the storage (a Kafka cluster that does not answer) with 503 and its
/// reason, instead of a bare 500.
struct StorageFailureMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any StorageUnavailable {
            throw Failure(503, error.description)
        }
    }
}

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
