import FirestreamCLI
import FirestreamConfig
import FirestreamEmbedded
import FirestreamExamples
import FirestreamStreams

/// A `firestream` binary that also knows the `click-sessions` app kind: the whole CLI, plus one
/// kind added to the standard catalog. Build your own the same way (see docs/apps.md).
@main
struct SessionsMain {
    static func main() async {
        let catalog = AppCatalog.standard.adding(kind: "click-sessions") { app, settings, context in
            AppRunner(
                ClickSessions(
                    name: app.name, input: try settings.string("input", default: "clicks"),
                    output: try settings.string("output", default: "sessions"),
                    gapMilliseconds: Int64(try settings.integer("gapMilliseconds", default: 30_000, in: 1...86_400_000))),
                limits: context.limits)
        }
        await Firestream.main(catalog: catalog)
    }
}
