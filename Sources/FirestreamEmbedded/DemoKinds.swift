import FirestreamConfig
import FirestreamDemo
import FirestreamStreams

/// The demo's app kinds, registered in ``AppCatalog/standard`` like any other.
enum DemoKinds {
    static let metronome: AppCatalog.Factory = { app, settings, context in
        let devices = try settings.integer("devices", default: 5, in: 1...10_000)
        let rate = try context.overrides.metronomeRate ?? settings.number("rate", default: 1, in: 0.001...1_000_000)
        let seed = MetronomeSource.seed(forProject: context.project)
        return MetronomeSource(
            name: app.name, topic: try settings.string("topic", default: "metronome"),
            devices: MetronomeSource.deviceIDs(count: devices, seed: seed), ticksPerSecond: rate, seed: seed)
    }

    static let wiener: AppCatalog.Factory = { app, settings, context in
        // Concrete, so the step loop runs specialised for the app (see WienerRunner).
        WienerRunner(
            AppRunner(
                WienerApp(
                    name: app.name, input: try settings.string("input", default: "metronome"),
                    output: try settings.string("output", default: "wiener")),
                limits: context.limits))
    }
}
