public import FirestreamConfig
import FirestreamJSON

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Open files the log needs, against what the process may open. Each partition keeps three
/// files open (its active segment and two indexes) plus one per sealed segment, and every app
/// adds an output and a journal partition per input partition: 2,000 partitions need more than
/// the 1,024 descriptors many systems allow by default. `up` raises its limit to the hard limit
/// and refuses to start, with the numbers, when even that is not enough; `validate` checks the
/// same, so that whatever it accepts, `up` runs.
public enum FileDescriptorBudget {
    /// Descriptors kept for everything else: sockets, connections, the config, Plotly.js.
    public static let reserve = 1024
    /// Open files per partition, counting one sealed segment.
    static let perPartition = 4

    /// The current (soft) and maximum (hard) number of open files, capped at 2^20.
    public static var limits: (soft: Int, hard: Int) {
        var limit = rlimit()
        guard getrlimit(resourceLimit, &limit) == 0 else { return (1024, 1024) }
        return (Int(min(limit.rlim_cur, 1 << 20)), Int(min(limit.rlim_max, 1 << 20)))
    }

    /// Raises the soft limit to the hard one (at most 2^20); returns the limit now in force.
    @discardableResult
    public static func raiseLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(resourceLimit, &limit) == 0 else { return 1024 }
        let wanted = min(limit.rlim_max, 1 << 20)
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted
            _ = setrlimit(resourceLimit, &limit)
        }
        return limits.soft
    }

    /// About how many descriptors the topics of `config` and its apps' topics take.
    public static func needed(for config: ProjectConfig, apps: [AppConfig]) -> (descriptors: Int, partitions: Int) {
        var partitions: [String: Int] = ["metronome": 1]
        for topic in config.topics { partitions[topic.name] = topic.partitions }
        var total = partitions.values.reduce(0, +)
        for app in apps where app.enabled {
            // Built-in kinds name their input in `settings.input`; others count as one partition.
            var input = "metronome"
            if case .object(let members) = app.settings, case .string(let name)? = members.first(where: { $0.0 == "input" })?.1 { input = name }
            let count = partitions[input] ?? 1
            total += 2 * count + 1  // output, journal, dead letters
        }
        total += 2 * (config.sources.count + config.effects.count)  // topic and dead letters
        return (total * perPartition, total)
    }

    /// Descriptors the partitions already on disk take beyond three each (sealed segments), and
    /// the partitions there: for a data directory that has grown, or has auto-created topics.
    public static func onDisk(dataDirectory: String) -> (descriptors: Int, partitions: Int) {
        var descriptors = 0
        var count = 0
        let topics = "\(dataDirectory)/topics"
        for topic in names(in: topics) where !topic.hasPrefix(".") {
            for partition in names(in: "\(topics)/\(topic)") where partition.allSatisfy(\.isNumber) {
                let segments = names(in: "\(topics)/\(topic)/\(partition)").filter { $0.hasSuffix(".log") }.count
                descriptors += 3 + max(0, segments - 1)
                count += 1
            }
        }
        return (descriptors, count)
    }

    private static func names(in directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Why the project cannot run within `limit` descriptors; nil when it can.
    public static func problem(needing needed: (descriptors: Int, partitions: Int), limit: Int) -> String? {
        guard needed.descriptors + reserve > limit else { return nil }
        return "the log needs about \(needed.descriptors) open files for \(needed.partitions) partitions (and \(reserve) more for connections), "
            + "but this process may open only \(limit); raise the limit (ulimit -n \(needed.descriptors + reserve)) or declare fewer partitions"
    }

    #if canImport(Glibc)
        private static let resourceLimit = Int32(RLIMIT_NOFILE.rawValue)
    #else
        private static let resourceLimit = RLIMIT_NOFILE
    #endif
}
