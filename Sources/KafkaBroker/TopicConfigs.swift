import FirestreamLog

/// A topic config a Kafka client sent that Firestream does not take.
struct UnsupportedConfig: Error, CustomStringConvertible {
    var description: String
}

extension PartitionSettings {
    /// The Kafka topic configs Firestream's log has an equivalent for; any other is refused by
    /// name, so nothing a client asked for is silently ignored.
    init(kafkaConfigs: [(name: String, value: String?)]) throws(UnsupportedConfig) {
        self.init()
        for (name, value) in kafkaConfigs {
            guard let value else { throw UnsupportedConfig(description: "config \(name) needs a value") }
            guard let number = Int64(value) else { throw UnsupportedConfig(description: "config \(name)=\(value) is not a whole number") }
            switch name {
            case "retention.ms": retentionMilliseconds = number < 0 ? nil : number
            case "retention.bytes": retentionBytes = number < 0 ? nil : number
            case "segment.bytes" where number >= 1024: segmentBytes = number
            case "segment.ms" where number >= 1: segmentMilliseconds = number
            case "segment.bytes", "segment.ms": throw UnsupportedConfig(description: "config \(name)=\(value) is too small")
            default:
                throw UnsupportedConfig(
                    description: "config \(name) is not supported (Firestream takes retention.ms, retention.bytes, segment.bytes and segment.ms)")
            }
        }
    }
}
