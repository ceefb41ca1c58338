import FirestreamConfig
import FirestreamStreams

/// The app kinds this binary can run, built from the config's `apps` entries.
public enum AppCatalog {
    public static let kinds = ["metronome", "wiener"]

    /// Options that override the config for the built-in demo (`firestream up --rate`).
    public struct Overrides: Sendable {
        public var metronomeRate: Double?
        public init(metronomeRate: Double? = nil) { self.metronomeRate = metronomeRate }
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
                    output: try settings.string("output", default: "wiener")))
        default:
            throw RuntimeError.unknownKind(app: app.name, kind: app.kind, known: kinds)
        }
    }

    /// Typed access to an app's free-form settings.
    struct Settings {
        let app: AppConfig

        private func value(_ key: String) -> JSONValue? {
            guard case .object(let members) = app.settings else { return nil }
            return members.first { $0.0 == key }?.1
        }

        func number(_ key: String, default fallback: Double, in range: ClosedRange<Double>) throws -> Double {
            guard let raw = value(key) else { return fallback }
            guard case .number(let text) = raw, let number = Double(text), range.contains(number) else {
                throw RuntimeError.badSetting(app: app.name, key: key, reason: "expected a number between \(range.lowerBound) and \(range.upperBound)")
            }
            return number
        }

        func integer(_ key: String, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
            let number = try self.number(key, default: Double(fallback), in: Double(range.lowerBound)...Double(range.upperBound))
            guard number == number.rounded() else {
                throw RuntimeError.badSetting(app: app.name, key: key, reason: "expected a whole number")
            }
            return Int(number)
        }

        func string(_ key: String, default fallback: String) throws -> String {
            guard let raw = value(key) else { return fallback }
            guard case .string(let text) = raw, !text.isEmpty else {
                throw RuntimeError.badSetting(app: app.name, key: key, reason: "expected a non-empty string")
            }
            return text
        }
    }
}
