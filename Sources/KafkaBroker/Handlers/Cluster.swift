import FirestreamFormats
import FirestreamLog
import KafkaProtocol
import Logging

/// DescribeCluster and DescribeConfigs: what admin tools and UIs show about the node and its
/// topics. Only settings Firestream really has are described, with their real values; all are
/// read-only over Kafka (Firestream has no AlterConfigs).
extension KafkaBroker {
    /// Kafka's ConfigResource types.
    enum ConfigResource: Int8 {
        case topic = 2
        case broker = 4
    }

    /// One described setting: its value, whether it is the default, and its Kafka type
    /// (1 boolean, 2 string, 3 int, 5 long).
    struct Setting {
        var name: String
        var value: String?
        var isDefault: Bool
        var type: Int8
        var documentation: String
    }

    func describeCluster(_ request: DescribeClusterRequest) -> DescribeClusterResponse {
        var response = DescribeClusterResponse()
        guard request.endpointType == 1 else {
            response.errorCode = ErrorCode.unsupportedEndpointType.code
            response.errorMessage = "only broker endpoints (type 1) are described; this node is not a KRaft controller"
            return response
        }
        response.clusterId = clusterID
        response.controllerId = options.nodeID
        var broker = DescribeClusterResponse.DescribeClusterBroker()
        broker.brokerId = options.nodeID
        broker.host = options.advertisedHost
        broker.port = Int32(clamping: advertisedPort)
        response.brokers = [broker]
        return response
    }

    /// A topic's settings for principals that may see it; the broker's for administrators.
    func describeConfigs(_ request: DescribeConfigsRequest, version: Int16, principal: Principal) -> DescribeConfigsResponse {
        var response = DescribeConfigsResponse()
        response.results = request.resources.map { resource in
            var result = DescribeConfigsResponse.DescribeConfigsResult()
            result.resourceType = resource.resourceType
            result.resourceName = resource.resourceName
            result.errorMessage = nil
            let settings: [Setting]
            switch ConfigResource(rawValue: resource.resourceType) {
            case .topic:
                if let refusal = principal.seeRefusal(topic: resource.resourceName) {
                    result.errorCode = ErrorCode.topicAuthorizationFailed.code
                    result.errorMessage = refusal
                    return result
                }
                guard let topic = log.topicIfExists(resource.resourceName) else {
                    result.errorCode = ErrorCode.unknownTopicOrPartition.code
                    result.errorMessage = "no topic \(resource.resourceName)"
                    return result
                }
                settings = topicSettings(topic.settings)
            case .broker where !principal.isAdministrator:
                result.errorCode = ErrorCode.clusterAuthorizationFailed.code
                result.errorMessage = "the broker's settings are for tokens with the admin scope"
                return result
            case .broker where resource.resourceName.isEmpty || resource.resourceName == String(options.nodeID):
                settings = brokerSettings()
            case .broker:
                result.errorCode = ErrorCode.invalidRequest.code
                result.errorMessage = "this is broker \(options.nodeID), the only one"
                return result
            case nil:
                result.errorCode = ErrorCode.invalidRequest.code
                result.errorMessage = "resource type \(resource.resourceType) has no configs here (topics are 2, brokers 4)"
                return result
            }
            let wanted = resource.configurationKeys.map(Set.init)
            result.configs = settings.filter { wanted?.contains($0.name) ?? true }.map { setting in
                var config = DescribeConfigsResponse.DescribeConfigsResourceResult()
                config.name = setting.name
                config.value = setting.value
                config.readOnly = true
                config.isDefault = setting.isDefault
                // Kafka's ConfigSource: 1 dynamic topic config, 4 static broker config, 5 default.
                let source: Int8 = setting.isDefault ? 5 : (ConfigResource(rawValue: resource.resourceType) == .topic ? 1 : 4)
                config.configSource = source
                config.configType = setting.type
                config.documentation = request.includeDocumentation ? setting.documentation : nil
                if request.includeSynonyms {
                    var synonym = DescribeConfigsResponse.DescribeConfigsSynonym()
                    synonym.name = setting.name
                    synonym.value = setting.value
                    synonym.source = source
                    config.synonyms = [synonym]
                }
                return config
            }
            return result
        }
        return response
    }

