import CYaml
import FirestreamFormats
import Yams

/// Parses YAML with libyaml (through Yams) into the same located tree as JSON, so validation and
/// diagnostics are identical for both formats.
///
/// Bounded like the JSON parser: libyaml refuses nesting deeper than ``JSONParser/maxDepth`` (so
/// neither it nor Yams recurses further), and a document whose aliases expand to more than
/// ``maxValues`` values is refused instead of being expanded (the "billion laughs").
public enum YAMLParser {
    /// Most values (scalars, sequences, mappings) a config may expand to.
    public static let maxValues = 100_000

    /// libyaml's nesting limit is process-wide; set once, before the first parse.
    private static let nestingLimit: Void = yaml_set_max_nest_level(Int32(JSONParser.maxDepth))

    public static func parse(_ text: String) -> ParsedDocument {
        _ = nestingLimit
        let document: Node?
        do {
            document = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            return ParsedDocument(root: nil, diagnostics: [diagnostic(for: error)])
        } catch {
            return ParsedDocument(root: nil, diagnostics: [Diagnostic(.error, at: nil, "cannot read YAML: \(error)")])
        }
        guard let document else {
            return ParsedDocument(
                root: nil,
                diagnostics: [
                    Diagnostic(
                        .error, at: SourceLocation(line: 1, column: 1), "the file is empty",
                        hint: "start with `firestream init`, or write `{}` for all defaults")
                ])
        }
        var problems: [Diagnostic] = []
        var budget = maxValues
        let root = convert(document, problems: &problems, budget: &budget)
        if budget < 0 {
            return ParsedDocument(
                root: nil,
                diagnostics: [
                    Diagnostic(
                        .error, at: SourceLocation(line: 1, column: 1), "the document expands to more than \(maxValues) values",
                        hint: "YAML aliases (*name) repeat what an anchor (&name) holds; a config needs neither")
                ])
        }
        return ParsedDocument(root: root, diagnostics: problems)
    }

    private static func convert(_ node: Node, problems: inout [Diagnostic], budget: inout Int) -> LocatedNode {
        let location = node.mark.map { SourceLocation(line: $0.line, column: $0.column) } ?? SourceLocation(line: 1, column: 1)
        budget -= 1
        guard budget >= 0 else { return LocatedNode(.null, at: location) }
        switch node {
        case .mapping(let mapping):
            var members: [LocatedNode.Member] = []
            for (key, value) in mapping where budget >= 0 {
                let keyLocation = key.mark.map { SourceLocation(line: $0.line, column: $0.column) } ?? location
                guard case .scalar(let scalar) = key else {
                    problems.append(Diagnostic(.error, at: keyLocation, "mapping keys must be plain strings"))
                    continue
                }
                members.append(
                    LocatedNode.Member(key: scalar.string, keyLocation: keyLocation, value: convert(value, problems: &problems, budget: &budget)))
            }
            return LocatedNode(.object(members), at: location)
        case .sequence(let sequence):
            var items: [LocatedNode] = []
            for item in sequence {
                items.append(convert(item, problems: &problems, budget: &budget))
                if budget < 0 { break }
            }
            return LocatedNode(.array(items), at: location)
        case .scalar(let scalar):
            switch node.tag.rawValue {
            case Tag.Name.null.rawValue: return LocatedNode(.null, at: location)
            case Tag.Name.bool.rawValue: return LocatedNode(.bool(node.bool ?? false), at: location)
            case Tag.Name.int.rawValue, Tag.Name.float.rawValue: return LocatedNode(.number(scalar.string), at: location)
            default: return LocatedNode(.string(scalar.string), at: location)
            }
        case .alias:
            problems.append(Diagnostic(.error, at: location, "YAML aliases are not supported in firestream config"))
            return LocatedNode(.null, at: location)
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
