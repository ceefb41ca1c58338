public import FirestreamFormats
public import FirestreamLog
import KafkaProtocol
import KafkaWire
public import Logging

/// Firestream's Kafka broker, without sockets: a request frame in, a response frame out, over the
/// same log that the gateway, apps and dashboard use. ``KafkaServer`` puts it on a port.
///
/// One node, one replica: every partition's leader is this node, and a write is acknowledged
/// once it is durable (acks=1 and acks=all both wait for the log's sync).
public final class KafkaBroker: Sendable {
    public struct Options: Sendable {
        /// The address clients are told to connect to (Metadata); must be reachable by them.
        public var advertisedHost: String
        /// 0: the port the server is listening on.
        public var advertisedPort: Int
        public var nodeID: Int32 = 1
        /// Metadata requests for unknown topics create them (Kafka's auto.create.topics.enable).
        public var autoCreateTopics = true
        /// Partitions of topics created without a count (auto-created, or -1 in CreateTopics).
        public var defaultPartitions = 1
        /// Topics clients may not write or delete.
        public var protection = TopicProtection()
        /// Topics in use (read by an app or effect, written by a source, declared in the config),
        /// with how: deleting one would stop what uses it, so clients may not.
        public var topicsInUse: [String: String] = [:]
        /// Consumer groups that belong to Firestream (its effects' positions): clients may read
        /// their offsets but not commit to them.
        public var ownedGroups: Set<String> = []
        /// The largest record batch a producer may send (Kafka's max.message.bytes).
        public var maxMessageBytes = 1_048_588
        /// How long the first join of an empty consumer group waits for others to join too
        /// (Kafka's group.initial.rebalance.delay.ms); zero turns the wait off.
        public var initialRebalanceDelay: Duration = .seconds(3)
        /// The session timeouts a consumer may ask for (Kafka's group.min/max.session.timeout.ms).
        public var sessionTimeouts: ClosedRange<Duration> = .seconds(6) ... .seconds(1800)
        /// The longest transaction a producer may ask for (Kafka's transaction.max.timeout.ms);
        /// one open longer is aborted and its producer fenced.
        public var maxTransactionTimeout: Duration = .seconds(900)
        /// The project's tokens. With any, clients must authenticate with SASL (PLAIN or
        /// SCRAM-SHA-256/512: user name the token's name, password the token) and may do what
        /// the token's scopes allow; with none, anyone who reaches the listener may do anything.
        public var credentials: [TokenCredential] = []

        public init(advertisedHost: String, advertisedPort: Int) {
            self.advertisedHost = advertisedHost
            self.advertisedPort = advertisedPort
        }
    }

    /// What to send back for one request.
    public enum Reply: Sendable, Equatable {
        /// A response frame, size prefix included.
        case frame([UInt8])
        /// Nothing (Produce with acks=0).
        case none
        /// Close the connection: the request could not be understood, or may not be asked.
        case close(reason: String)
        /// Send this response frame, then close the connection (a refused authentication).
        case last([UInt8], reason: String)
    }

    let log: Log
    public let options: Options
    let logger: Logger
    /// Stable for a log directory (derived from its path).
    public let clusterID: String
    /// The port the server listens on, once it does.
    let listeningPort = Locked(0)
    /// Consumer groups: membership, rebalances, assignments.
    let groups: GroupCoordinator
    /// Transactional producers and their transactions.
    let transactions: TransactionCoordinator

    /// `clock` (milliseconds, monotonic) times sessions and rebalances; tests pass their own
    /// and make time pass with ``tick()``.
    public init(
        log: Log, options: Options, logger: Logger = Logger(label: "firestream.kafka"), clock: (@Sendable () -> Int64)? = nil
    ) {
        self.log = log
        self.options = options
        self.logger = logger
        self.clusterID = Self.clusterID(for: log)
        let settings = GroupTable.Settings(
            sessionTimeouts: options.sessionTimeouts.lowerBound.milliseconds...options.sessionTimeouts.upperBound.milliseconds,
            initialRebalanceDelay: options.initialRebalanceDelay.milliseconds)
        groups = GroupCoordinator(
            store: log.kafkaGroups, settings: settings, clock: clock ?? GroupCoordinator.monotonicMilliseconds, logger: logger)
        transactions = TransactionCoordinator(
            log: log, maxTimeoutMs: Int32(clamping: options.maxTransactionTimeout.milliseconds),
            clock: clock ?? GroupCoordinator.monotonicMilliseconds, logger: logger)
    }

