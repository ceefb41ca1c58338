public import FirestreamFormats
public import FirestreamJSON

// Each connector takes its own options, already parsed; `firestream up` fills them from the
// config file, and a program embedding Firestream can fill them in code.

extension WebSocketSource {
    public struct Options: Sendable {
        public var name: String
        /// The topic records are appended to (created when missing).
        public var topic: String
        /// `ws://` or `wss://`.
        public var url: String
        /// The field that keys each record.
        public var key: JSONPointer?
        /// Sent with the upgrade request.
        public var headers: [String: String] = [:]
        /// A text message sent after each connect (a subscription, typically).
        public var subscribe: String?
        /// Reconnect back-off.
        public var reconnect = RetrySchedule(initialMilliseconds: 1000, maxMilliseconds: 30_000)

        public init(name: String, topic: String, url: String) {
            self.name = name
            self.topic = topic
            self.url = url
        }

        /// Where messages that are not JSON go.
        public var deadLetter: String { "\(name).dlq" }
    }
}

extension RestPollingSource {
    public struct Options: Sendable {
        public var name: String
        /// The topic records are appended to (created when missing).
        public var topic: String
        /// `http://` or `https://`.
        public var url: String
        /// The field that keys each record.
        public var key: JSONPointer?
        public var headers: [String: String] = [:]
        /// Time between polls.
        public var interval = TimeSpan.parse("30s")!
        /// The array of items inside the response (nil: the whole response is one record).
        public var items: JSONPointer?
        /// A field identifying an item; items already seen are skipped.
        public var dedupe: JSONPointer?

        public init(name: String, topic: String, url: String) {
            self.name = name
            self.topic = topic
            self.url = url
        }
    }
}

extension WebhookEffect {
    public struct Options: Sendable {
        /// What each POST carries.
        public enum Body: Sendable {
            /// A JSON array of `{topic, partition, offset, key, timestamp, value}` objects.
            case records
            /// A JSON array of the records' values only.
            case values
        }

        /// Where a new effect starts reading its topic.
        public enum Start: Sendable {
            case earliest, latest
        }

        public var name: String
        /// The topic whose records are sent.
        public var topic: String
        public var url: String
        public var headers: [String: String] = [:]
        public var body = Body.records
        public var start = Start.earliest
        /// Most records per request.
        public var batch = 100
        /// Attempts per batch before its records go to the dead-letter topic.
        public var maxAttempts = 5
        /// Retry back-off; a 429 or 503 with `Retry-After` waits as long as the server asks.
        public var backoff = RetrySchedule(initialMilliseconds: 500, maxMilliseconds: 30_000)
        /// Per-request timeout.
        public var timeout = TimeSpan.parse("10s")!
        /// Signs each request body.
        public var signature: WebhookSignature?
        /// Where records go after `maxAttempts` failures.
        public var deadLetter: String
        /// Kind `airflow`: each batch is an asset event in Airflow at `url` instead of a POST to it.
        public var airflow: AirflowTarget?

        public init(name: String, topic: String, url: String) {
            self.name = name
            self.topic = topic
            self.url = url
            self.deadLetter = "\(name).dlq"
        }
    }
}
