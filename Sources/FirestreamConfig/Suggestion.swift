/// Finds the closest known name to a misspelled one, for "did you mean" hints.
public enum Suggestion {
    /// The candidate a user most likely meant, or nil when nothing is close enough to be helpful.
    public static func closest(to word: String, in candidates: [String]) -> String? {
        let lowered = word.lowercased()
        if let sameLetters = candidates.first(where: { normalized($0) == normalized(word) }) { return sameLetters }
        let scored = candidates.map { ($0, distance(lowered, $0.lowercased())) }
        if let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(1, min(word.count, best.0.count) / 3) {
            return best.0
        }
        if let part = candidates.first(where: { words(of: $0).contains(lowered) }) { return part }
        return candidates.first { candidate in
            let shared = zip(lowered, candidate.lowercased()).prefix { $0 == $1 }.count
            return shared >= max(4, min(word.count, candidate.count) / 2 + 1)
        }
    }

    /// `service-name`, `service_name` and `serviceName` all normalize to `servicename`.
    private static func normalized(_ word: String) -> String {
        word.lowercased().filter { $0 != "_" && $0 != "-" }
    }

    /// `service_name` → [service, name]; `replicaCount` → [replica, count].
    private static func words(of name: String) -> [String] {
        var words: [String] = []
        var current = ""
        for character in name {
            if character == "_" || character == "-" || (character.isUppercase && !current.isEmpty) {
                if !current.isEmpty { words.append(current.lowercased()) }
                current = character.isLetter ? String(character) : ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { words.append(current.lowercased()) }
        return words
    }

    /// Levenshtein distance with adjacent transpositions counted as one edit.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previousPrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previousPrevious[j - 2] + 1)
                }
            }
            (previousPrevious, previous, current) = (previous, current, previousPrevious)
        }
        return previous[b.count]
    }
}
