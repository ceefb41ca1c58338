import FirestreamJSON
import Yams

/// One Kubernetes object as it is written: apiVersion, kind, metadata, and the one body field
/// its kind has (`spec` for most, `data` for a ConfigMap).
struct KubeObject: Encodable, Sendable {
    var apiVersion: String
    var kind: String
    var metadata: ObjectMeta
    var spec: (any Encodable & Sendable)?
    var data: [String: String]?
    var automountServiceAccountToken: Bool?

    init(
        _ apiVersion: String, _ kind: String, _ metadata: ObjectMeta, spec: (any Encodable & Sendable)? = nil, data: [String: String]? = nil,
        automountServiceAccountToken: Bool? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.data = data
        self.automountServiceAccountToken = automountServiceAccountToken
    }

    private enum CodingKeys: String, CodingKey {
        case apiVersion, kind, metadata, spec, data, automountServiceAccountToken
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(apiVersion, forKey: .apiVersion)
        try container.encode(kind, forKey: .kind)
        try container.encode(metadata, forKey: .metadata)
        if let spec { try container.encode(spec, forKey: .spec) }
        try container.encodeIfPresent(data, forKey: .data)
        try container.encodeIfPresent(automountServiceAccountToken, forKey: .automountServiceAccountToken)
    }
}

/// Kubernetes `ObjectMeta`: what every object is called, where it lives and how it is labelled.
struct ObjectMeta: Encodable, Sendable {
    var name: String
    var namespace: String?
    var labels: [String: String]?
    var annotations: [String: String]?
}

/// Helm values, or any other free-form tree from the config, written as YAML.
struct FreeForm: Encodable, Sendable {
    var value: JSONValue

    init(_ value: JSONValue) { self.value = value }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        switch value {
        case .object(let members):
            var container = encoder.container(keyedBy: Key.self)
            for (key, member) in members { try container.encode(FreeForm(member), forKey: Key(stringValue: key)) }
        case .array(let items):
            var container = encoder.unkeyedContainer()
            for item in items { try container.encode(FreeForm(item)) }
        case .string(let text):
            var container = encoder.singleValueContainer()
            try container.encode(text)
        case .number(let text):
            var container = encoder.singleValueContainer()
            if let whole = Int64(text) { try container.encode(whole) } else { try container.encode(Double(text) ?? 0) }
        case .bool(let flag):
            var container = encoder.singleValueContainer()
            try container.encode(flag)
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        }
    }
}

extension JSONValue {
    /// `overrides` laid over this tree: objects merge key by key (recursively), anything else
    /// in `overrides` replaces what is here. Keys keep their first position.
    func merging(_ overrides: JSONValue) -> JSONValue {
        guard case .object(var members) = self, case .object(let extra) = overrides else { return overrides }
        for (key, value) in extra {
            if let index = members.firstIndex(where: { $0.0 == key }) {
                members[index].1 = members[index].1.merging(value)
            } else {
                members.append((key, value))
            }
        }
        return .object(members)
    }
}

/// YAML text of typed objects: keys sorted (as `kubectl get -o yaml` prints them), so that the
/// same objects always give the same bytes; multi-line strings as literal blocks.
enum YAMLText {
    static func document(_ value: some Encodable) -> String {
        let encoder = YAMLEncoder()
        encoder.options.sortKeys = true
        encoder.options.indent = 2
        encoder.options.width = -1
        encoder.options.allowUnicode = true
        encoder.options.newLineScalarStyle = .literal
        // Encoding plain structs, strings and numbers cannot fail.
        return (try? encoder.encode(value)) ?? ""
    }

    /// Several objects in one file, separated by `---`, after a comment saying what they are.
    static func file(_ comment: String, _ values: [any Encodable]) -> String {
        let header = comment.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "#" : "# \($0)" }.joined(separator: "\n")
        return header + "\n" + values.map { document($0) }.joined(separator: "---\n")
    }
}
