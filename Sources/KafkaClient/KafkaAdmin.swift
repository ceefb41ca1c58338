import CRdKafka
import Synchronization

/// What a Kafka cluster knows of topics, and topic creation: for checking and preparing an
/// app's topics before it runs. Calls block (up to their timeout): use from a thread of your own
/// or off the cooperative pool.
public final class KafkaAdmin: @unchecked Sendable {
    // Used by one caller at a time (the worker's startup); freed by close().
    private let handle: OpaquePointer
    private let events = ClientEvents()
    private var closed = false

    public init(settings: [String: String]) throws(KafkaClientError) {
        let conf = try makeConfiguration(settings)
        events.attach(to: conf)
        handle = try makeClient(RD_KAFKA_PRODUCER, conf, role: "admin client")
    }

    deinit { close() }

    public func close() {
        guard !closed else { return }
        closed = true
        rd_kafka_destroy(handle)
    }

    /// The partition counts of the topics the cluster has (every topic; none is created by asking).
    public func partitionCounts(timeout: Duration = .seconds(30)) throws(KafkaClientError) -> [String: Int] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let error = rd_kafka_metadata(handle, 1, nil, &metadata, milliseconds(timeout))
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            var failure = KafkaClientError(error, while: "asking the cluster for its topics")
            // Error callbacks wait in the client's queue until polled.
            _ = rd_kafka_poll(handle, 0)
            if let last = events.lastError.withLock({ $0 }) { failure.description += "; the last error from the cluster: \(last)" }
            throw failure
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        var counts: [String: Int] = [:]
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let topic = metadata.pointee.topics[index]
            guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            counts[String(cString: topic.topic)] = Int(topic.partition_cnt)
        }
        return counts
    }

    /// Creates `topic` with `partitions` (the cluster's default replication) and `configs`;
    /// a topic that exists already is not an error.
    public func createTopic(
        _ topic: String, partitions: Int, configs: [String: String] = [:], timeout: Duration = .seconds(30)
    ) throws(KafkaClientError) {
        var reason = [CChar](repeating: 0, count: 512)
        guard let newTopic = rd_kafka_NewTopic_new(topic, Int32(clamping: partitions), -1, &reason, reason.count) else {
            throw KafkaClientError("creating topic \(topic): \(String(cString: reason))")
        }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        for (name, value) in configs.sorted(by: { $0.key < $1.key }) { _ = rd_kafka_NewTopic_set_config(newTopic, name, value) }
        try topicRequest(
            "creating topic \(topic)", timeout: timeout, tolerating: RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS,
            send: { queue in
                var topics: [OpaquePointer?] = [newTopic]
                rd_kafka_CreateTopics(handle, &topics, 1, nil, queue)
            },
            results: { event, count in rd_kafka_event_CreateTopics_result(event).flatMap { rd_kafka_CreateTopics_result_topics($0, &count) } })
    }

    /// Deletes `topic` and its records.
    public func deleteTopic(_ topic: String, timeout: Duration = .seconds(30)) throws(KafkaClientError) {
        guard let doomed = rd_kafka_DeleteTopic_new(topic) else { throw KafkaClientError("deleting topic \(topic): not a topic name") }
        defer { rd_kafka_DeleteTopic_destroy(doomed) }
        try topicRequest(
            "deleting topic \(topic)", timeout: timeout,
            send: { queue in
                var topics: [OpaquePointer?] = [doomed]
                rd_kafka_DeleteTopics(handle, &topics, 1, nil, queue)
            },
            results: { event, count in rd_kafka_event_DeleteTopics_result(event).flatMap { rd_kafka_DeleteTopics_result_topics($0, &count) } })
    }

    /// One admin request about one topic: `send` starts it on a queue of its own, `results`
    /// finds the per-topic results in the answer; an error other than `tolerating` is thrown,
    /// saying `doing`.
    private func topicRequest(
        _ doing: String, timeout: Duration, tolerating: rd_kafka_resp_err_t = RD_KAFKA_RESP_ERR_NO_ERROR,
        send: (OpaquePointer?) -> Void,
        results: (OpaquePointer, inout Int) -> UnsafeMutablePointer<OpaquePointer?>?
    ) throws(KafkaClientError) {
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        send(queue)
        guard let event = rd_kafka_queue_poll(queue, milliseconds(timeout)) else {
            throw KafkaClientError("\(doing): no answer within \(timeout)")
        }
        defer { rd_kafka_event_destroy(event) }
        if rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaClientError(code: rd_kafka_event_error(event).rawValue, "\(doing): \(String(cString: rd_kafka_event_error_string(event)))")
        }
        var count = 0
        guard let list = results(event, &count), count == 1, let answer = list[0] else {
            throw KafkaClientError("\(doing): the cluster gave no result")
        }
        let error = rd_kafka_topic_result_error(answer)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR || error == tolerating else {
            let message = rd_kafka_topic_result_error_string(answer).map { String(cString: $0) } ?? ""
            throw KafkaClientError(code: error.rawValue, "\(doing): \(message) (\(String(cString: rd_kafka_err2name(error))))")
        }
    }
}
