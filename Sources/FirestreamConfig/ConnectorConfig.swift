public import FirestreamFormats

/// A source that brings outside data into a topic, run by `firestream up`.
public struct SourceConfig: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Connects to a WebSocket server and appends each text message (one JSON value or an array).
        case websocket
        /// Polls an HTTP endpoint every `interval` and appends the items it returns.
        case rest
    }

    public var name: String
    public var kind: Kind
    public var enabled: Bool = true
    /// The topic records are appended to (created when missing).
    public var topic: String
    /// `ws://`/`wss://` for `websocket`, `http://`/`https://` for `rest`.
    public var url: String
    /// RFC 6901 pointer to the field that keys each record.
    public var key: String?
    /// Extra request headers (`rest`; for `websocket`, sent with the upgrade request).
    public var headers: [String: String] = [:]
    /// websocket: a text message sent after each connect (a subscription, typically).
    public var subscribe: String?
    /// websocket: reconnect back-off, doubling from `initial` to `max`, with jitter.
    public var reconnect = Backoff(initial: .parse("1s")!, max: .parse("30s")!)
    /// rest: time between polls.
    public var interval: TimeSpan = .parse("30s")!
    /// rest: pointer to the array of items inside the response (default: the whole response).
    public var items: String?
    /// rest: pointer to a field identifying an item; items already seen are skipped.
    public var dedupe: String?

    public init(name: String, kind: Kind, topic: String, url: String) {
        self.name = name
        self.kind = kind
        self.topic = topic
        self.url = url
    }
}

/// An effect that sends a topic's records out, run by `firestream up`.
public struct EffectConfig: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// POSTs batches of records to a URL.
        case webhook
        /// Turns each batch into an asset event in Apache Airflow 3 at `url` (see `airflow`).
        case airflow
    }

    /// Kind `airflow`: the asset whose events the batches become, and how to sign in.
    public struct Airflow: Sendable, Equatable {
        /// The asset's URI, as the DAG declares it.
        public var asset: String
        /// A user of Airflow's simple auth manager; without one, the effect asks for the token
        /// Airflow gives when every user is an admin.
        public var username: String?
        /// The environment variable holding `username`'s password (never the password itself).
        public var passwordEnv: String?

        public init(asset: String, username: String? = nil, passwordEnv: String? = nil) {
            self.asset = asset
            self.username = username
            self.passwordEnv = passwordEnv
        }
    }

    /// What each POST carries.
    public enum Body: String, Sendable, CaseIterable {
        /// A JSON array of `{topic, partition, offset, key, timestamp, value}` objects.
        case records
        /// A JSON array of the records' values only.
        case values
    }

    /// Where a new effect starts reading its topic.
    public enum Start: String, Sendable, CaseIterable {
        case earliest, latest
    }

    public var name: String
    public var kind: Kind
    public var enabled: Bool = true
    /// The topic whose records are sent.
    public var topic: String
    public var url: String
    public var headers: [String: String] = [:]
    public var body: Body = .records
    public var start: Start = .earliest
    /// Most records per request.
    public var batch: Int = 100
    /// Attempts per batch before its records go to the dead-letter topic.
    public var maxAttempts: Int = 5
    /// Retry back-off, doubling from `initial` to `max`, with jitter; a 429 or 503 with
    /// `Retry-After` waits as long as the server asks.
    public var backoff = Backoff(initial: .parse("500ms")!, max: .parse("30s")!)
    /// Per-request timeout.
    public var timeout: TimeSpan = .parse("10s")!
    /// Signs each request body (hmac-sha256 or github scheme).
    public var signature: SignatureConfig?
    /// Where records go after `maxAttempts` failures (default `<name>.dlq`).
    public var deadLetter: String
    /// Kind `airflow` only.
    public var airflow: Airflow?

    public init(name: String, kind: Kind, topic: String, url: String) {
        self.name = name
        self.kind = kind
        self.topic = topic
        self.url = url
        self.deadLetter = "\(name).dlq"
    }
}

/// Exponential back-off bounds.
public struct Backoff: Sendable, Equatable {
    public var initial: TimeSpan
    public var max: TimeSpan

    public init(initial: TimeSpan, max: TimeSpan) {
        self.initial = initial
        self.max = max
    }
}
