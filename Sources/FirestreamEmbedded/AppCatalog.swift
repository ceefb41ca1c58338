public import FirestreamConfig
import FirestreamDemo
import FirestreamJSON
import FirestreamLog
public import FirestreamStreams

/// The app kinds a binary can run, built from the config's `apps` entries. A value: `up` takes
/// the one it is given (``standard`` in the stock `firestream`; a custom binary adds its own
/// kinds to it, see docs/apps.md).
public struct AppCatalog: Sendable {
    /// Builds a runnable from an app's config entry.
    public typealias Factory = @Sendable (_ app: AppConfig, _ settings: Settings, _ context: Context) throws -> any Runnable

    /// What every app factory may use besides the app's own config entry.
    public struct Context: Sendable {
        public var project: String
        /// Choices made on the command line; pass `limits` to `AppRunner`.
        public var overrides: Overrides
        public var limits: TaskLimits { overrides.limits }
    }

    private var factories: [String: Factory] = [:]

    /// A catalog without kinds.
    public init() {}

    /// This catalog with `kind` added (or replaced).
    public func adding(kind: String, _ factory: @escaping Factory) -> AppCatalog {
        var catalog = self
        catalog.factories[kind] = factory
        return catalog
    }

    /// Every kind this catalog knows, sorted.
    public var kinds: [String] { factories.keys.sorted() }

    /// The catalog of the stock binary: the demo's `metronome` and `wiener`, and `python` (an
    /// app written as a Python class).
    public static let standard = AppCatalog().adding(kind: "metronome", DemoKinds.metronome).adding(kind: "wiener", DemoKinds.wiener)
        .adding(kind: "python", PythonKind.factory)

    /// The catalog `firestream up` uses in this task: ``standard`` unless a custom binary runs
    /// the CLI with its own (`Firestream.main(catalog:)`).
    @TaskLocal public static var current = AppCatalog.standard

    /// Command-line choices that apply on top of the config (`firestream up --rate`, `--snapshot-every`).
    public struct Overrides: Sendable {
        /// Ticks per second for every metronome.
        public var metronomeRate: Double?
        public var limits: TaskLimits
        /// The directory of the project's config: where apps' files (Python modules) are found.
        public var projectDirectory: String

        public init(metronomeRate: Double? = nil, limits: TaskLimits = TaskLimits(), projectDirectory: String = ".") {
            self.metronomeRate = metronomeRate
            self.limits = limits
            self.projectDirectory = projectDirectory
        }
    }

    /// The demo that runs when a project declares no apps: metronome → `metronome`, wiener → `wiener`.
    public static func demo(project: String) -> [AppConfig] {
        [
            AppConfig(name: "metronome", kind: "metronome", settings: .object([("devices", .number("5")), ("rate", .number("1"))])),
            AppConfig(name: "wiener", kind: "wiener"),
        ]
    }

    /// The apps a project runs (in `up` and in workers): its enabled apps but Spark jobs (the
    /// Spark operator runs those), or the demo when it declares no apps, sources or effects.
    public static func apps(of config: ProjectConfig) -> [AppConfig] {
        config.apps.isEmpty && config.sources.isEmpty && config.effects.isEmpty
            ? demo(project: config.name) : config.apps.filter { $0.enabled && $0.runsInFirestream }
    }

    /// Builds the runnable for one app config; errors name the app and setting.
    public func runnable(for app: AppConfig, project: String, overrides: Overrides) throws -> any Runnable {
        guard let factory = factories[app.kind] else {
            throw RuntimeError.unknownKind(app: app.name, kind: app.kind, known: kinds)
        }
        return try factory(app, Settings(app: app), Context(project: project, overrides: overrides))
    }

    /// Typed access to an app's free-form `settings`; errors name the app and the key.
    public struct Settings: Sendable {
        public let app: AppConfig

        public init(app: AppConfig) {
            self.app = app
        }

        private func value(_ key: String) -> JSONValue? {
            guard case .object(let members) = app.settings else { return nil }
            return members.first { $0.0 == key }?.1
        }

        public func number(_ key: String, default fallback: Double, in range: ClosedRange<Double>) throws -> Double {
            guard let raw = value(key) else { return fallback }
            guard case .number(let text) = raw, let number = Double(text), range.contains(number) else {
                throw RuntimeError.badSetting(
                    app: app.name, key: key, reason: "expected a number between \(range.lowerBound) and \(range.upperBound)")
            }
            return number
        }

        public func integer(_ key: String, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
            let number = try self.number(key, default: Double(fallback), in: Double(range.lowerBound)...Double(range.upperBound))
            guard number == number.rounded() else {
                throw RuntimeError.badSetting(app: app.name, key: key, reason: "expected a whole number")
            }
            return Int(number)
        }

        public func string(_ key: String, default fallback: String) throws -> String {
            guard let raw = value(key) else { return fallback }
            guard case .string(let text) = raw, !text.isEmpty else {
                throw RuntimeError.badSetting(app: app.name, key: key, reason: "expected a non-empty string")
            }
            return text
        }
    }
}
