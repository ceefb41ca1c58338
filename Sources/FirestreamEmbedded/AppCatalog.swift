import FirestreamConfig
import FirestreamJSON
import FirestreamStreams
import FirestreamLog

/// The app kinds this binary can run, built from the config's `apps` entries: the built-in ones,
/// and those a custom binary registers before starting the CLI (see docs/apps.md).
public enum AppCatalog {
    /// Builds a runnable from an app's config entry.
    public typealias Factory = @Sendable (_ app: AppConfig, _ settings: Settings, _ context: Context) throws -> any Runnable

    /// What every app factory may use besides the app's own config entry.
    public struct Context: Sendable {
        public var project: String
        /// Runtime tuning chosen on the command line; pass it to `AppRunner`.
        public var limits: TaskLimits
    }

    public static let builtInKinds = ["metronome", "wiener"]
    private static let registered = Locked<[String: Factory]>([:])

    /// Makes `kind` runnable by `firestream up`; call before `Firestream.main()`.
    public static func register(kind: String, _ factory: @escaping Factory) {
        registered.withLock { $0[kind] = factory }
    }

    /// Every kind this binary knows.
    public static var kinds: [String] { builtInKinds + registered.withLock { $0.keys.sorted() } }

    /// Command-line choices that apply on top of the config (`firestream up --rate`, `--snapshot-every`).
    public struct Overrides: Sendable {
        public var metronomeRate: Double?
        public var limits: TaskLimits

        public init(metronomeRate: Double? = nil, limits: TaskLimits = TaskLimits()) {
            self.metronomeRate = metronomeRate
            self.limits = limits
        }
    }

    /// The demo that runs when a project declares no apps: metronome → `metronome`, wiener → `wiener`.
    public static func demo(project: String) -> [AppConfig] {
        [
            AppConfig(name: "metronome", kind: "metronome", settings: .object([("devices", .number("5")), ("rate", .number("1"))])),
            AppConfig(name: "wiener", kind: "wiener"),
        ]
    }

    /// Builds the runnable for one app config; errors name the app and setting.
    public static func runnable(for app: AppConfig, project: String, overrides: Overrides) throws -> any Runnable {
        let settings = Settings(app: app)
        switch app.kind {
        case "metronome":
            let devices = try settings.integer("devices", default: 5, in: 1...10_000)
            let rate = try overrides.metronomeRate ?? settings.number("rate", default: 1, in: 0.001...1_000_000)
            let seed = MetronomeSource.seed(forProject: project)
            return MetronomeSource(
                name: app.name, topic: try settings.string("topic", default: "metronome"),
                devices: MetronomeSource.deviceIDs(count: devices, seed: seed), ticksPerSecond: rate, seed: seed)
        case "wiener":
            return AppRunner(
                WienerApp(
                    name: app.name, input: try settings.string("input", default: "metronome"),
                    output: try settings.string("output", default: "wiener")),
                limits: overrides.limits)
        default:
            guard let factory = registered.withLock({ $0[app.kind] }) else {
                throw RuntimeError.unknownKind(app: app.name, kind: app.kind, known: kinds)
            }
            return try factory(app, settings, Context(project: project, limits: overrides.limits))
        }
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
                throw RuntimeError.badSetting(app: app.name, key: key, reason: "expected a number between \(range.lowerBound) and \(range.upperBound)")
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
