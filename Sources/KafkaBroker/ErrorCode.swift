public import FirestreamLog

/// The Kafka error codes this broker answers with (Kafka's `Errors.java` numbering).
public enum ErrorCode: Int16, Sendable {
    case unknownServerError = -1
    case none = 0
    case offsetOutOfRange = 1
    case corruptMessage = 2
    case unknownTopicOrPartition = 3
    case messageTooLarge = 10
    case coordinatorLoadInProgress = 14
    case coordinatorNotAvailable = 15
    case notCoordinator = 16
    case invalidTopic = 17
    case invalidRequiredAcks = 21
    case illegalGeneration = 22
    case inconsistentGroupProtocol = 23
    case invalidGroupID = 24
    case unknownMemberID = 25
    case invalidSessionTimeout = 26
    case rebalanceInProgress = 27
    case topicAuthorizationFailed = 29
    case groupAuthorizationFailed = 30
    case clusterAuthorizationFailed = 31
    case unsupportedSaslMechanism = 33
    case illegalSaslState = 34
    case unsupportedVersion = 35
    case topicAlreadyExists = 36
    case invalidPartitions = 37
    case invalidReplicationFactor = 38
    case invalidReplicaAssignment = 39
    case invalidConfig = 40
    case invalidRequest = 42
    case unsupportedForMessageFormat = 43
    case policyViolation = 44
    case outOfOrderSequenceNumber = 45
    case invalidProducerEpoch = 47
    case invalidTxnState = 48
    case invalidProducerIDMapping = 49
    case invalidTransactionTimeout = 50
    case concurrentTransactions = 51
    case transactionalIDAuthorizationFailed = 53
    case operationNotAttempted = 55
    case kafkaStorageError = 56
    case saslAuthenticationFailed = 58
    case nonEmptyGroup = 68
    case groupIDNotFound = 69
    case unsupportedCompressionType = 76
    case memberIDRequired = 79
    case groupMaxSizeReached = 81
    case fencedInstanceID = 82
    case groupSubscribedToTopic = 86
    case unstableOffsetCommit = 88
    case producerFenced = 90
    case unknownTopicID = 100
    case unsupportedEndpointType = 120

    public var code: Int16 { rawValue }

    /// What a log error means to a Kafka client.
    public init(_ error: LogError) {
        switch error {
        case .unknownTopic, .unknownPartition: self = .unknownTopicOrPartition
        case .offsetOutOfRange: self = .offsetOutOfRange
        case .corruptBatch: self = .corruptMessage
        case .outOfOrderSequence: self = .outOfOrderSequenceNumber
        case .fencedProducer: self = .invalidProducerEpoch
        case .invalidTopic: self = .invalidTopic
        case .topicExists: self = .topicAlreadyExists
        default: self = .kafkaStorageError
        }
    }
}
