import CoreMetrics
import FirestreamFormats
import FirestreamLog
import FirestreamWarehouse
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension Gateway {
    /// `POST /sql`: one read-only statement, answered as JSON, NDJSON or CSV; `GET /catalog`:
    /// the topics and tables the token may read.
    func sqlRoutes() -> RouteCollection<GatewayContext> {
        let routes = RouteCollection(context: GatewayContext.self)
        routes.post("sql") { request, _ in try await runSQL(request) }
        routes.get("catalog") { request, _ in
            let principal = try principal(request)
            guard let catalog else {
                return failure(503, "no catalog here: it describes the embedded log, and this gateway's topics are on \(storage.location)")
            }
            let withInternal = request.uri.queryParameters["internal"] == "true"
            return json(await catalog.build(includeInternal: withInternal) { principal.may(.read, topic: $0) }.json.trimmingCharacters(in: .newlines))
        }
        return routes
    }

    /// The SQL is the body (any text type), or `{"sql": …, "format": …, "maxRows": …, "timeoutMs": …}`
    /// as JSON; `format`, `maxRows` and `timeoutMs` may also be query parameters, and the format
    /// follows `Accept` otherwise. A query reads only the topics the token may read.
    func runSQL(_ request: Request) async throws -> Response {
        let principal = try principal(request)
        guard let queries else {
            return failure(503, "SQL is not available here: it reads the embedded log, and this gateway's topics are on \(storage.location)")
        }
        let body = try await collectBody(request, limit: 1 << 20)
        let asked: SQLRequest
        switch SQLRequest.parse(Array(body.readableBytesView), request: request) {
        case .success(let parsed): asked = parsed
        case .failure(let refusal): return failure(400, refusal.message)
        }
        let format: ResultFormat
        switch asked.format(accept: request.headers[.accept]) {
        case .success(let chosen): format = chosen
        case .failure(let refusal): return failure(400, refusal.message)
        }
        let limits: QueryLimits
        switch asked.limits(within: options.sqlLimits) {
        case .success(let chosen): limits = chosen
        case .failure(let refusal): return failure(400, refusal.message)
        }
        let result: QueryResult
        do {
            result = try await queries.query(asked.sql, limits: limits) { principal.may(.read, topic: $0) }
        } catch {
            metrics.sqlFailures.increment()
            return sqlFailure(error)
        }
        metrics.sqlQueries.increment()
        var headers: HTTPFields = [.contentType: format.contentType]
        if let truncated = result.truncated { headers[truncatedHeader] = truncated }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: format.render(result))))
    }

    private func sqlFailure(_ error: FirestreamWarehouse.QueryError) -> Response {
        let status: Int
        switch error.kind {
        case .invalid: status = 400
        case .forbidden: status = 403
        case .timeout: status = 504
        case .busy: status = 429
        case .unavailable: status = 503
        }
        let answer = SQLErrorAnswer(status: status, error: error.description, line: error.line, column: error.column)
        var response = json(jsonText(answer), status: HTTPResponse.Status(code: status))
        if error.kind == .busy { response.headers[.retryAfter] = "1" }
        return response
    }
}

/// Says why a result stops early (a limit cut it), on NDJSON and CSV answers as on JSON ones.
let truncatedHeader = HTTPField.Name("Firestream-Truncated")!

/// An error of `POST /sql`, with the place in the SQL when it has one.
struct SQLErrorAnswer: Encodable {
    var status: Int
    var error: String
    var line: Int?
    var column: Int?
}

/// What a `POST /sql` request asks for.
struct SQLRequest: Decodable {
    var sql: String
    var format: String?
    var maxRows: Int?
    var timeoutMs: Int?

    struct Refusal: Error {
        var message: String
    }

    static func parse(_ body: [UInt8], request: Request) -> Result<SQLRequest, Refusal> {
        let query = request.uri.queryParameters
        var parsed: SQLRequest
        if request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true {
            do {
                parsed = try JSONDecoder().decode(SQLRequest.self, from: Data(body))
            } catch {
                return .failure(Refusal(message: "the body must be a JSON object like {\"sql\": \"SELECT …\"}: \(Self.reason(error))"))
            }
        } else {
            guard let text = String(validating: body, as: UTF8.self) else { return .failure(Refusal(message: "the SQL is not UTF-8 text")) }
            parsed = SQLRequest(sql: text)
        }
        parsed.format = parsed.format ?? query["format"].map(String.init)
        if parsed.maxRows == nil, let text = query["maxRows"] {
            guard let number = Int(text) else { return .failure(Refusal(message: "maxRows must be a whole number, not \"\(text)\"")) }
            parsed.maxRows = number
        }
        if parsed.timeoutMs == nil, let text = query["timeoutMs"] {
            guard let number = Int(text) else { return .failure(Refusal(message: "timeoutMs must be a whole number, not \"\(text)\"")) }
            parsed.timeoutMs = number
        }
        return .success(parsed)
    }

    private static func reason(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "\"\(key.stringValue)\" is missing"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "\(path.isEmpty ? "the body" : "\"\(path)\"") has the wrong type"
        default: return "it is not valid JSON"
        }
    }

    /// The format named, else the one `Accept` prefers, else JSON.
    func format(accept: String?) -> Result<ResultFormat, Refusal> {
        if let format {
            guard let chosen = ResultFormat(rawValue: format.lowercased()) else {
                return .failure(Refusal(message: "format must be one of json, ndjson, csv, not \"\(format)\""))
            }
            return .success(chosen)
        }
        let accept = accept?.lowercased() ?? ""
        if accept.contains("text/csv") { return .success(.csv) }
        if accept.contains("ndjson") { return .success(.ndjson) }
        return .success(.json)
    }

    /// The server's limits, lowered where the request asks.
    func limits(within server: QueryLimits) -> Result<QueryLimits, Refusal> {
        var limits = server
        if let maxRows {
            guard (1...server.maxRows).contains(maxRows) else {
                return .failure(Refusal(message: "maxRows must be between 1 and \(server.maxRows)"))
            }
            limits.maxRows = maxRows
        }
        if let timeoutMs {
            let most = Int(server.timeout.components.seconds * 1000)
            guard (1...max(1, most)).contains(timeoutMs) else { return .failure(Refusal(message: "timeoutMs must be between 1 and \(most)")) }
            limits.timeout = .milliseconds(timeoutMs)
        }
        return .success(limits)
    }
}
