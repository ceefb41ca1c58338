import FirestreamGateway
import FirestreamLog
import Foundation
import ServiceLifecycle
import UnixSignals

/// Retention once a minute (on the embedded log), and a status line every `statusInterval` seconds.
struct Housekeeping: Service {
    let log: Log?
    let statusInterval: Int
    /// Said once running: by then the group handles stop signals.
    let greeting: String?
    let status: @Sendable () -> String
    let report: @Sendable (String) -> Void

    func run() async {
        if let greeting { report(greeting) }
        var elapsed = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .seconds(1))
            elapsed += 1
            if elapsed % 60 == 0 { log?.enforceRetention() }
            if statusInterval > 0, elapsed % statusInterval == 0 { report(status()) }
        }
    }
}

/// The HTTP/WebSocket gateway; graceful shutdown stops it accepting and lets requests finish.
struct GatewayService: Service {
    let gateway: Gateway
    let onListening: @Sendable (Int) -> Void

    func run() async throws {
        try await gateway.run(onListening: onListening)
    }
}

/// Says that a stop signal was heard, and exits at once on the second one (the first starts a
/// graceful shutdown, which waits for every app to finish its step).
struct StopNotice: Service {
    let signals: [UnixSignal]
    let report: @Sendable (String) -> Void

    func run() async {
        var heard = 0
        for await _ in await UnixSignalsSequence(trapping: signals).cancelOnGracefulShutdown() {
            heard += 1
            guard heard > 1 else {
                report("Stopping: finishing the current step (Ctrl-C again to exit at once)…")
                continue
            }
            ChildGroups.killAll()
            exit(130)
        }
    }
}
