import Foundation

/// A stateless app built from map, filter or flatMap over JSON records.
public struct StatelessApp<Input: Codable & Sendable, Output: Codable & Sendable>: StreamApp {
    public typealias State = EmptyState

    public let name: String
    public let inputTopics: [String]
    public let outputTopic: String
    private let transform: @Sendable (Input) throws -> [Output]
    private let outputKey: @Sendable (Output) -> String?

    public init(
        name: String, from input: String, to output: String, key: @escaping @Sendable (Output) -> String? = { _ in nil },
        flatMap transform: @escaping @Sendable (Input) throws -> [Output]
    ) {
        self.name = name
        self.inputTopics = [input]
        self.outputTopic = output
        self.transform = transform
        self.outputKey = key
    }

    /// One output per input.
    public static func map(
        name: String, from input: String, to output: String, key: @escaping @Sendable (Output) -> String? = { _ in nil },
        _ transform: @escaping @Sendable (Input) throws -> Output
    ) -> StatelessApp {
        StatelessApp(name: name, from: input, to: output, key: key) { [try transform($0)] }
    }

    public func key(for input: Input) -> String? { nil }
    public func key(for output: Output) -> String? { outputKey(output) }

    public func process(_ input: Input, state: inout EmptyState?, context: inout ProcessingContext) throws -> [Output] {
        try transform(input)
    }
}

extension StatelessApp where Input == Output {
    /// Keeps the records for which `predicate` is true.
    public static func filter(
        name: String, from input: String, to output: String, key: @escaping @Sendable (Output) -> String? = { _ in nil },
        _ predicate: @escaping @Sendable (Input) throws -> Bool
    ) -> StatelessApp {
        StatelessApp(name: name, from: input, to: output, key: key) { try predicate($0) ? [$0] : [] }
    }
}
