import FirestreamFormats
public import Foundation

/// Everything `validate` and `config show` need to know about one config file.
public struct ConfigReport: Sendable {
    /// The file as the user should see it (relative to the working directory when under it).
    public var displayPath: String
    /// The file's text, for source snippets; nil when it could not be read.
    public var text: String?
    /// The normalized config; nil when there are errors.
    public var config: ProjectConfig?
    public var diagnostics: [Diagnostic]
    /// The config file, once one was found.
    public var file: URL? = nil

    public var isValid: Bool { config != nil && !diagnostics.hasErrors }
    /// The project's directory: the config file's, or nil when none was found.
    public var directory: URL? { file?.deletingLastPathComponent() }
}

/// Finds, reads, parses and validates project config files.
public enum ConfigLoader {
    /// File names looked for in a project directory, in this order.
    public static let fileNames = ["firestream.json", "firestream.yaml", "firestream.yml"]

    /// Loads the config at `path` (a file or a project directory; nil means the working directory).
    /// With `environment`, that entry of the config's `environments` is laid over it.
    public static func load(_ path: String?, environment: String? = nil, workingDirectory: URL = currentDirectory) -> ConfigReport {
        let url: URL
        switch locate(path, workingDirectory: workingDirectory) {
        case .success(let found): url = found
        case .failure(let problem):
            return ConfigReport(
                displayPath: path ?? ".", text: nil, config: nil,
                diagnostics: [Diagnostic(.error, at: nil, problem.message, hint: problem.hint)])
        }
        let display = displayPath(url, workingDirectory: workingDirectory)
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            return ConfigReport(
                displayPath: display, text: nil, config: nil,
                diagnostics: [Diagnostic(.error, at: nil, "cannot read the file as UTF-8 text: \(error.localizedDescription)")], file: url)
        }
        let (config, diagnostics) = parse(
            text, format: format(of: url, text: text), defaultName: defaultName(for: url), environment: environment)
        return ConfigReport(displayPath: display, text: text, config: config, diagnostics: diagnostics, file: url)
    }

    /// Parses and validates config text. Syntax problems that parsing survived are reported together
    /// with the rule violations, so one run lists everything.
    public static func parse(_ text: String, format: ConfigFormat, defaultName: String, environment: String? = nil) -> (ProjectConfig?, [Diagnostic])
    {
        let parsed = format == .json ? ParsedDocument(JSONParser.parse(text)) : YAMLParser.parse(text)
        guard let root = parsed.root else { return (nil, parsed.diagnostics) }
        let decoded = ConfigDecoder.decode(root, defaultName: defaultName, environment: environment)
        let all = (parsed.diagnostics + decoded.diagnostics).enumerated().sorted { a, b in
            let (left, right) = (a.element.location, b.element.location)
            guard let left, let right, left != right else { return a.offset < b.offset }
            return (left.line, left.column) < (right.line, right.column)
        }.map(\.element)
        return (all.hasErrors ? nil : decoded.config, all)
    }

    /// Why no single config file could be chosen, and what to do about it.
    public struct LocateProblem: Error, Sendable {
        public var message: String
        public var hint: String?
    }

    /// Resolves `path` to one config file. A directory holding more than one config is an error:
    /// Firestream does not guess which one is current.
    public static func locate(_ path: String?, workingDirectory: URL) -> Result<URL, LocateProblem> {
        let target = path.map { resolve($0, against: workingDirectory) } ?? workingDirectory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: target.path, isDirectory: &isDirectory) else {
            return .failure(LocateProblem(message: "\(path ?? target.path): no such file or directory", hint: nil))
        }
        guard isDirectory.boolValue else { return .success(target) }
        let present = fileNames.map { target.appendingPathComponent($0) }.filter {
            FileManager.default.fileExists(atPath: $0.path)
        }
        let place = path.map { $0 == "." ? "the current directory" : $0 } ?? "the current directory"
        switch present.count {
        case 0:
            return .failure(
                LocateProblem(
                    message: "no firestream.json or firestream.yaml in \(place)",
                    hint: "run `firestream init` to create one, or pass the file's path"))
        case 1:
            return .success(present[0])
        default:
            let names = present.map(\.lastPathComponent).joined(separator: " and ")
            return .failure(
                LocateProblem(
                    message: "\(place) has both \(names); Firestream will not guess which one is current",
                    hint: "delete or rename all but one, or pass the file's path"))
        }
    }

    /// JSON for `.json`, YAML for `.yaml`/`.yml`; otherwise sniffed from the first character.
    public static func format(of url: URL, text: String) -> ConfigFormat {
        switch url.pathExtension.lowercased() {
        case "json": return .json
        case "yaml", "yml": return .yaml
        default:
            let first = text.first { !$0.isWhitespace }
            return first == "{" || first == "[" ? .json : .yaml
        }
    }

    /// The project name used when the config has none: the directory name as a DNS-1123 label.
    public static func defaultName(for configFile: URL) -> String {
        let label = NameRules.suggestedLabel(from: configFile.deletingLastPathComponent().lastPathComponent)
        return label.isEmpty ? "firestream" : label
    }

    /// `path` as an absolute file URL, relative paths taken from `directory`.
    public static func resolve(_ path: String, against directory: URL) -> URL {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : directory.appendingPathComponent(path)
        return url.standardizedFileURL
    }

    public static var currentDirectory: URL {
        URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
    }

    /// `url` as the user should see it: relative to `workingDirectory` when under it.
    public static func displayPath(_ url: URL, workingDirectory: URL = currentDirectory) -> String {
        let base = workingDirectory.standardizedFileURL.path
        let full = url.standardizedFileURL.path
        if full.hasPrefix(base + "/") { return String(full.dropFirst(base.count + 1)) }
        return full
    }
}

extension ConfigReport {
    /// `diagnostics` with the file position of each path filled in, for problems found after
    /// decoding (deploy rules, what this machine cannot do). A path the file does not spell out
    /// (a default) points at its nearest written ancestor.
    public func locating(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        guard let text else { return diagnostics }
        let format = ConfigLoader.format(of: file ?? URL(fileURLWithPath: displayPath), text: text)
        let parsed = format == .json ? ParsedDocument(JSONParser.parse(text)) : YAMLParser.parse(text)
        guard let root = parsed.root else { return diagnostics }
        return diagnostics.map { diagnostic in
            guard diagnostic.location == nil, let path = diagnostic.path else { return diagnostic }
            var located = diagnostic
            var node = root
            for component in path.components {
                switch (component, node.value) {
                case (.key(let key), .object(let members)):
                    guard let member = members.last(where: { $0.key == key }) else { break }
                    node = member.value
                    continue
                case (.index(let index), .array(let items)) where items.indices.contains(index):
                    node = items[index]
                    continue
                default: break
                }
                break
            }
            located.location = node.location
            return located
        }
    }
}
