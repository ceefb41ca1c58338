public import FirestreamJSON

extension JSONValue {
    /// Drops source positions from a parsed node.
    public init(_ node: LocatedNode) {
        switch node.value {
        case .object(let members): self = .object(members.map { ($0.key, JSONValue($0.value)) })
        case .array(let items): self = .array(items.map(JSONValue.init))
        case .string(let text): self = .string(text)
        case .number(let text): self = .number(text)
        case .bool(let flag): self = .bool(flag)
        case .null: self = .null
        }
    }
}