    private func topicSettings(_ settings: PartitionSettings) -> [Setting] {
        let defaults = PartitionSettings()
        return [
            Setting(name: "cleanup.policy", value: "delete", isDefault: true, type: 7, documentation: "Old segments are deleted (no compaction)."),
            Setting(
                name: "retention.ms", value: String(settings.retentionMilliseconds ?? -1),
                isDefault: settings.retentionMilliseconds == defaults.retentionMilliseconds, type: 5,
                documentation: "How long records are kept; -1 for ever."),
            Setting(
                name: "retention.bytes", value: String(settings.retentionBytes ?? -1), isDefault: settings.retentionBytes == defaults.retentionBytes,
                type: 5, documentation: "Bytes kept per partition; -1 for no limit."),
            Setting(
                name: "segment.bytes", value: String(settings.segmentBytes), isDefault: settings.segmentBytes == defaults.segmentBytes, type: 3,
                documentation: "A segment file is rolled at this size."),
            Setting(
                name: "segment.ms", value: String(settings.segmentMilliseconds),
                isDefault: settings.segmentMilliseconds == defaults.segmentMilliseconds, type: 5,
                documentation: "A segment file is rolled at this age."),
            Setting(
                name: "max.message.bytes", value: String(options.maxMessageBytes), isDefault: true, type: 3,
                documentation: "The largest record batch a producer may send."),
            Setting(
                name: "message.timestamp.type", value: "CreateTime", isDefault: true, type: 2,
                documentation: "Records keep the timestamps their producers gave them."),
            Setting(
                name: "compression.type", value: "producer", isDefault: true, type: 2,
                documentation: "Batches are stored as producers compressed them."),
            Setting(name: "min.insync.replicas", value: "1", isDefault: true, type: 3, documentation: "One node, one replica."),
        ]
    }

    private func brokerSettings() -> [Setting] {
        [
            Setting(name: "broker.id", value: String(options.nodeID), isDefault: false, type: 3, documentation: "This node's id."),
            Setting(
                name: "auto.create.topics.enable", value: String(options.autoCreateTopics), isDefault: options.autoCreateTopics, type: 1,
                documentation: "Metadata requests for unknown topics create them."),
            Setting(
                name: "num.partitions", value: String(options.defaultPartitions), isDefault: options.defaultPartitions == 1, type: 3,
                documentation: "Partitions of topics created without a count."),
            Setting(name: "default.replication.factor", value: "1", isDefault: true, type: 4, documentation: "One node, one replica."),
            Setting(
                name: "message.max.bytes", value: String(options.maxMessageBytes), isDefault: true, type: 3,
                documentation: "The largest record batch a producer may send."),
            Setting(
                name: "group.initial.rebalance.delay.ms", value: String(options.initialRebalanceDelay.milliseconds),
                isDefault: options.initialRebalanceDelay == .seconds(3), type: 3,
                documentation: "How long the first join of an empty group waits for others."),
            Setting(
                name: "group.min.session.timeout.ms", value: String(options.sessionTimeouts.lowerBound.milliseconds), isDefault: true, type: 3,
                documentation: "The shortest session a consumer may ask for."),
            Setting(
                name: "group.max.session.timeout.ms", value: String(options.sessionTimeouts.upperBound.milliseconds), isDefault: true, type: 3,
                documentation: "The longest session a consumer may ask for."),
        ]
    }
}

