import Yams

/// Parses YAML with libyaml (through Yams) into the same located tree as JSON, so validation and
/// diagnostics are identical for both formats.
public enum YAMLParser {
    public static func parse(_ text: String) -> JSONParser.Result {
        let document: Node?
        do {
            document = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            return JSONParser.Result(root: nil, diagnostics: [diagnostic(for: error)])
        } catch {
            return JSONParser.Result(root: nil, diagnostics: [Diagnostic(.error, at: nil, "cannot read YAML: \(error)")])
        }
        guard let document else {
            return JSONParser.Result(
                root: nil,
                diagnostics: [
                    Diagnostic(
                        .error, at: SourceLocation(line: 1, column: 1), "the file is empty",
                        hint: "start with `firestream init`, or write `{}` for all defaults")
                ])
        }
        var problems: [Diagnostic] = []
        let root = convert(document, problems: &problems)
        return JSONParser.Result(root: root, diagnostics: problems)
    }

    private static func convert(_ node: Node, problems: inout [Diagnostic]) -> ConfigNode {
        let location = node.mark.map { SourceLocation(line: $0.line, column: $0.column) } ?? SourceLocation(line: 1, column: 1)
        switch node {
        case .mapping(let mapping):
            var members: [ConfigNode.Member] = []
            for (key, value) in mapping {
                let keyLocation = key.mark.map { SourceLocation(line: $0.line, column: $0.column) } ?? location
                guard case .scalar(let scalar) = key else {
                    problems.append(Diagnostic(.error, at: keyLocation, "mapping keys must be plain strings"))
                    continue
                }
                members.append(ConfigNode.Member(key: scalar.string, keyLocation: keyLocation, value: convert(value, problems: &problems)))
            }
            return ConfigNode(.object(members), at: location)
        case .sequence(let sequence):
            return ConfigNode(.array(sequence.map { convert($0, problems: &problems) }), at: location)
        case .scalar(let scalar):
            switch node.tag.rawValue {
            case Tag.Name.null.rawValue: return ConfigNode(.null, at: location)
            case Tag.Name.bool.rawValue: return ConfigNode(.bool(node.bool ?? false), at: location)
            case Tag.Name.int.rawValue, Tag.Name.float.rawValue: return ConfigNode(.number(scalar.string), at: location)
            default: return ConfigNode(.string(scalar.string), at: location)
            }
        case .alias:
            problems.append(Diagnostic(.error, at: location, "YAML aliases are not supported in firestream config"))
            return ConfigNode(.null, at: location)
        }
    }

    private static func diagnostic(for error: YamlError) -> Diagnostic {
        func at(_ mark: Mark) -> SourceLocation { SourceLocation(line: mark.line, column: mark.column) }
        func explain(_ problem: String, _ context: YamlError.Context?) -> String {
            guard let context else { return "YAML syntax error: \(problem)" }
            return "YAML syntax error: \(problem) (\(context.text) at \(at(context.mark)))"
        }
        let indentationHint = "check the indentation: nested keys need more spaces than their parent, and tabs are not allowed"
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return Diagnostic(.error, at: at(mark), explain(problem, context), hint: indentationHint)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return Diagnostic(
                .error, at: at(context.mark),
                "duplicate key\(duplicates.count == 1 ? "" : "s") \(duplicates.map { "\"\($0)\"" }.joined(separator: ", ")) in one mapping",
                hint: "keep one of them")
        case .reader(let problem, _, _, _):
            return Diagnostic(.error, at: nil, "cannot read the file as UTF-8 text: \(problem)")
        default:
            return Diagnostic(.error, at: nil, "YAML error: \(error)")
        }
    }
}
