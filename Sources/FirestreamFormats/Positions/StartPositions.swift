/// Where a WebSocket subscriber starts in each partition: parsed from `?from=` and `?since=`.
///
/// `from` is `latest` (default), `earliest`, `-N` (the last N records of each partition), an
/// offset applied to every partition, or a list `0:120,1:77` (the dashboard resumes with this:
/// the next offset it wants per partition). `since` is a duration (`5m`, `30s`) back from now.
public struct StartPositions: Equatable, Sendable {
    public enum Rule: Equatable, Sendable {
        case latest, earliest
        case last(Int64)
        case offset(Int64)
        case perPartition([Int: Int64])
        case since(milliseconds: Int64)
    }

    public var rule: Rule

    public init(rule: Rule) {
        self.rule = rule
    }

    /// Nil with a message when the query is malformed.
    public static func parse(from: String?, since: String?) -> Result<StartPositions, QueryError> {
        if let since {
            guard from == nil else { return .failure(QueryError("use either from or since, not both")) }
            guard let duration = TimeSpan.parse(since) else {
                return .failure(QueryError("since must be a duration such as 30s, 5m or 2h, got \"\(since)\""))
            }
            return .success(StartPositions(rule: .since(milliseconds: duration.milliseconds)))
        }
        guard let from else { return .success(StartPositions(rule: .latest)) }
        switch from {
        case "latest": return .success(StartPositions(rule: .latest))
        case "earliest": return .success(StartPositions(rule: .earliest))
        default: break
        }
        if from.contains(":") {
            var offsets: [Int: Int64] = [:]
            for item in from.split(separator: ",") {
                let parts = item.split(separator: ":")
                guard parts.count == 2, let partition = Int(parts[0]), partition >= 0, let offset = Int64(parts[1]), offset >= 0 else {
                    return .failure(QueryError("from=\(from): each item must be partition:offset, e.g. 0:120,1:77"))
                }
                offsets[partition] = offset
            }
            return .success(StartPositions(rule: .perPartition(offsets)))
        }
        guard let number = Int64(from) else {
            return .failure(QueryError("from must be latest, earliest, -N, an offset or partition:offset pairs, got \"\(from)\""))
        }
        // -9223372036854775808 has no positive twin: it means "everything", like any huge -N.
        return .success(StartPositions(rule: number < 0 ? .last(number == .min ? .max : -number) : .offset(number)))
    }
}

/// Why a query parameter was refused (answered 400 with this message).
public struct QueryError: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
