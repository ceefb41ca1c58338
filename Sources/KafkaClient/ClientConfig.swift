import CRdKafka
import Logging
import Synchronization

/// Why a librdkafka client could not be made or did not do what was asked.
public struct KafkaClientError: Error, CustomStringConvertible, Sendable {
    /// librdkafka's error code (`rd_kafka_resp_err_t`), 0 when it is a setting's fault.
    public var code: Int32
    public var description: String

    init(code: Int32 = 0, _ description: String) {
        self.code = code
        self.description = description
    }

    init(_ error: rd_kafka_resp_err_t, while doing: String) {
        self.init(code: error.rawValue, "\(doing): \(String(cString: rd_kafka_err2str(error))) (\(String(cString: rd_kafka_err2name(error))))")
    }
}

/// librdkafka settings (`bootstrap.servers`, `security.protocol`, …) as a configuration object;
/// a setting librdkafka refuses is named in the error.
func makeConfiguration(_ settings: [String: String]) throws(KafkaClientError) -> OpaquePointer {
    guard let conf = rd_kafka_conf_new() else { throw KafkaClientError("librdkafka could not allocate a configuration") }
    var message = [CChar](repeating: 0, count: 512)
    for (name, value) in settings.sorted(by: { $0.key < $1.key }) {
        guard rd_kafka_conf_set(conf, name, value, &message, message.count) == RD_KAFKA_CONF_OK else {
            rd_kafka_conf_destroy(conf)
            throw KafkaClientError("Kafka client setting \(name)=\(value): \(text(message))")
        }
    }
    return conf
}

/// A librdkafka client of `type` made from `conf` (which it then owns); the reason when it
/// cannot be made (`conf` is freed then).
func makeClient(_ type: rd_kafka_type_t, _ conf: OpaquePointer, role: String) throws(KafkaClientError) -> OpaquePointer {
    var reason = [CChar](repeating: 0, count: 512)
    guard let handle = rd_kafka_new(type, conf, &reason, reason.count) else {
        rd_kafka_conf_destroy(conf)
        throw KafkaClientError("cannot make a Kafka \(role): \(text(reason))")
    }
    return handle
}

/// The text librdkafka wrote into `buffer` (up to its first zero byte).
private func text(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// librdkafka's log lines, in Firestream's log instead of on standard error.
let librdkafkaLogger = Logger(label: "firestream.librdkafka")

/// What a client heard from librdkafka besides its answers: the last error it reported (an
/// authentication refused, a broker unreachable), to say why a record was not delivered.
final class ClientEvents: Sendable {
    let lastError = Mutex<String?>(nil)
    /// A blocking consumer's rebalance handler.
    let rebalance = Mutex<BlockingConsumer.RebalanceHandler?>(nil)

    /// Routes `conf`'s logs and errors here; the client keeps this object alive while librdkafka runs.
    func attach(to conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { _, level, facility, line in
            let facility = facility.map { String(cString: $0) } ?? ""
            let text = "\(facility): \(line.map { String(cString: $0) } ?? "")"
            // A setting meant for another kind of client (one list of settings serves all).
            if facility == "CONFWARN" {
                librdkafkaLogger.debug("\(text)")
                return
            }
            switch level {
            case ...3: librdkafkaLogger.error("\(text)")
            case 4: librdkafkaLogger.warning("\(text)")
            case 5...6: librdkafkaLogger.info("\(text)")
            default: librdkafkaLogger.debug("\(text)")
            }
        }
        rd_kafka_conf_set_error_cb(conf) { _, error, reason, opaque in
            guard let opaque else { return }
            let text = reason.map { String(cString: $0) } ?? "unknown error"
            // The log callback has already written it down; kept to explain a failed delivery.
            // "All brokers are down" follows the reason they are (a refused sign-in): keep that.
            Unmanaged<ClientEvents>.fromOpaque(opaque).takeUnretainedValue().lastError.withLock { last in
                if error != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue || last == nil { last = text }
            }
        }
    }

    /// `error`, with the cluster's last complaint when the record timed out waiting for it.
    func explain(_ error: rd_kafka_resp_err_t, while doing: String) -> KafkaClientError {
        var failure = KafkaClientError(error, while: doing)
        if error == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, let last = lastError.withLock({ $0 }) {
            failure.description += "; the last error from the cluster: \(last)"
        }
        return failure
    }
}

/// `duration` in whole milliseconds, as librdkafka's timeouts take them.
func milliseconds(_ duration: Duration) -> Int32 {
    let (seconds, attoseconds) = duration.components
    return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000)
}

/// `body` with a librdkafka topic-partition list of `entries` (each with its offset), freed after.
func withPartitionList<Result>(
    _ entries: [(topic: String, partition: Int32, offset: Int64)], _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Result
) -> Result {
    // librdkafka aborts the process itself when it cannot allocate, so the list is never nil.
    let list = rd_kafka_topic_partition_list_new(Int32(entries.count))!
    defer { rd_kafka_topic_partition_list_destroy(list) }
    for entry in entries { rd_kafka_topic_partition_list_add(list, entry.topic, entry.partition).pointee.offset = entry.offset }
    return body(list)
}
