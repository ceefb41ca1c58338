import FirestreamFormats
import FirestreamLog
import KafkaBroker
import KafkaProtocol
import Testing

/// One client connection to a broker, kept across requests (its authentication state).
struct BrokerClient {
    let broker: KafkaBroker
    var connection: KafkaConnection
    var correlation: Int32 = 0
    /// Why the broker closed the connection, once it did.
    var closed: String?

    init(_ broker: KafkaBroker) {
        self.broker = broker
        connection = broker.connection(peer: "/127.0.0.1")
    }

    /// Sends `request`; the answer, or nil when the broker closed without one.
    mutating func send<Request: KafkaRequest, Response: KafkaResponse>(
        _ request: Request, version: Int16, expecting _: Response.Type
    ) async throws -> Response? {
        correlation += 1
        let frame = RequestHeader(apiKey: Request.apiKey, apiVersion: version, correlationID: correlation, clientID: "test").frame(request)
        let bytes: [UInt8]
        switch await broker.respond(to: Array(frame.dropFirst(4)), on: &connection) {
        case .frame(let reply): bytes = reply
        case .last(let reply, let reason):
            bytes = reply
            closed = reason
        case .close(let reason):
            closed = reason
            return nil
        case .none: throw BrokerTestFailure(description: "no answer")
        }
        var reader = ProtocolReader(Array(bytes.dropFirst(4)))
        #expect(try reader.int32() == correlation)
        if Response.isFlexible(version) && Response.apiKey != ApiVersionsResponse.apiKey { try RequestHeader.readTaggedFields(&reader) }
        return try Response(from: &reader, version: version)
    }

    /// SaslHandshake v1 then PLAIN in SaslAuthenticate `version`: the error code of the last step.
    mutating func signIn(plain user: String, _ password: String, version: Int16 = 2) async throws -> Int16? {
        var handshake = SaslHandshakeRequest()
        handshake.mechanism = "PLAIN"
        let mechanisms = try await send(handshake, version: 1, expecting: SaslHandshakeResponse.self)
        #expect(mechanisms?.mechanisms == ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
        var authenticate = SaslAuthenticateRequest()
        authenticate.authBytes = Array("\0\(user)\0\(password)".utf8)
        return try await send(authenticate, version: version, expecting: SaslAuthenticateResponse.self)?.errorCode
    }
}

func metadata(_ names: [String]?, autoCreate: Bool = false) -> MetadataRequest {
    var request = MetadataRequest()
    request.allowAutoTopicCreation = autoCreate
    request.topics = names?.map { name in
        var topic = MetadataRequest.MetadataRequestTopic()
        topic.name = name
        return topic
    }
    return request
}

@Suite struct AuthenticationTests {
    let reader = token("reader", "fst_reader", scopes: ["topic:events:read"])
    let writer = token("writer", "fst_writer", scopes: ["topic:events:write", "topic:new-*:admin"])

    func harness() throws -> BrokerHarness {
        let (reader, writer) = (reader, writer)
        let harness = try BrokerHarness(configure: { $0.credentials = [reader, writer] })
        _ = try harness.log.createTopic("events")
        _ = try harness.log.createTopic("secret")
        return harness
    }

    @Test func saslIsListedOnlyWhenTokensAreDeclaredAndNothingElseIsAnsweredBeforeIt() async throws {
        var open = try BrokerHarness()
        defer { open.log.close() }
        let openVersions = try await open.send(ApiVersionsRequest(), version: 3, expecting: ApiVersionsResponse.self)
        #expect(!openVersions.apiKeys.contains { $0.apiKey == 17 || $0.apiKey == 36 })

        let harness = try harness()
        defer { harness.log.close() }
        var client = BrokerClient(harness.broker)
        let versions = try #require(try await client.send(ApiVersionsRequest(), version: 3, expecting: ApiVersionsResponse.self))
        #expect(versions.apiKeys.contains { $0.apiKey == 17 && $0.minVersion == 0 && $0.maxVersion == 1 })
        #expect(versions.apiKeys.contains { $0.apiKey == 36 && $0.minVersion == 0 && $0.maxVersion == 2 })
        #expect(try await client.send(metadata(nil), version: 12, expecting: MetadataResponse.self) == nil)
        #expect(client.closed?.contains("before SASL authentication") == true)
        // Without authentication nothing is produced either.
        var producer = BrokerClient(harness.broker)
        #expect(try await producer.send(produceRequest("events", batch(["x"])), version: 9, expecting: ProduceResponse.self) == nil)
        #expect(harness.log.topicIfExists("events")?.partitions[0].durableOffset == 0)
    }

