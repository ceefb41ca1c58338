import FirestreamFormats
import FirestreamLog
import FirestreamTesting
import KafkaProtocol
import KafkaWire
import Testing

@testable import KafkaBroker

@Suite struct ClusterTests {
    @Test func theClusterAndItsConfigsAreDescribedAsTheyAre() async throws {
        var harness = try BrokerHarness()
        defer { harness.log.close() }
        _ = try harness.log.createTopic("kept", settings: PartitionSettings(retentionMilliseconds: 3_600_000))
        let cluster = try await harness.send(DescribeClusterRequest(), version: 1, expecting: DescribeClusterResponse.self)
        #expect(cluster.clusterId == harness.broker.clusterID && cluster.controllerId == 1)
        #expect(cluster.brokers.map { "\($0.brokerId) \($0.host):\($0.port)" } == ["1 127.0.0.1:9092"])

        var request = DescribeConfigsRequest()
        var topic = DescribeConfigsRequest.DescribeConfigsResource()
        topic.resourceType = 2
        topic.resourceName = "kept"
        topic.configurationKeys = nil
        var broker = DescribeConfigsRequest.DescribeConfigsResource()
        broker.resourceType = 4
        broker.resourceName = "1"
        broker.configurationKeys = ["num.partitions"]
        var missing = topic
        missing.resourceName = "absent"
        request.resources = [topic, broker, missing]
        for version: Int16 in [0, 1, 4] {
            let described = try await harness.send(request, version: version, expecting: DescribeConfigsResponse.self)
            let retention = described.results[0].configs.first { $0.name == "retention.ms" }
            #expect(retention?.value == "3600000" && retention?.readOnly == true)
            // v0 says whether a value is the default; later versions say where it comes from (5: default).
            let segment = described.results[0].configs.first { $0.name == "segment.bytes" }
            #expect(
                version == 0
                    ? segment?.isDefault == true && retention?.isDefault == false : segment?.configSource == 5 && retention?.configSource == 1)
            #expect(described.results[1].configs.map(\.name) == ["num.partitions"])
            #expect(described.results[1].configs.first?.value == "1")
            #expect(described.results[2].errorCode == ErrorCode.unknownTopicOrPartition.code)
        }

        // ListOffsets v9 asks for the latest tiered offset: there is no tiered storage.
        var list = ListOffsetsRequest()
        var wanted = ListOffsetsRequest.ListOffsetsTopic()
        wanted.name = "kept"
        var partition = ListOffsetsRequest.ListOffsetsPartition()
        partition.timestamp = -5
        wanted.partitions = [partition]
        list.topics = [wanted]
        let listed = try await harness.send(list, version: 9, expecting: ListOffsetsResponse.self)
        #expect(listed.topics.first?.partitions.first?.errorCode == 0 && listed.topics.first?.partitions.first?.offset == -1)
    }
}

@Suite struct CreatePartitionsTests {
    func grow(_ topic: String, to count: Int32, validateOnly: Bool = false) -> CreatePartitionsRequest {
        var request = CreatePartitionsRequest()
        var wanted = CreatePartitionsRequest.CreatePartitionsTopic()
        wanted.name = topic
        wanted.count = count
        wanted.assignments = nil
        request.topics = [wanted]
        request.validateOnly = validateOnly
        return request
    }

