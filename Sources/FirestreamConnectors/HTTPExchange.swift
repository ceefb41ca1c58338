import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One HTTP request and its answer, with transport failures as values (the connectors retry).
struct HTTPExchange: Sendable {
    struct Reply: Sendable {
        var status: Int
        var headers: [String: String]
        var body: Data

        func header(_ name: String) -> String? {
            headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
        }
    }

    let session: URLSession

    init() {
        let configuration = URLSessionConfiguration.ephemeral
        // The real limit is `send`'s timeout (Foundation on Linux rounds sub-second timeouts to 0).
        configuration.timeoutIntervalForRequest = 3600
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        session = URLSession(configuration: configuration)
    }

    /// The reply, or a description of why there was none (refused, timed out, …).
    func send(_ request: URLRequest, timeout: Duration) async -> Result<Reply, TransportError> {
        await withTaskGroup(of: Result<Reply, TransportError>?.self) { group in
            group.addTask { await send(request) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled ? nil : .failure(TransportError(description: "no answer within \(timeout)"))
            }
            var outcome: Result<Reply, TransportError> = .failure(TransportError(description: "cancelled"))
            if let first = await group.next(), let first { outcome = first }
            group.cancelAll()
            return outcome
        }
    }

    private func send(_ request: URLRequest) async -> Result<Reply, TransportError> {
        do {
            let (data, response) = try await session.data(for: request)
            guard let http = response as? HTTPURLResponse else { return .failure(TransportError(description: "not an HTTP response")) }
            var headers: [String: String] = [:]
            for (name, value) in http.allHeaderFields {
                if let name = name as? String, let value = value as? String { headers[name] = value }
            }
            return .success(Reply(status: http.statusCode, headers: headers, body: data))
        } catch {
            return .failure(TransportError(description: (error as NSError).localizedDescription))
        }
    }

    struct TransportError: Error, CustomStringConvertible {
        var description: String
    }
}
