import FirestreamFormats
import FirestreamJSON
import Foundation
import KafkaWire

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// An effect of kind `airflow`: each batch of records becomes one asset event in Apache Airflow 3
/// (`POST /api/v2/assets/events`), so a DAG scheduled on the asset runs once per batch without
/// polling. The asset is looked up by URI (`GET /api/v2/assets`) and the API token obtained from
/// the simple auth manager (`POST /auth/token` with a user and password, or `GET /auth/token`
/// when all users are admins); both are kept until Airflow refuses them.
public struct AirflowTarget: Sendable {
    /// The asset's URI, as the DAG declares it (`Asset(uri=…)`).
    public var asset: String
    public var username: String?
    public var password: String?

    public init(asset: String, username: String? = nil, password: String? = nil) {
        self.asset = asset
        self.username = username
        self.password = password
    }
}

/// The cached token and asset id of one effect, and the requests that need them.
actor AirflowAssetEvents {
    let base: String
    let target: AirflowTarget
    let timeout: Duration
    private var token: String?
    private var assetID: Int?

    init(base: String, target: AirflowTarget, timeout: Duration) {
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.target = target
        self.timeout = timeout
    }

    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    /// Forgets the token (Airflow answered 401) so the next request signs in again.
    func refused() {
        token = nil
    }

    /// The event's request for `body` (the event's `extra`), signing in and looking the asset up
    /// first when needed.
    func request(extra: String, exchange: HTTPExchange) async -> Result<URLRequest, Problem> {
        if token == nil, case .failure(let problem) = await signIn(exchange) { return .failure(problem) }
        if assetID == nil, case .failure(let problem) = await lookUpAsset(exchange) { return .failure(problem) }
        guard let assetID, let url = URL(string: base + "/api/v2/assets/events") else {
            return .failure(Problem(description: "\(base) is not a valid URL"))
        }
        var request = authorized(url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data("{\"asset_id\":\(assetID),\"extra\":\(extra)}".utf8)
        return .success(request)
    }

    private func authorized(_ url: URL) -> URLRequest {
        var request = URLRequest(url: url)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        return request
    }

    private func signIn(_ exchange: HTTPExchange) async -> Result<Void, Problem> {
        guard let url = URL(string: base + "/auth/token") else { return .failure(Problem(description: "\(base) is not a valid URL")) }
        var request = URLRequest(url: url)
        if let username = target.username, let password = target.password {
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try? JSONSerialization.data(withJSONObject: ["username": username, "password": password])
        }
        switch await exchange.send(request, timeout: timeout, maxBodyBytes: 64 << 10) {
        case .failure(let problem):
            return .failure(Problem(description: "signing in to Airflow: \(problem)"))
        case .success(let reply) where (200..<300).contains(reply.status):
            let answer = try? JSONSerialization.jsonObject(with: reply.body) as? [String: Any]
            guard let value = answer?["access_token"] as? String else {
                return .failure(Problem(description: "Airflow's /auth/token answered without an access_token"))
            }
            token = value
            return .success(())
        case .success(let reply):
            let how = target.username == nil ? "without credentials (set airflow.username and airflow.passwordEnv)" : "as \(target.username!)"
            return .failure(Problem(description: "Airflow refused to sign in \(how): HTTP \(reply.status)"))
        }
    }

    private func lookUpAsset(_ exchange: HTTPExchange) async -> Result<Void, Problem> {
        var components = URLComponents(string: base + "/api/v2/assets")
        components?.queryItems = [URLQueryItem(name: "uri_pattern", value: target.asset), URLQueryItem(name: "limit", value: "100")]
        guard let url = components?.url else { return .failure(Problem(description: "\(base) is not a valid URL")) }
        switch await exchange.send(authorized(url), timeout: timeout, maxBodyBytes: 1 << 20) {
        case .failure(let problem):
            return .failure(Problem(description: "looking up asset \(target.asset): \(problem)"))
        case .success(let reply) where reply.status == 401:
            token = nil
            return .failure(Problem(description: "Airflow answered 401 to the asset lookup; signing in again"))
        case .success(let reply) where (200..<300).contains(reply.status):
            let answer = try? JSONSerialization.jsonObject(with: reply.body) as? [String: Any]
            let assets = answer?["assets"] as? [[String: Any]] ?? []
            guard let found = assets.first(where: { $0["uri"] as? String == target.asset }), let id = found["id"] as? Int else {
                return .failure(
                    Problem(description: "Airflow knows no asset \(target.asset) yet (no parsed DAG declares it); the batch waits for it"))
            }
            assetID = id
            return .success(())
        case .success(let reply):
            return .failure(Problem(description: "looking up asset \(target.asset): HTTP \(reply.status)"))
        }
    }

    /// The event's `extra`: where the batch is in the topic, and its records' values.
    static func extra(_ records: [ConsumerRecord], topic: String, partition: Int) -> String {
        let first = records.first?.offset ?? 0
        let next = (records.last?.offset ?? -1) + 1
        let values = records.map { RecordJSON.value($0) }.joined(separator: ",")
        return
            "{\"firestream\":{\"topic\":\(JSONText.quote(topic)),\"partition\":\(partition),\"from\":\(first),\"next\":\(next),\"count\":\(records.count)},\"values\":[\(values)]}"
    }
}
