import Hummingbird
import Logging
import NIOCore

/// `firestream worker --health-port`: `/healthz` (the process answers) and `/readyz` (every app
/// is in its group with its partitions' state restored: 200, else 503), for an orchestrator's
/// probes. JSON: `{"ready":true,"apps":[{"app":"wiener","ready":true,"partitions":[0,1]}]}`.
enum WorkerHealth {
    static func serve(host: String, port: Int, workers: [any WorkerRunning], onListening: @escaping @Sendable (Int) -> Void) async throws {
        let router = Router()
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/readyz") { _, _ -> Response in
            let ready = workers.allSatisfy(\.isReady)
            let apps = workers.map { worker in
                "{\"app\":\"\(worker.appName)\",\"ready\":\(worker.isReady),\"partitions\":[\(worker.partitions.map(String.init).joined(separator: ","))]}"
            }
            let body = "{\"ready\":\(ready),\"apps\":[\(apps.joined(separator: ","))]}\n"
            return Response(
                status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        }
        let application = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "firestream-worker"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: Logger(label: "firestream.http") { _ in SwiftLogNoOpLogHandler() })
        try await application.run()
    }
}
