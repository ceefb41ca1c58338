/// A parsed JSON or YAML value that remembers where each part was written, so every
/// diagnostic can point at the exact line and column.
public struct LocatedNode: Sendable, Equatable {
    /// One `key: value` pair of an object, with the key's own position.
    public struct Member: Sendable, Equatable {
        public var key: String
        public var keyLocation: SourceLocation
        public var value: LocatedNode

        public init(key: String, keyLocation: SourceLocation, value: LocatedNode) {
            self.key = key
            self.keyLocation = keyLocation
            self.value = value
        }
    }

    /// The shape of a value. Numbers keep their source text so `0.5` and `1e9` survive unchanged.
    public enum Value: Sendable, Equatable {
        case object([Member])
        case array([LocatedNode])
        case string(String)
        case number(String)
        case bool(Bool)
        case null
    }

    public var value: Value
    public var location: SourceLocation

    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }

    /// What a user would call this kind of value in an error message ("an object", "a string").
    public var kindDescription: String {
        switch value {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }
}