    @Test func aWrongTokenIsAnsweredWithTheReasonThenDisconnected() async throws {
        let harness = try harness()
        defer { harness.log.close() }
        for (user, password) in [("reader", "fst_writer"), ("nobody", "fst_reader"), ("reader", "")] {
            for version: Int16 in [0, 2] {
                var client = BrokerClient(harness.broker)
                #expect(try await client.signIn(plain: user, password, version: version) == 58)
                #expect(client.closed?.contains("SASL authentication failed") == true)
            }
        }
        var client = BrokerClient(harness.broker)
        var handshake = SaslHandshakeRequest()
        handshake.mechanism = "GSSAPI"
        #expect(try await client.send(handshake, version: 1, expecting: SaslHandshakeResponse.self)?.errorCode == 33)
        #expect(client.closed?.contains("GSSAPI") == true)

        var early = BrokerClient(harness.broker)
        let premature = try await early.send(SaslAuthenticateRequest(), version: 1, expecting: SaslAuthenticateResponse.self)
        #expect(premature?.errorCode == 34 && early.closed != nil)

        var twice = BrokerClient(harness.broker)
        #expect(try await twice.signIn(plain: "reader", "fst_reader") == 0)
        handshake.mechanism = "PLAIN"
        #expect(try await twice.send(handshake, version: 1, expecting: SaslHandshakeResponse.self)?.errorCode == 34)
    }

    /// After SaslHandshake v0 the mechanism's messages come bare (no request header), and are
    /// answered bare; a refusal closes without an answer.
    @Test func handshakeV0ExchangesBareMessages() async throws {
        let harness = try harness()
        defer { harness.log.close() }
        for (password, accepted) in [("fst_reader", true), ("fst_writer", false)] {
            var client = BrokerClient(harness.broker)
            var handshake = SaslHandshakeRequest()
            handshake.mechanism = "PLAIN"
            #expect(try await client.send(handshake, version: 0, expecting: SaslHandshakeResponse.self)?.errorCode == 0)
            let reply = await harness.broker.respond(to: Array("\0reader\0\(password)".utf8), on: &client.connection)
            if accepted {
                #expect(reply == .frame([0, 0, 0, 0]), "an empty bare answer")
                #expect(try await client.send(metadata(nil), version: 1, expecting: MetadataResponse.self)?.topics.map(\.name) == ["events"])
            } else {
                guard case .close(let reason) = reply else {
                    Issue.record("a wrong bare PLAIN got \(reply)")
                    continue
                }
                #expect(reason.contains("SASL authentication failed"))
            }
        }
    }

    @Test func scramSignsInOverSaslAuthenticateInEveryVersion() async throws {
        let harness = try harness()
        defer { harness.log.close() }
        for mechanism in ScramMechanism.allCases {
            for version: Int16 in [0, 1, 2] {
                var client = BrokerClient(harness.broker)
                var handshake = SaslHandshakeRequest()
                handshake.mechanism = mechanism.rawValue
                #expect(try await client.send(handshake, version: 1, expecting: SaslHandshakeResponse.self)?.errorCode == 0)
                let scram = ScramClient(mechanism: mechanism, user: "writer", password: "fst_writer")
                var first = SaslAuthenticateRequest()
                first.authBytes = scram.first
                let challenge = try #require(try await client.send(first, version: version, expecting: SaslAuthenticateResponse.self))
                #expect(challenge.errorCode == 0 && !client.connection.isAuthenticated)
                let (message, expected) = try scram.final(challenge.authBytes)
                var final = SaslAuthenticateRequest()
                final.authBytes = message
                let done = try #require(try await client.send(final, version: version, expecting: SaslAuthenticateResponse.self))
                #expect(done.errorCode == 0 && done.authBytes == Array(expected.utf8))
                #expect(client.connection.principal?.name == "writer")
                let seen = try await client.send(metadata(nil), version: 9, expecting: MetadataResponse.self)
                #expect(seen?.topics.map(\.name) == ["events"], "\(mechanism) v\(version)")
            }
        }
    }

