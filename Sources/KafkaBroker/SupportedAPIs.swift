import FirestreamFormats
import KafkaProtocol

/// The APIs this broker answers, with the versions it advertises. Every client picks
/// min(its max, ours) per API, so an advertised version is a promise: only what is implemented
/// and tested is listed (docs/kafka.md has the table and the clients that use each version).
enum SupportedAPIs {
    /// What a handler knows of the request besides its body.
    struct Call: Sendable {
        var version: Int16
        var clientID: String
        /// The client's address, as Kafka shows it in DescribeGroups ("/127.0.0.1").
        var clientHost: String
        /// Who asks (authenticated, or ``Principal/anyone`` on a broker without credentials).
        var principal: Principal
    }

    struct API: Sendable {
        var name: String
        var versions: ClosedRange<Int16>
        /// Answered before the client authenticates.
        var beforeAuthentication = false
        /// Offered only by a broker with credentials.
        var needsSASL = false
        var serve:
            @Sendable (KafkaBroker, RequestHeader, inout KafkaConnection, inout ProtocolReader) async throws(ProtocolError) -> KafkaBroker.Reply
    }

    static let all: [Int16: API] = Dictionary(
        uniqueKeysWithValues: [
            api(ApiVersionsRequest.self, 0...4, beforeAuthentication: true) { broker, _, _ in broker.apiVersions(error: .none) },
            // v0 too: librdkafka 2.0.2 sees no SASL support without it (and v0 clients send
            // the mechanism's messages bare).
            sasl(SaslHandshakeRequest.self, 0...1) { broker, request, version, connection in
                broker.saslHandshake(request, version: version, connection: &connection)
            },
            sasl(SaslAuthenticateRequest.self, 0...2) { broker, request, _, connection in broker.saslAuthenticate(request, connection: &connection) },
            api(MetadataRequest.self, 0...12) { broker, request, call in broker.metadata(request, version: call.version, principal: call.principal) },
            api(ProduceRequest.self, 0...11) { broker, request, call in
                await broker.produce(request, version: call.version, principal: call.principal)
            },
            api(FetchRequest.self, 4...16) { broker, request, call in await broker.fetch(request, version: call.version, principal: call.principal) },
            api(ListOffsetsRequest.self, 1...9) { broker, request, call in broker.listOffsets(request, principal: call.principal) },
            api(CreateTopicsRequest.self, 2...7) { broker, request, call in broker.createTopics(request, principal: call.principal) },
            api(DeleteTopicsRequest.self, 1...6) { broker, request, call in
                broker.deleteTopics(request, version: call.version, principal: call.principal)
            },
            api(InitProducerIdRequest.self, 0...4) { broker, request, call in await broker.initProducerID(request, principal: call.principal) },
            api(AddPartitionsToTxnRequest.self, 0...3) { broker, request, call in
                await broker.addPartitionsToTxn(request, principal: call.principal)
            },
            api(AddOffsetsToTxnRequest.self, 0...3) { broker, request, call in await broker.addOffsetsToTxn(request, principal: call.principal) },
            api(EndTxnRequest.self, 0...3) { broker, request, call in await broker.endTxn(request, principal: call.principal) },
            api(TxnOffsetCommitRequest.self, 0...3) { broker, request, call in await broker.txnOffsetCommit(request, principal: call.principal) },
            api(FindCoordinatorRequest.self, 0...6) { broker, request, call in broker.findCoordinator(request, version: call.version) },
            api(OffsetCommitRequest.self, 2...9) { broker, request, call in
                await broker.offsetCommit(request, version: call.version, principal: call.principal)
            },
            api(OffsetFetchRequest.self, 1...9) { broker, request, call in
                broker.offsetFetch(request, version: call.version, principal: call.principal)
            },
            api(JoinGroupRequest.self, 0...9) { broker, request, call in await broker.joinGroup(request, call) },
            api(SyncGroupRequest.self, 0...5) { broker, request, call in await broker.syncGroup(request, call) },
            api(HeartbeatRequest.self, 0...4) { broker, request, _ in broker.heartbeat(request) },
            api(LeaveGroupRequest.self, 0...5) { broker, request, call in await broker.leaveGroup(request, call) },
            api(DescribeGroupsRequest.self, 0...5) { broker, request, call in broker.describeGroups(request, version: call.version) },
            api(ListGroupsRequest.self, 0...5) { broker, request, call in broker.listGroups(request, version: call.version) },
            api(DeleteGroupsRequest.self, 0...2) { broker, request, call in await broker.deleteGroups(request, principal: call.principal) },
            api(OffsetDeleteRequest.self, 0...0) { broker, request, call in await broker.offsetDelete(request, principal: call.principal) },
            api(DescribeConfigsRequest.self, 0...4) { broker, request, call in
                broker.describeConfigs(request, version: call.version, principal: call.principal)
            },
            api(DescribeClusterRequest.self, 0...1) { broker, request, _ in broker.describeCluster(request) },
            api(CreatePartitionsRequest.self, 0...3) { broker, request, call in broker.createPartitions(request, principal: call.principal) },
            api(DeleteRecordsRequest.self, 0...2) { broker, request, call in await broker.deleteRecords(request, principal: call.principal) },
        ])

    /// One API: decode `Request`, answer it, frame the answer (none for acks=0 produces).
    private static func api<Request: KafkaRequest, Response: KafkaResponse>(
        _: Request.Type, _ versions: ClosedRange<Int16>, beforeAuthentication: Bool = false,
        _ answer: @escaping @Sendable (KafkaBroker, Request, Call) async -> Response?
    ) -> (Int16, API) {
        precondition(Request.versions.lowerBound <= versions.lowerBound && versions.upperBound <= Request.versions.upperBound)
        let api = API(name: name(of: Request.self), versions: versions, beforeAuthentication: beforeAuthentication) {
            broker, header, connection, reader throws(ProtocolError) in
            let call = Call(
                version: header.apiVersion, clientID: header.clientID ?? "", clientHost: connection.peer,
                principal: connection.principal ?? Principal(name: "", scopes: []))
            return try await KafkaBroker.serve(header, &reader) { (request: Request, _) in await answer(broker, request, call) }
        }
        return (Request.apiKey, api)
    }

    /// One SASL API: answered before authentication, which it advances.
    private static func sasl<Request: KafkaRequest, Response: KafkaResponse>(
        _: Request.Type, _ versions: ClosedRange<Int16>,
        _ answer: @escaping @Sendable (KafkaBroker, Request, Int16, inout KafkaConnection) -> Response
    ) -> (Int16, API) {
        precondition(Request.versions.lowerBound <= versions.lowerBound && versions.upperBound <= Request.versions.upperBound)
        let api = API(name: name(of: Request.self), versions: versions, beforeAuthentication: true, needsSASL: true) {
            broker, header, connection, reader throws(ProtocolError) in
            try await KafkaBroker.serve(header, &reader) { (request: Request, version) in answer(broker, request, version, &connection) }
        }
        return (Request.apiKey, api)
    }

    private static func name(of request: Any.Type) -> String { String(String(describing: request).dropLast("Request".count)) }
}
