import KafkaProtocol

/// The APIs this broker answers, with the versions it advertises. Every client picks
/// min(its max, ours) per API, so an advertised version is a promise: only what is implemented
/// and tested is listed (docs/kafka.md has the table and the clients that use each version).
enum SupportedAPIs {
    struct API: Sendable {
        var name: String
        var versions: ClosedRange<Int16>
        var serve: @Sendable (KafkaBroker, RequestHeader, inout ProtocolReader) async throws(ProtocolError) -> KafkaBroker.Reply
    }

    static let all: [Int16: API] = Dictionary(
        uniqueKeysWithValues: [
            api(ApiVersionsRequest.self, 0...4) { broker, _, _ in broker.apiVersions(error: .none) },
            api(MetadataRequest.self, 0...12) { broker, request, version in broker.metadata(request, version: version) },
            api(ProduceRequest.self, 3...11) { broker, request, version in await broker.produce(request, version: version) },
            api(FetchRequest.self, 4...16) { broker, request, version in await broker.fetch(request, version: version) },
            api(ListOffsetsRequest.self, 1...8) { broker, request, version in broker.listOffsets(request, version: version) },
            api(CreateTopicsRequest.self, 2...7) { broker, request, version in broker.createTopics(request, version: version) },
            api(DeleteTopicsRequest.self, 1...6) { broker, request, version in broker.deleteTopics(request, version: version) },
            api(InitProducerIdRequest.self, 0...4) { broker, request, _ in broker.initProducerID(request) },
            api(FindCoordinatorRequest.self, 0...6) { broker, request, version in broker.findCoordinator(request, version: version) },
            api(OffsetCommitRequest.self, 2...9) { broker, request, version in await broker.offsetCommit(request, version: version) },
            api(OffsetFetchRequest.self, 1...9) { broker, request, version in broker.offsetFetch(request, version: version) },
        ])

    /// One API: decode `Request`, answer it, frame the answer (none for acks=0 produces).
    private static func api<Request: KafkaRequest, Response: KafkaResponse>(
        _: Request.Type, _ versions: ClosedRange<Int16>, _ answer: @escaping @Sendable (KafkaBroker, Request, Int16) async -> Response?
    ) -> (Int16, API) {
        precondition(Request.versions.lowerBound <= versions.lowerBound && versions.upperBound <= Request.versions.upperBound)
        let name = String(String(describing: Request.self).dropLast("Request".count))
        let api = API(name: name, versions: versions) { broker, header, reader throws(ProtocolError) in
            try await KafkaBroker.serve(header, &reader) { (request: Request, version) in await answer(broker, request, version) }
        }
        return (Request.apiKey, api)
    }
}
