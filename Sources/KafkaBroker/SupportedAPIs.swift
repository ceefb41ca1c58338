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
    }

    struct API: Sendable {
        var name: String
        var versions: ClosedRange<Int16>
        var serve: @Sendable (KafkaBroker, RequestHeader, _ peer: String, inout ProtocolReader) async throws(ProtocolError) -> KafkaBroker.Reply
    }

    static let all: [Int16: API] = Dictionary(
        uniqueKeysWithValues: [
            api(ApiVersionsRequest.self, 0...4) { broker, _, _ in broker.apiVersions(error: .none) },
            api(MetadataRequest.self, 0...12) { broker, request, call in broker.metadata(request, version: call.version) },
            api(ProduceRequest.self, 0...11) { broker, request, call in await broker.produce(request, version: call.version) },
            api(FetchRequest.self, 4...16) { broker, request, call in await broker.fetch(request, version: call.version) },
            api(ListOffsetsRequest.self, 1...9) { broker, request, call in broker.listOffsets(request, version: call.version) },
            api(CreateTopicsRequest.self, 2...7) { broker, request, call in broker.createTopics(request, version: call.version) },
            api(DeleteTopicsRequest.self, 1...6) { broker, request, call in broker.deleteTopics(request, version: call.version) },
            api(InitProducerIdRequest.self, 0...4) { broker, request, _ in broker.initProducerID(request) },
            api(FindCoordinatorRequest.self, 0...6) { broker, request, call in broker.findCoordinator(request, version: call.version) },
            api(OffsetCommitRequest.self, 2...9) { broker, request, call in await broker.offsetCommit(request, version: call.version) },
            api(OffsetFetchRequest.self, 1...9) { broker, request, call in broker.offsetFetch(request, version: call.version) },
            api(JoinGroupRequest.self, 0...9) { broker, request, call in await broker.joinGroup(request, call) },
            api(SyncGroupRequest.self, 0...5) { broker, request, call in await broker.syncGroup(request, call) },
            api(HeartbeatRequest.self, 0...4) { broker, request, _ in broker.heartbeat(request) },
            api(LeaveGroupRequest.self, 0...5) { broker, request, call in await broker.leaveGroup(request, call) },
            api(DescribeGroupsRequest.self, 0...5) { broker, request, call in broker.describeGroups(request, version: call.version) },
            api(ListGroupsRequest.self, 0...5) { broker, request, call in broker.listGroups(request, version: call.version) },
            api(DeleteGroupsRequest.self, 0...2) { broker, request, _ in await broker.deleteGroups(request) },
            api(OffsetDeleteRequest.self, 0...0) { broker, request, _ in await broker.offsetDelete(request) },
            api(DescribeConfigsRequest.self, 0...4) { broker, request, call in broker.describeConfigs(request, version: call.version) },
            api(DescribeClusterRequest.self, 0...1) { broker, request, _ in broker.describeCluster(request) },
            api(CreatePartitionsRequest.self, 0...3) { broker, request, _ in broker.createPartitions(request) },
            api(DeleteRecordsRequest.self, 0...2) { broker, request, _ in await broker.deleteRecords(request) },
        ])

    /// One API: decode `Request`, answer it, frame the answer (none for acks=0 produces).
    private static func api<Request: KafkaRequest, Response: KafkaResponse>(
        _: Request.Type, _ versions: ClosedRange<Int16>, _ answer: @escaping @Sendable (KafkaBroker, Request, Call) async -> Response?
    ) -> (Int16, API) {
        precondition(Request.versions.lowerBound <= versions.lowerBound && versions.upperBound <= Request.versions.upperBound)
        let name = String(String(describing: Request.self).dropLast("Request".count))
        let api = API(name: name, versions: versions) { broker, header, peer, reader throws(ProtocolError) in
            try await KafkaBroker.serve(header, &reader) { (request: Request, version) in
                await answer(broker, request, Call(version: version, clientID: header.clientID ?? "", clientHost: peer))
            }
        }
        return (Request.apiKey, api)
    }
}