extension KafkaBroker {
    /// CreatePartitions: a topic grows (never shrinks). Topics Firestream owns or uses are
    /// refused: an app reads the partitions it started with, so new ones would go unread.
    func createPartitions(_ request: CreatePartitionsRequest, principal: Principal) -> CreatePartitionsResponse {
        var response = CreatePartitionsResponse()
        let counts = Dictionary(request.topics.map { ($0.name, 1) }, uniquingKeysWith: +)
        response.results = request.topics.map { wanted in
            var result = CreatePartitionsResponse.CreatePartitionsTopicResult()
            result.name = wanted.name
            let refusal =
                principal.refusal(.admin, topic: wanted.name).map { (ErrorCode.topicAuthorizationFailed, $0) }
                ?? partitionsRefusal(wanted, current: log.topicIfExists(wanted.name)?.partitions.count, named: counts[wanted.name] ?? 0)
            if let (code, message) = refusal {
                result.errorCode = code.code
                result.errorMessage = message
                return result
            }
            guard !request.validateOnly else { return result }
            do throws(LogError) {
                try log.addPartitions(wanted.name, to: Int(wanted.count))
                logger.info("topic \(wanted.name) now has \(wanted.count) partitions, for a Kafka client")
            } catch {
                result.errorCode = ErrorCode(error).code
                result.errorMessage = "\(error)"
            }
            return result
        }
        return response
    }

    private func partitionsRefusal(
        _ wanted: CreatePartitionsRequest.CreatePartitionsTopic, current: Int?, named: Int
    ) -> (ErrorCode, String)? {
        if named > 1 { return (.invalidRequest, "topic \(wanted.name) is named more than once") }
        if let refusal = options.protection.writeRefusal(wanted.name) { return (.topicAuthorizationFailed, refusal) }
        if let use = options.topicsInUse[wanted.name] {
            return (.policyViolation, "topic \(wanted.name) is in use (\(use)): its readers would not see new partitions until a restart")
        }
        guard let current else { return (.unknownTopicOrPartition, "no topic \(wanted.name)") }
        guard Int(wanted.count) > current, wanted.count <= 10_000 else {
            return (.invalidPartitions, "topic \(wanted.name) has \(current) partition(s); ask for more (at most 10000), not \(wanted.count)")
        }
        if let assignments = wanted.assignments {
            guard assignments.count == Int(wanted.count) - current, assignments.allSatisfy({ $0.brokerIds == [options.nodeID] }) else {
                return (.invalidReplicaAssignment, "one node (\(options.nodeID)) holds every partition, with one replica")
            }
        }
        return nil
    }
}

extension KafkaBroker {
    /// DeleteRecords: each partition starts at the offset asked (-1: its end) from now on.
    /// Topics Firestream owns or uses are refused: an app that has not read those records yet
    /// would lose them.
    func deleteRecords(_ request: DeleteRecordsRequest, principal: Principal) async -> DeleteRecordsResponse {
        var response = DeleteRecordsResponse()
        for wanted in request.topics {
            var answer = DeleteRecordsResponse.DeleteRecordsTopicResult()
            answer.name = wanted.name
            let topic = log.topicIfExists(wanted.name)
            let refusal: ErrorCode? =
                if !principal.may(.admin, topic: wanted.name) || options.protection.writeRefusal(wanted.name) != nil {
                    .topicAuthorizationFailed
                } else if options.topicsInUse[wanted.name] != nil {
                    .policyViolation
                } else {
                    nil
                }
            for asked in wanted.partitions {
                var result = DeleteRecordsResponse.DeleteRecordsPartitionResult()
                result.partitionIndex = asked.partitionIndex
                result.lowWatermark = -1
                guard refusal == nil, let partition = topic?.partitions.dropFirst(Int(max(asked.partitionIndex, 0))).first,
                    asked.partitionIndex >= 0
                else {
                    result.errorCode = (refusal ?? .unknownTopicOrPartition).code
                    answer.partitions.append(result)
                    continue
                }
                let offset = asked.offset == -1 ? partition.durableOffset : asked.offset
                do {
                    // A durable write of the new start: off the cooperative pool.
                    result.lowWatermark = try await BlockingIO.run { () throws(LogError) in try partition.deleteRecords(before: offset) }
                    logger.info("records of \(wanted.name)/\(asked.partitionIndex) before \(result.lowWatermark) deleted for a Kafka client")
                } catch {
                    result.errorCode = ErrorCode(error).code
                }
                answer.partitions.append(result)
            }
            response.topics.append(answer)
        }
        return response
    }
}
