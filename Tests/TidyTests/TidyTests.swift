import Foundation
import Testing

/// A ratchet on size, in the spirit of TigerBeetle's tidy: no source file past 400 lines and no
/// function past 70, except those listed below, which may shrink but never grow. A listed one
/// that comes within the limit must leave the list.
@Suite struct TidyTests {
    static let maxFileLines = 400
    static let maxFunctionLines = 70

    /// Files over the limit today, with their length.
    static let longFiles: [String: Int] = [
        "Sources/FirestreamConfig/ConfigDecoder.swift": 530,
        "Sources/FirestreamFormats/Located/JSONParser.swift": 453,
    ]

    /// Functions over the limit today ("file: name"), with their length.
    static let longFunctions: [String: Int] = [
        "Sources/FirestreamStreams/AppLogic.swift: prepareStep": 141,
        "Sources/FirestreamBenchmarks/IngestBenchmark.swift: run": 99,
        "Sources/FirestreamBenchmarks/FanOutBenchmark.swift: run": 96,
        "Sources/FirestreamLog/PartitionLog+Recovery.swift: recover": 94,
        "Sources/FirestreamFormats/Records/IngestBody.swift: parse": 80,
        "Sources/FirestreamJSON/FlatJSON.swift: object": 73,
    ]

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func sources() throws -> [(path: String, lines: [Substring])] {
        let base = root.appendingPathComponent("Sources")
        let enumerator = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil)
        var files: [(String, [Substring])] = []
        while let url = enumerator?.nextObject() as? URL {
            // Generated code (the Kafka messages) follows its generator, not this ratchet.
            guard url.pathExtension == "swift", !url.path.contains("/Generated/") else { continue }
            let text = try String(contentsOf: url, encoding: .utf8)
            let path = String(url.path.dropFirst(root.path.count + 1))
            files.append((path, text.split(separator: "\n", omittingEmptySubsequences: false)))
        }
        return files.sorted { $0.0 < $1.0 }
    }

    @Test func sourceFilesStayShort() throws {
        for (path, lines) in try Self.sources() {
            let count = lines.last == "" ? lines.count - 1 : lines.count
            if let allowed = Self.longFiles[path] {
                #expect(count <= allowed, "\(path) grew to \(count) lines (at most \(allowed)); split it")
                #expect(count > Self.maxFileLines, "\(path) is \(count) lines now: remove it from TidyTests.longFiles")
            } else {
                #expect(count <= Self.maxFileLines, "\(path) is \(count) lines, more than \(Self.maxFileLines); split it by concept")
            }
        }
    }

    @Test func functionsStayShort() throws {
        var seen: Set<String> = []
        for (path, lines) in try Self.sources() {
            for (name, length) in Self.functions(in: lines) where length > Self.maxFunctionLines {
                let key = "\(path): \(name)"
                seen.insert(key)
                if let allowed = Self.longFunctions[key] {
                    #expect(length <= allowed, "\(key) grew to \(length) lines (at most \(allowed))")
                } else {
                    #expect(Bool(false), "\(key) is \(length) lines, more than \(Self.maxFunctionLines): split it")
                }
            }
        }
        for key in Self.longFunctions.keys where !seen.contains(key) {
            #expect(Bool(false), "\(key) is within \(Self.maxFunctionLines) lines now: remove it from TidyTests.longFunctions")
        }
    }

    /// Each function's (or initializer's) name and its length from the declaration line to its
    /// closing brace. Braces in strings and comments are skipped; good enough for a ratchet.
    static func functions(in lines: [Substring]) -> [(name: String, length: Int)] {
        var result: [(String, Int)] = []
        for (index, line) in lines.enumerated() {
            let trimmed = line.drop { $0 == " " }
            guard !trimmed.hasPrefix("//"), let name = declaredName(in: trimmed) else { continue }
            var depth = 0
            var started = false
            var end = index
            scan: while end < lines.count {
                var inString = false
                var previous: Character = " "
                for character in lines[end] {
                    if inString {
                        if character == "\"" && previous != "\\" { inString = false }
                    } else if character == "\"" {
                        inString = true
                    } else if character == "/" && previous == "/" {
                        break
                    } else if character == "{" {
                        depth += 1
                        started = true
                    } else if character == "}" {
                        depth -= 1
                    }
                    previous = character
                }
                if started && depth <= 0 { break scan }
                // A protocol requirement or a declaration without a body.
                if !started && end > index + 6 { break scan }
                end += 1
            }
            if started { result.append((name, end - index + 1)) }
        }
        return result
    }

    /// `prepareStep` for `private mutating func prepareStep(…`, `init` for initializers.
    static func declaredName(in line: Substring) -> String? {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "(" || $0 == "<" })
        guard let keyword = words.firstIndex(where: { $0 == "func" || $0.hasPrefix("init") }) else { return nil }
        if words[keyword] == "func" { return keyword + 1 < words.count ? String(words[keyword + 1]) : nil }
        let word = words[keyword]
        guard word == "init" || word == "init?" || word == "init!" else { return nil }
        // Only a declaration: what comes before is modifiers, nothing else.
        let modifiers: Set<Substring> = [
            "public", "private", "fileprivate", "internal", "package", "convenience", "required", "override", "@inlinable", "nonisolated",
        ]
        return words[..<keyword].allSatisfy { modifiers.contains($0) } ? "init" : nil
    }
}