    @Test func topicsGrowDurablyButNeverShrinkAndTopicsInUseStayAsTheyAre() async throws {
        let directory = TemporaryDirectory()
        var harness = try BrokerHarness(directory: directory, protection: TopicProtection(owned: ["wiener": "the wiener app's output"]))
        _ = try harness.log.createTopic("events")
        try await harness.log.topic("events").partitions[0].append([ProducerRecord(key: nil, value: [1], timestamp: 1)])
        let checked = try await harness.send(grow("events", to: 3, validateOnly: true), version: 3, expecting: CreatePartitionsResponse.self)
        #expect(checked.results.first?.errorCode == 0 && harness.log.topicIfExists("events")?.partitions.count == 1)
        let grown = try await harness.send(grow("events", to: 3), version: 1, expecting: CreatePartitionsResponse.self)
        #expect(grown.results.first?.errorCode == 0)
        #expect(harness.log.topicIfExists("events")?.partitions.count == 3)
        for (topic, count, code) in [
            ("events", Int32(2), ErrorCode.invalidPartitions), ("absent", 2, .unknownTopicOrPartition), ("wiener", 4, .topicAuthorizationFailed),
        ] {
            let refused = try await harness.send(grow(topic, to: count), version: 3, expecting: CreatePartitionsResponse.self)
            #expect(refused.results.first?.errorCode == code.code, "\(topic)")
        }
        harness.log.close()
        let reopened = try BrokerHarness(directory: directory)
        defer { reopened.log.close() }
        let topic = try reopened.log.topic("events")
        #expect(topic.partitions.count == 3 && topic.partitions[0].durableOffset == 1 && topic.partitions[2].durableOffset == 0)
    }
}

@Suite struct ReplicaAssignmentTests {
    func create(_ name: String, assignments: [[Int32]], partitions: Int32 = -1) -> CreateTopicsRequest {
        var topic = CreateTopicsRequest.CreatableTopic()
        topic.name = name
        topic.numPartitions = partitions
        topic.replicationFactor = -1
        topic.assignments = assignments.enumerated().map { index, brokers in
            var assignment = CreateTopicsRequest.CreatableReplicaAssignment()
            assignment.partitionIndex = Int32(index)
            assignment.brokerIds = brokers
            return assignment
        }
        var request = CreateTopicsRequest()
        request.topics = [topic]
        return request
    }

    @Test func assignmentsToThisNodeAloneCreateThatManyPartitions() async throws {
        var harness = try BrokerHarness()
        defer { harness.log.close() }
        let created = try await harness.send(create("placed", assignments: [[1], [1], [1]]), version: 4, expecting: CreateTopicsResponse.self)
        #expect(created.topics.first?.errorCode == 0)
        #expect(harness.log.topicIfExists("placed")?.partitions.count == 3)
        for (name, assignments, partitions) in [("two-nodes", [[Int32(1), 2]], Int32(-1)), ("elsewhere", [[7]], -1), ("counted", [[1]], 1)] {
            let refused = try await harness.send(
                create(name, assignments: assignments, partitions: partitions), version: 4, expecting: CreateTopicsResponse.self)
            #expect(refused.topics.first?.errorCode == ErrorCode.invalidReplicaAssignment.code, "\(name)")
            #expect(harness.log.topicIfExists(name) == nil)
        }
    }
}

@Suite struct DeleteRecordsRequestTests {
    @Test func recordsBeforeAnOffsetAreDeletedAndTopicsInUseAreRefused() async throws {
        var harness = try BrokerHarness(protection: TopicProtection(owned: ["wiener": "the wiener app's output"]))
        defer { harness.log.close() }
        let partition = try harness.log.createTopic("events").partitions[0]
        for index in 0..<10 { try await partition.append([ProducerRecord(key: nil, value: [UInt8(index)], timestamp: 1)]) }
        var request = DeleteRecordsRequest()
        for (topic, offset) in [("events", Int64(6)), ("wiener", 1), ("absent", 1)] {
            var wanted = DeleteRecordsRequest.DeleteRecordsTopic()
            wanted.name = topic
            var asked = DeleteRecordsRequest.DeleteRecordsPartition()
            asked.offset = offset
            wanted.partitions = [asked]
            request.topics.append(wanted)
        }
        let answer = try await harness.send(request, version: 2, expecting: DeleteRecordsResponse.self)
        #expect(
            answer.topics.map { $0.partitions.first?.errorCode } == [
                0, ErrorCode.topicAuthorizationFailed.code, ErrorCode.unknownTopicOrPartition.code,
            ])
        #expect(answer.topics.first?.partitions.first?.lowWatermark == 6)
        #expect(partition.startOffset == 6)
        // -1: up to the end.
        request.topics = [request.topics[0]]
        request.topics[0].partitions[0].offset = -1
        #expect(try await harness.send(request, version: 0, expecting: DeleteRecordsResponse.self).topics.first?.partitions.first?.lowWatermark == 10)
    }
}
