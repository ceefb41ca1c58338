import FirestreamFormats
import FirestreamLog
import Foundation
import KafkaProtocol

extension KafkaBroker {
    /// One partition a Fetch asks for, resolved against the log.
    private struct Wanted {
        var topicIndex: Int
        var partitionIndex: Int32
        var partition: PartitionLog?
        var error: ErrorCode
        var offset: Int64
        var maxBytes: Int
    }

    /// The most records a Fetch answers per partition (the first batch is served whole). Byte
    /// limits count compressed bytes, as in Kafka, so a megabyte of lz4 or zstd batches can hold
    /// 100,000 records and over 100 MB once decompressed: more than librdkafka queues per
    /// partition (100,000 messages or 64 MiB), after which it waits a whole
    /// `fetch.queue.backoff.ms` (1 s) before fetching again.
    static let maxRecordsPerPartition = 16_384

    /// The longest a Fetch waits for records, whatever it asks (clients ask 100–500 ms).
    static let maxFetchWaitMilliseconds = 300_000

    /// Serves stored batches as they are. When fewer than `minBytes` are ready it waits, without
    /// polling, for new records or `maxWaitMs`, whichever comes first, and always answers.
    /// Partitions of topics the principal may not read are refused (by id: unknown, as Kafka).
    func fetch(_ request: FetchRequest, version: Int16, principal: Principal) async -> FetchResponse {
        var response = FetchResponse()
        var wanted: [Wanted] = []
        for (topicIndex, fetchTopic) in request.topics.enumerated() {
            var topicResponse = FetchResponse.FetchableTopicResponse()
            topicResponse.topic = fetchTopic.topic
            topicResponse.topicId = fetchTopic.topicId
            response.responses.append(topicResponse)
            let found = version >= 13 ? topic(withID: fetchTopic.topicId) : log.topicIfExists(fetchTopic.topic)
            let name = found?.name ?? fetchTopic.topic
            let allowed = principal.may(.read, topic: name)
            let topic = allowed ? found : nil
            for asked in fetchTopic.partitions {
                let partition = topic?.partitions.dropFirst(Int(max(asked.partition, 0))).first
                let error: ErrorCode =
                    if topic == nil {
                        version >= 13 ? .unknownTopicID : allowed ? .unknownTopicOrPartition : .topicAuthorizationFailed
                    } else {
                        partition == nil ? .unknownTopicOrPartition : .none
                    }
                wanted.append(
                    Wanted(
                        topicIndex: topicIndex, partitionIndex: asked.partition, partition: asked.partition >= 0 ? partition : nil, error: error,
                        offset: asked.fetchOffset, maxBytes: Int(max(asked.partitionMaxBytes, 0))))
            }
        }
        let deadline = ContinuousClock.now + .milliseconds(min(max(Int(request.maxWaitMs), 0), Self.maxFetchWaitMilliseconds))
        var served = collect(wanted, maxBytes: Int(max(request.maxBytes, 0)), readCommitted: request.isolationLevel == 1)
        while served.bytes < Int(request.minBytes), ContinuousClock.now < deadline, !Task.isCancelled {
            // Wait for records after what is already served, so a partial answer does not spin.
            let readers = served.partitions.compactMap { $0 }
            guard !readers.isEmpty else { break }
            guard await PartitionReader.waitForAny(readers, maxWait: deadline - ContinuousClock.now) else { break }
            served = collect(wanted, maxBytes: Int(max(request.maxBytes, 0)), readCommitted: request.isolationLevel == 1)
        }
        for (index, item) in wanted.enumerated() {
            response.responses[item.topicIndex].partitions.append(served.answers[index])
        }
        return response
    }

    /// Reads every wanted partition once: the answers, the bytes served, and a reader at the end
    /// of each readable partition (to wait on).
    private func collect(
        _ wanted: [Wanted], maxBytes: Int, readCommitted: Bool
    ) -> (answers: [FetchResponse.PartitionData], bytes: Int, partitions: [PartitionReader?]) {
        var budget = maxBytes
        var total = 0
        var answers: [FetchResponse.PartitionData] = []
        var readers: [PartitionReader?] = []
        for item in wanted {
            var answer = FetchResponse.PartitionData()
            answer.partitionIndex = item.partitionIndex
            answer.records = []
            answer.abortedTransactions = readCommitted ? [] : nil
            guard let partition = item.partition, item.error == .none else {
                answer.errorCode = item.error.code
                answers.append(answer)
                readers.append(nil)
                continue
            }
            let end = partition.durableOffset
            let stable = partition.lastStableOffset
            answer.highWatermark = end
            answer.lastStableOffset = stable
            answer.logStartOffset = partition.startOffset
            var next = item.offset
            if item.offset > end {
                answer.errorCode = ErrorCode.offsetOutOfRange.code
            } else if item.offset < (readCommitted ? stable : end), budget > 0 || total == 0 {
                do {
                    // KIP-74: the first batch is served whole even past the limits.
                    let fetched = try partition.readBatches(
                        from: item.offset, maxBytes: max(1, min(item.maxBytes, budget)), maxRecords: Self.maxRecordsPerPartition,
                        committed: readCommitted)
                    answer.records = fetched.bytes
                    total += fetched.bytes.count
                    budget -= fetched.bytes.count
                    next = fetched.nextOffset
                    if readCommitted {
                        // The client drops these transactions' records (up to their markers).
                        answer.abortedTransactions = partition.abortedTransactions(in: item.offset..<next).map {
                            var aborted = FetchResponse.AbortedTransaction()
                            aborted.producerId = $0.producerId
                            aborted.firstOffset = $0.firstOffset
                            return aborted
                        }
                    }
                } catch {
                    answer.errorCode = ErrorCode(error).code
                }
            }
            answers.append(answer)
            var reader = answer.errorCode == 0 ? PartitionReader(partition, from: next, whenRemoved: .skip) : nil
            reader?.readsUncommitted = !readCommitted
            readers.append(reader)
        }
        return (answers, total, readers)
    }

    /// The topic with Kafka topic id `id`, if any.
    func topic(withID id: KafkaUUID) -> Topic? { log.topic(id: UUID(id)) }
}