    /// Lets time pass for consumer groups (expired sessions leave, rebalances whose time is up
    /// complete) and transactions (those open too long are aborted). The server calls it every
    /// 100 ms.
    public func tick() async {
        await groups.tick()
        await transactions.tick()
    }

    /// Told by the server once it listens: Metadata advertises this port unless the options
    /// name another.
    public func listening(on port: Int) { listeningPort.withLock { $0 = port } }

    var advertisedPort: Int { options.advertisedPort != 0 ? options.advertisedPort : listeningPort.withLock { $0 } }

    /// Answers one request frame (without its size prefix) from a new client at `peer` (an IP
    /// address, shown by DescribeGroups).
    public func respond(to frame: [UInt8], peer: String = "") async -> Reply {
        var connection = connection(peer: peer)
        return await respond(to: frame, on: &connection)
    }

    /// Answers one request frame (without its size prefix) of `connection`, whose
    /// authentication it may advance.
    public func respond(to frame: [UInt8], on connection: inout KafkaConnection) async -> Reply {
        if connection.bareMessages { return bareSaslMessage(frame, connection: &connection) }
        var reader = ProtocolReader(frame)
        let header: RequestHeader
        do {
            header = try RequestHeader(from: &reader)
        } catch {
            return .close(reason: "unreadable request header: \(error)")
        }
        guard let api = SupportedAPIs.all[header.apiKey], offers(api) else {
            return .close(reason: "API key \(header.apiKey) is not supported (client \(header.clientID ?? "?"))")
        }
        guard api.versions.contains(header.apiVersion) else {
            if header.apiKey == ApiVersionsRequest.apiKey {
                // A newer client asks with a version we do not know: answer in v0 with the list,
                // and it retries with one we do.
                return .frame(responseFrame(apiVersions(error: .unsupportedVersion), version: 0, correlationID: header.correlationID))
            }
            return .close(reason: "\(api.name) v\(header.apiVersion) is not supported (we speak \(api.versions))")
        }
        guard connection.isAuthenticated || api.beforeAuthentication else {
            return .close(
                reason: "\(api.name) from \(header.clientID ?? "?") before SASL authentication; this listener needs security.protocol="
                    + "SASL_PLAINTEXT with sasl.mechanism PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, a token's name as user name and the token as password"
            )
        }
        let reply: Reply
        do {
            reply = try await api.serve(self, header, &connection, &reader)
        } catch {
            let start = frame.prefix(64).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
            return .close(
                reason:
                    "malformed \(api.name) v\(header.apiVersion) request from \(header.clientID ?? "?"): \(error); it began \(start)\(frame.count > 64 ? "…" : "")"
            )
        }
        guard let reason = connection.closing else { return reply }
        if case .frame(let bytes) = reply { return .last(bytes, reason: reason) }
        return .close(reason: reason)
    }

    /// Decodes a request of type `Request` (after the header), answers it, and frames the answer.
    static func serve<Request: KafkaRequest, Response: KafkaResponse>(
        _ header: RequestHeader, _ reader: inout ProtocolReader, _ answer: (Request, Int16) async -> Response?
    ) async throws(ProtocolError) -> Reply {
        if Request.isFlexible(header.apiVersion) { try RequestHeader.readTaggedFields(&reader) }
        // Bytes after the request are ignored, as Kafka does: librdkafka 2.16 sends three more
        // after some Metadata v12 requests (01 00 00), and Kafka answers them.
        let request = try Request(from: &reader, version: header.apiVersion)
        guard let response = await answer(request, header.apiVersion) else { return .none }
        return .frame(responseFrame(response, version: header.apiVersion, correlationID: header.correlationID))
    }

    private static func clusterID(for log: Log) -> String {
        // 22 characters like Kafka's, from the log directory's path: the same on every start.
        let hash = fnv1a64(log.directory)
        var mixer = SplitMix64(seed: hash)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        return "fs" + String((0..<20).map { _ in alphabet[mixer.next(below: alphabet.count)] })
    }
}

extension Duration {
    /// Whole milliseconds, saturating.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        return overflow ? (seconds < 0 ? .min : .max) : whole + attoseconds / 1_000_000_000_000_000
    }
}