    @Test func aSignedInClientMayDoWhatItsTokensScopesAllow() async throws {
        let harness = try harness()
        defer { harness.log.close() }
        var writer = BrokerClient(harness.broker)
        #expect(try await writer.signIn(plain: "writer", "fst_writer") == 0)
        let produced = try await writer.send(produceRequest("events", batch(["a"])), version: 9, expecting: ProduceResponse.self)
        #expect(produced?.responses.first?.partitionResponses.first?.errorCode == 0)
        let secret = try await writer.send(produceRequest("secret", batch(["a"])), version: 9, expecting: ProduceResponse.self)
        let refusal = secret?.responses.first?.partitionResponses.first
        #expect(refusal?.errorCode == 29 && refusal?.errorMessage?.contains("token \"writer\" may not write topic \"secret\"") == true)
        #expect(harness.log.topicIfExists("secret")?.partitions[0].durableOffset == 0)
        // Creating needs the admin scope on the name: new-* yes, others no.
        let created = try await writer.send(metadata(["new-a", "other"], autoCreate: true), version: 9, expecting: MetadataResponse.self)
        #expect(created?.topics.map(\.errorCode) == [0, 29])
        #expect(harness.log.topicIfExists("new-a") != nil && harness.log.topicIfExists("other") == nil)
        #expect(try await writer.send(InitProducerIdRequest(), version: 4, expecting: InitProducerIdResponse.self)?.errorCode == 0)

        var reader = BrokerClient(harness.broker)
        #expect(try await reader.signIn(plain: "reader", "fst_reader") == 0)
        #expect(try await reader.send(metadata(nil), version: 12, expecting: MetadataResponse.self)?.topics.map(\.name) == ["events"])
        let hidden = try await reader.send(metadata(["secret", "events"]), version: 12, expecting: MetadataResponse.self)
        #expect(hidden?.topics.map(\.errorCode) == [29, 0])
        let denied = try await reader.send(produceRequest("events", batch(["b"])), version: 9, expecting: ProduceResponse.self)
        #expect(denied?.responses.first?.partitionResponses.first?.errorCode == 29)
        #expect(try await reader.send(InitProducerIdRequest(), version: 4, expecting: InitProducerIdResponse.self)?.errorCode == 31)
        #expect(try await reader.fetch("events") == 0)
        #expect(try await reader.fetch("secret") == 29)
    }

    @Test func positionsAndSettingsFollowTheSameScopes() async throws {
        let harness = try harness()
        defer { harness.log.close() }
        var reader = BrokerClient(harness.broker)
        #expect(try await reader.signIn(plain: "reader", "fst_reader") == 0)
        var commit = OffsetCommitRequest()
        commit.groupId = "readers"
        commit.generationIdOrMemberEpoch = -1
        commit.topics = ["events", "secret"].map { name in
            var topic = OffsetCommitRequest.OffsetCommitRequestTopic()
            topic.name = name
            var partition = OffsetCommitRequest.OffsetCommitRequestPartition()
            partition.committedOffset = 0
            topic.partitions = [partition]
            return topic
        }
        let committed = try await reader.send(commit, version: 8, expecting: OffsetCommitResponse.self)
        #expect(committed?.topics.map { $0.partitions.first?.errorCode } == [0, 29])
        var fetch = OffsetFetchRequest()
        fetch.groupId = "readers"
        fetch.topics = nil
        #expect(try await reader.send(fetch, version: 3, expecting: OffsetFetchResponse.self)?.topics.map(\.name) == ["events"])

        // An admin's commit to "secret" in the same group: the reader may no longer delete it.
        try await harness.log.consumerOffsets.commit(
            group: "readers", [.init(topic: "secret", partition: 0, entry: .init(offset: 0, metadata: nil))])
        var delete = DeleteGroupsRequest()
        delete.groupsNames = ["readers"]
        #expect(try await reader.send(delete, version: 2, expecting: DeleteGroupsResponse.self)?.results.first?.errorCode == 30)

        var configs = DescribeConfigsRequest()
        configs.resources = [(Int8(2), "events"), (2, "secret"), (4, "1")].map { type, name in
            var resource = DescribeConfigsRequest.DescribeConfigsResource()
            resource.resourceType = type
            resource.resourceName = name
            resource.configurationKeys = nil
            return resource
        }
        let described = try await reader.send(configs, version: 4, expecting: DescribeConfigsResponse.self)
        #expect(described?.results.map(\.errorCode) == [0, 29, 31])
    }
}

extension BrokerClient {
    /// Fetches partition 0 of `topic` from offset 0: its error code.
    mutating func fetch(_ topic: String) async throws -> Int16? {
        var request = FetchRequest()
        request.maxWaitMs = 0
        request.minBytes = 0
        var wanted = FetchRequest.FetchTopic()
        wanted.topic = topic
        var partition = FetchRequest.FetchPartition()
        partition.partitionMaxBytes = 1 << 20
        wanted.partitions = [partition]
        request.topics = [wanted]
        return try await send(request, version: 11, expecting: FetchResponse.self)?.responses.first?.partitions.first?.errorCode
    }
}
