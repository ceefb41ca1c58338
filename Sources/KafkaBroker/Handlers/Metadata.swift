import FirestreamFormats
import FirestreamLog
import Foundation
import KafkaProtocol
import Logging

extension KafkaBroker {
    func apiVersions(error: ErrorCode) -> ApiVersionsResponse {
        var response = ApiVersionsResponse()
        response.errorCode = error.code
        response.apiKeys = SupportedAPIs.all.filter { offers($0.value) }.sorted { $0.key < $1.key }.map { key, api in
            var entry = ApiVersionsResponse.ApiVersion()
            entry.apiKey = key
            entry.minVersion = api.versions.lowerBound
            entry.maxVersion = api.versions.upperBound
            return entry
        }
        return response
    }

    /// Brokers (this one), the cluster, and the topics asked for (all when none are named),
    /// creating unknown ones when the request, the options and the principal's scopes allow it.
    /// Topics the principal may not see are left out of "all" and refused when named.
    func metadata(_ request: MetadataRequest, version: Int16, principal: Principal) -> MetadataResponse {
        var response = MetadataResponse()
        var broker = MetadataResponse.MetadataResponseBroker()
        broker.nodeId = options.nodeID
        broker.host = options.advertisedHost
        broker.port = Int32(clamping: advertisedPort)
        response.brokers = [broker]
        response.clusterId = clusterID
        response.controllerId = options.nodeID
        // v0: an empty list means all topics; v1+: null means all, empty means none.
        let wantsAll = request.topics == nil || (version == 0 && request.topics?.isEmpty == true)
        let autoCreate = options.autoCreateTopics && (version < 4 || request.allowAutoTopicCreation)
        if wantsAll {
            response.topics = log.topicNames.filter { principal.maySee(topic: $0) }.compactMap { log.topicIfExists($0) }.map(describe)
        } else {
            response.topics = (request.topics ?? []).map { wanted in
                if let name = wanted.name { return describe(named: name, creating: autoCreate, principal: principal) }
                guard let topic = topic(withID: wanted.topicId), principal.maySee(topic: topic.name) else {
                    return failed(name: nil, id: wanted.topicId, .unknownTopicID)
                }
                return describe(topic)
            }
        }
        return response
    }

    private func describe(named name: String, creating: Bool, principal: Principal) -> MetadataResponse.MetadataResponseTopic {
        // As Kafka: a topic the principal may not see is refused whether or not it exists.
        guard principal.maySee(topic: name) else { return failed(name: name, id: .zero, .topicAuthorizationFailed) }
        if let topic = log.topicIfExists(name) { return describe(topic) }
        guard creating, principal.may(.admin, topic: name) else { return failed(name: name, id: .zero, .unknownTopicOrPartition) }
        guard !TopicProtection.isInternal(name) else { return failed(name: name, id: .zero, .invalidTopic) }
        do {
            let topic = try log.ensureTopic(name, partitions: options.defaultPartitions)
            logger.info("created topic \(name) with \(options.defaultPartitions) partition(s) for a Kafka client's metadata request")
            return describe(topic)
        } catch {
            return failed(name: name, id: .zero, ErrorCode(error))
        }
    }

    private func describe(_ topic: Topic) -> MetadataResponse.MetadataResponseTopic {
        var entry = MetadataResponse.MetadataResponseTopic()
        entry.name = topic.name
        entry.topicId = KafkaUUID(topic.id)
        entry.isInternal = TopicProtection.isInternal(topic.name)
        entry.partitions = topic.partitions.map { partition in
            var described = MetadataResponse.MetadataResponsePartition()
            described.partitionIndex = Int32(partition.partition)
            described.leaderId = options.nodeID
            described.leaderEpoch = 0
            described.replicaNodes = [options.nodeID]
            described.isrNodes = [options.nodeID]
            return described
        }
        return entry
    }

    private func failed(name: String?, id: KafkaUUID, _ error: ErrorCode) -> MetadataResponse.MetadataResponseTopic {
        var entry = MetadataResponse.MetadataResponseTopic()
        entry.errorCode = error.code
        entry.name = name
        entry.topicId = id
        return entry
    }
}

extension UUID {
    init(_ id: KafkaUUID) {
        let high = withUnsafeBytes(of: id.high.bigEndian) { Array($0) }
        let low = withUnsafeBytes(of: id.low.bigEndian) { Array($0) }
        self.init(
            uuid: (
                high[0], high[1], high[2], high[3], high[4], high[5], high[6], high[7], low[0], low[1], low[2], low[3], low[4], low[5], low[6], low[7]
            ))
    }
}

extension KafkaUUID {
    init(_ uuid: UUID) {
        let bytes = uuid.uuid
        let high = [bytes.0, bytes.1, bytes.2, bytes.3, bytes.4, bytes.5, bytes.6, bytes.7].reduce(0) { $0 << 8 | UInt64($1) }
        let low = [bytes.8, bytes.9, bytes.10, bytes.11, bytes.12, bytes.13, bytes.14, bytes.15].reduce(0) { $0 << 8 | UInt64($1) }
        self.init(high: high, low: low)
    }
}
