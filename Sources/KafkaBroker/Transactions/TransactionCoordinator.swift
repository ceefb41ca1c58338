import FirestreamFormats
import FirestreamLog
import Foundation
import KafkaWire
import Logging

/// Kafka transactions on this node: a transactional producer's id and epoch per transactional
/// id, the partitions and group offsets of its open transaction, and its end, written as a
/// marker into every partition it touched.
///
/// The decision is durable before any marker (`kafka/transactions/<sha-256 of the id>.json`, in
/// the prepare phase, with the partitions and the offsets to commit), so a restart finishes a
/// transaction that was ending. A transaction still open when the broker stopped is aborted at
/// the next start and its producer fenced (its epoch bumped): the open phase is not written down,
/// the partitions themselves say which producers had records in flight.
actor TransactionCoordinator {
    enum Phase: String, Codable {
        case empty, ongoing, prepareCommit, prepareAbort, completeCommit, completeAbort
    }

    struct Partition: Codable, Hashable, Sendable {
        var topic: String
        var partition: Int
    }

    struct PendingOffset: Codable, Sendable {
        var group: String
        var topic: String
        var partition: Int
        var entry: ConsumerOffsets.Entry
    }

    struct Transaction: Codable {
        var id: String
        var producerId: Int64
        var epoch: Int16
        var timeoutMs: Int32
        var phase: Phase
        /// The principal that started the id's producer: only it may use the id (nil in
        /// documents written before owners were kept).
        var owner: String?
        var partitions: Set<Partition> = []
        var offsets: [PendingOffset] = []
        /// When the open transaction began (monotonic milliseconds; not stored).
        var startedAt: Int64 = 0

        enum CodingKeys: String, CodingKey {
            case id, producerId, epoch, timeoutMs, phase, owner, partitions, offsets
        }
    }

    /// What Produce needs to know of an open transaction, without waiting for the actor.
    struct Gate: Sendable {
        var epoch: Int16
        var partitions: Set<Partition>
    }

    /// Why a transactional request is refused.
    struct Refusal: Error {
        var code: ErrorCode
        var message: String
    }

    /// Open transactions by producer id. Produce appends a transactional batch while holding
    /// it, and a transaction's markers are appended while holding it, so no record of a
    /// transaction can land after its marker.
    nonisolated let gate = Locked<[Int64: Gate]>([:])
    /// Groups and partitions with offsets waiting for a transaction to commit.
    nonisolated let pendingOffsets = Locked<[String: Set<Partition>]>([:])

    private let log: Log
    private let clock: @Sendable () -> Int64
    private let logger: Logger
    private let maxTimeoutMs: Int32
    private var transactions: [String: Transaction] = [:]
    /// Transactions whose end is being written (a retry waits its turn).
    private var ending: Set<String> = []
    private var loading: Task<Void, Never>?

    init(log: Log, maxTimeoutMs: Int32, clock: @escaping @Sendable () -> Int64, logger: Logger) {
        self.log = log
        self.maxTimeoutMs = maxTimeoutMs
        self.clock = clock
        self.logger = logger
    }

    // MARK: Producers

    /// InitProducerId with a transactional id: the producer id (new, or the id's own) under a
    /// new epoch, which fences every older instance. A transaction the id left open is aborted
    /// first; one that was ending is finished.
    func initProducer(id: String, timeoutMs: Int32, principal: String) async -> Result<(Int64, Int16), Refusal> {
        await ready()
        if let refusal = ownership(id, principal) { return .failure(refusal) }
        guard timeoutMs > 0, timeoutMs <= maxTimeoutMs else {
            return .failure(Refusal(code: .invalidTransactionTimeout, message: "transaction.timeout.ms must be 1…\(maxTimeoutMs), not \(timeoutMs)"))
        }
        do {
            if var transaction = transactions[id] {
                switch transaction.phase {
                case .ongoing: try await end(id, commit: false, bumpEpoch: true)
                case .prepareCommit, .prepareAbort: try await end(id, commit: transaction.phase == .prepareCommit, bumpEpoch: false)
                default: break
                }
                transaction = transactions[id] ?? transaction
                if transaction.phase == .ongoing || transaction.phase == .prepareAbort || transaction.phase == .prepareCommit {
                    return .failure(Refusal(code: .concurrentTransactions, message: "transaction \(id) is still ending"))
                }
                if transaction.epoch >= Int16.max - 1 {
                    transaction.producerId = try log.newProducerID()
                    transaction.epoch = 0
                } else {
                    transaction.epoch += 1
                }
                transaction.timeoutMs = timeoutMs
                transaction.phase = .empty
                transaction.owner = principal
                transactions[id] = transaction
                try await persist(transaction)
            } else {
                let transaction = Transaction(
                    id: id, producerId: try log.newProducerID(), epoch: 0, timeoutMs: timeoutMs, phase: .empty, owner: principal)
                transactions[id] = transaction
                try await persist(transaction)
            }
        } catch let refusal as Refusal {
            return .failure(refusal)
        } catch {
            logger.error("transaction \(id): cannot start a producer: \(error)")
            return .failure(Refusal(code: .kafkaStorageError, message: "\(error)"))
        }
        let transaction = transactions[id]!
        return .success((transaction.producerId, transaction.epoch))
    }

    // MARK: The open transaction

    /// AddPartitionsToTxn: the partitions join the open transaction (opening one if needed);
    /// AddOffsetsToTxn is this with none (the offsets come with TxnOffsetCommit).
    func addPartitions(id: String, producerId: Int64, epoch: Int16, principal: String, _ partitions: [Partition]) async -> Refusal? {
        await ready()
        if let refusal = checkJoining(id: id, producerId: producerId, epoch: epoch, principal: principal) { return refusal }
        open(id)
        transactions[id]?.partitions.formUnion(partitions)
        let transaction = transactions[id]!
        gate.withLock { $0[producerId] = Gate(epoch: epoch, partitions: transaction.partitions) }
        return nil
    }

    /// TxnOffsetCommit: offsets committed when (and only if) the transaction commits.
    func commitOffsets(id: String, producerId: Int64, epoch: Int16, principal: String, _ offsets: [PendingOffset]) async -> Refusal? {
        await ready()
        if let refusal = check(id: id, producerId: producerId, epoch: epoch, principal: principal) { return refusal }
        guard transactions[id]?.phase == .ongoing else {
            return Refusal(code: .invalidTxnState, message: "transaction \(id) is not open (AddOffsetsToTxn comes first)")
        }
        for offset in offsets {
            transactions[id]?.offsets.removeAll { $0.group == offset.group && $0.topic == offset.topic && $0.partition == offset.partition }
            transactions[id]?.offsets.append(offset)
        }
        pendingOffsets.withLock { pending in
            for offset in offsets { pending[offset.group, default: []].insert(Partition(topic: offset.topic, partition: offset.partition)) }
        }
        return nil
    }

    /// EndTxn: commits or aborts the open transaction; answered once every marker is durable
    /// (and, for a commit, its offsets are). Repeating the same end is answered the same.
    func endTransaction(id: String, producerId: Int64, epoch: Int16, principal: String, commit: Bool) async -> Refusal? {
        await ready()
        if let refusal = check(id: id, producerId: producerId, epoch: epoch, principal: principal) { return refusal }
        let phase = transactions[id]!.phase
        switch (phase, commit) {
        case (.ongoing, _):
            break
        case (.completeCommit, true), (.completeAbort, false), (.empty, false):
            return nil
        case (.prepareCommit, _), (.prepareAbort, _):
            return Refusal(code: .concurrentTransactions, message: "transaction \(id) is already ending")
        default:
            return Refusal(code: .invalidTxnState, message: "transaction \(id) cannot \(commit ? "commit" : "abort") from \(phase.rawValue)")
        }
        do {
            try await end(id, commit: commit, bumpEpoch: false)
            return nil
        } catch {
            logger.error("transaction \(id): \(commit ? "commit" : "abort") not finished, retried shortly: \(error)")
            return Refusal(code: .kafkaStorageError, message: "\(error)")
        }
    }

    /// Aborts transactions open longer than their timeout (fencing their producers) and retries
    /// ends that failed. The server calls it every 100 ms.
    func tick() async {
        await ready()
        let now = clock()
        for (id, transaction) in transactions {
            let expired = transaction.phase == .ongoing && now - transaction.startedAt > Int64(transaction.timeoutMs)
            let stuck = transaction.phase == .prepareCommit || transaction.phase == .prepareAbort
            guard expired || stuck, !ending.contains(id) else { continue }
            if expired { logger.info("transaction \(id) timed out after \(transaction.timeoutMs) ms: aborted, its producer fenced") }
            try? await end(id, commit: transaction.phase == .prepareCommit, bumpEpoch: expired)
        }
    }

    /// Like ``check(id:producerId:epoch:)``, and the transaction must not be ending: what
    /// joins a transaction joins the open one.
    private func checkJoining(id: String, producerId: Int64, epoch: Int16, principal: String) -> Refusal? {
        if let refusal = check(id: id, producerId: producerId, epoch: epoch, principal: principal) { return refusal }
        let phase = transactions[id]?.phase
        guard phase != .prepareCommit && phase != .prepareAbort else {
            return Refusal(code: .concurrentTransactions, message: "transaction \(id) is still ending")
        }
        return nil
    }

    /// A transactional id is its first principal's: another may not start, fence or end it.
    private func ownership(_ id: String, _ principal: String) -> Refusal? {
        guard let owner = transactions[id]?.owner, owner != principal else { return nil }
        return Refusal(code: .transactionalIDAuthorizationFailed, message: "transactional id \(id) belongs to another principal")
    }

    private func check(id: String, producerId: Int64, epoch: Int16, principal: String) -> Refusal? {
        if let refusal = ownership(id, principal) { return refusal }
        guard let transaction = transactions[id] else {
            return Refusal(code: .invalidProducerIDMapping, message: "no producer has started with transactional id \(id)")
        }
        guard transaction.producerId == producerId else {
            return Refusal(code: .invalidProducerIDMapping, message: "transactional id \(id) belongs to producer \(transaction.producerId)")
        }
        guard transaction.epoch == epoch else {
            return Refusal(
                code: .producerFenced, message: "producer \(producerId) epoch \(epoch) was fenced by epoch \(transaction.epoch) of \(id)")
        }
        return nil
    }

    private func open(_ id: String) {
        guard let phase = transactions[id]?.phase, phase != .ongoing else { return }
        transactions[id]?.phase = .ongoing
        transactions[id]?.partitions = []
        transactions[id]?.offsets = []
        transactions[id]?.startedAt = clock()
    }

    // MARK: Ending

    /// Writes the decision down, then a marker into every partition, then (for a commit) the
    /// offsets; then the transaction is complete.
    private func end(_ id: String, commit: Bool, bumpEpoch: Bool) async throws {
        guard var transaction = transactions[id], ending.insert(id).inserted else {
            throw Refusal(code: .concurrentTransactions, message: "transaction \(id) is already ending")
        }
        defer { ending.remove(id) }
        if bumpEpoch && transaction.epoch < Int16.max { transaction.epoch += 1 }
        transaction.phase = commit ? .prepareCommit : .prepareAbort
        transactions[id] = transaction
        gate.withLock { $0[transaction.producerId] = nil }
        try await persist(transaction)
        try await writeMarkers(commit ? .commit : .abort, producerId: transaction.producerId, epoch: transaction.epoch, transaction.partitions)
        if commit {
            for (group, offsets) in Dictionary(grouping: transaction.offsets, by: \.group) {
                try await log.consumerOffsets.commit(
                    group: group, offsets.map { ConsumerOffsets.Commit(topic: $0.topic, partition: $0.partition, entry: $0.entry) })
            }
        }
        pendingOffsets.withLock { pending in
            for offset in transaction.offsets { pending[offset.group]?.remove(Partition(topic: offset.topic, partition: offset.partition)) }
        }
        transaction.phase = commit ? .completeCommit : .completeAbort
        transaction.partitions = []
        transaction.offsets = []
        transactions[id] = transaction
        try await persist(transaction)
    }

    /// Appends the markers while holding the gate (no record of the transaction can follow
    /// them), then waits until they are durable. Partitions deleted since are skipped.
    private func writeMarkers(_ marker: ControlMarker, producerId: Int64, epoch: Int16, _ partitions: Set<Partition>) async throws {
        let written = try gate.withLock { gates throws(LogError) -> [(PartitionLog, Int64)] in
            gates[producerId] = nil
            var written: [(PartitionLog, Int64)] = []
            for target in partitions {
                guard let partition = log.topicIfExists(target.topic)?.partitions.dropFirst(target.partition).first else { continue }
                written.append((partition, try partition.appendMarker(marker, producerId: producerId, epoch: epoch).last + 1))
            }
            return written
        }
        for (partition, end) in written { try await partition.waitUntilDurable(end) }
    }

    private func persist(_ transaction: Transaction) async throws {
        let bytes = try JSONEncoder().encode(transaction)
        try await log.kafkaTransactions.replace(Self.documentName(transaction.id)) { [UInt8](bytes) }
    }

    static func documentName(_ id: String) -> String { Hex.string(Digests.sha256(Array(id.utf8))) }

    // MARK: Restart

    private func ready() async {
        if loading == nil { loading = Task { await self.load() } }
        await loading?.value
    }

    /// Reads the transactions back, finishes those that were ending, and aborts those that were
    /// open (found in the partitions), fencing their producers.
    private func load() async {
        for (name, bytes) in log.kafkaTransactions.all() {
            do {
                let transaction = try JSONDecoder().decode(Transaction.self, from: Data(bytes))
                transactions[transaction.id] = transaction
            } catch {
                logger.error("transaction state \(log.kafkaTransactions.directory)/\(name).json is unreadable (\(error)); left as it is")
            }
        }
        for (id, transaction) in transactions where transaction.phase == .prepareCommit || transaction.phase == .prepareAbort {
            logger.info("transaction \(id): finishing its \(transaction.phase == .prepareCommit ? "commit" : "abort") after a restart")
            do { try await end(id, commit: transaction.phase == .prepareCommit, bumpEpoch: false) } catch {
                logger.error("transaction \(id): cannot finish it yet: \(error)")
            }
        }
        var open: [Int64: Set<Partition>] = [:]
        for name in log.topicNames {
            guard let topic = log.topicIfExists(name) else { continue }
            for partition in topic.partitions {
                for producer in partition.openTransactions.keys {
                    open[producer, default: []].insert(Partition(topic: name, partition: partition.partition))
                }
            }
        }
        let owners = Dictionary(transactions.values.map { ($0.producerId, $0.id) }, uniquingKeysWith: { first, _ in first })
        for (producer, partitions) in open {
            do {
                if let id = owners[producer], var transaction = transactions[id] {
                    logger.info("transaction \(id) was open when the broker stopped: aborted, its producer fenced")
                    transaction.phase = .ongoing
                    transaction.partitions = partitions
                    transactions[id] = transaction
                    try await end(id, commit: false, bumpEpoch: true)
                } else {
                    logger.warning("producer \(producer) left a transaction open with no transactional id on record: aborted")
                    try await writeMarkers(.abort, producerId: producer, epoch: Int16.max, partitions)
                }
            } catch {
                logger.error("cannot abort producer \(producer)'s open transaction: \(error)")
            }
        }
    }
}
