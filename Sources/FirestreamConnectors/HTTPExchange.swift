import FirestreamLog
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One HTTP request and its answer, with transport failures as values (the connectors retry).
/// The answer's body is read up to a limit: a server that sends more is cut off, not buffered.
final class HTTPExchange: Sendable {
    struct Reply: Sendable {
        var status: Int
        var headers: [String: String]
        var body: Data

        func header(_ name: String) -> String? {
            headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
        }
    }

    struct TransportError: Error, CustomStringConvertible {
        var description: String
    }

    private let session: URLSession
    private let delegate: BoundedBodies

    init() {
        let configuration = URLSessionConfiguration.ephemeral
        // The real limit is `send`'s timeout (Foundation on Linux rounds sub-second timeouts to 0).
        configuration.timeoutIntervalForRequest = 3600
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        delegate = BoundedBodies()
        session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
    }

    deinit { session.invalidateAndCancel() }

    /// The reply (its body at most `maxBodyBytes`), or why there was none (refused, timed out,
    /// too large, …). On timeout the request is cancelled.
    func send(_ request: URLRequest, timeout: Duration, maxBodyBytes: Int) async -> Result<Reply, TransportError> {
        let task = session.dataTask(with: request)
        return await withTaskGroup(of: Result<Reply, TransportError>?.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    self.delegate.start(task, limit: maxBodyBytes, continuation: continuation)
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled ? nil : .failure(TransportError(description: "no answer within \(timeout)"))
            }
            var outcome: Result<Reply, TransportError> = .failure(TransportError(description: "cancelled"))
            if let first = await group.next(), let first { outcome = first }
            task.cancel()
            group.cancelAll()
            await group.waitForAll()
            return outcome
        }
    }
}

/// Collects each task's body up to its limit and completes it exactly once. Foundation calls it
/// on its own queue; the state is behind a mutex.
private final class BoundedBodies: NSObject, URLSessionDataDelegate, Sendable {
    private struct Pending {
        var limit: Int
        var continuation: CheckedContinuation<Result<HTTPExchange.Reply, HTTPExchange.TransportError>, Never>
        var response: HTTPURLResponse?
        var body = Data()
    }

    private let pending = Locked<[Int: Pending]>([:])

    func start(
        _ task: URLSessionDataTask, limit: Int,
        continuation: CheckedContinuation<Result<HTTPExchange.Reply, HTTPExchange.TransportError>, Never>
    ) {
        pending.withLock { $0[task.taskIdentifier] = Pending(limit: limit, continuation: continuation) }
        task.resume()
    }

    private func finish(_ task: URLSessionTask, _ result: (Pending) -> Result<HTTPExchange.Reply, HTTPExchange.TransportError>) {
        guard let entry = pending.withLock({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
        entry.continuation.resume(returning: result(entry))
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        let tooLarge = pending.withLock { pending -> Int? in
            pending[dataTask.taskIdentifier]?.response = response as? HTTPURLResponse
            guard let limit = pending[dataTask.taskIdentifier]?.limit, response.expectedContentLength > Int64(limit) else { return nil }
            return limit
        }
        if let limit = tooLarge {
            finish(dataTask) { _ in
                .failure(.init(description: "the response is \(response.expectedContentLength) bytes, more than the \(limit) accepted"))
            }
            completionHandler(.cancel)
            return
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let overflow = pending.withLock { pending -> Int? in
            guard var entry = pending[dataTask.taskIdentifier] else { return nil }
            entry.body.append(data)
            pending[dataTask.taskIdentifier] = entry
            return entry.body.count > entry.limit ? entry.limit : nil
        }
        if let limit = overflow {
            finish(dataTask) { _ in .failure(.init(description: "the response is larger than the \(limit) bytes accepted")) }
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        finish(task) { entry in
            if let error { return .failure(.init(description: (error as NSError).localizedDescription)) }
            guard let http = entry.response ?? task.response as? HTTPURLResponse else { return .failure(.init(description: "not an HTTP response")) }
            var headers: [String: String] = [:]
            for (name, value) in http.allHeaderFields {
                if let name = name as? String, let value = value as? String { headers[name] = value }
            }
            return .success(HTTPExchange.Reply(status: http.statusCode, headers: headers, body: entry.body))
        }
    }
}
