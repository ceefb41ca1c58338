import FirestreamFormats
import FirestreamLog
import FirestreamTesting
import FirestreamWarehouse
import Foundation
import KafkaWire
import Testing

@testable import FirestreamGateway

/// `POST /sql` over real HTTP: formats, limits, errors with their place, and the tokens' reach.
@Suite(.serialized) struct SQLRouteTests {
    /// A gateway whose topic `events` holds 30 JSON records from three users.
    func filled(access: AccessPolicy = AccessPolicy()) async throws -> LiveGateway {
        let gateway = try await LiveGateway(access: access)
        _ = try gateway.log.createTopic("events", partitions: 2)
        _ = try gateway.log.createTopic("secret")
        let lines = (0..<30).map { #"{"user":"u\#($0 % 3)","n":\#($0)}"# }.joined(separator: "\n")
        let records = try await gateway.log.topic("events").partitions[0].append(
            lines.split(separator: "\n").map { ProducerRecord(key: nil, value: Array($0.utf8), timestamp: 1000) })
        #expect(records == 0, "the first offset of the batch")
        return gateway
    }

    @Test func answersJSONCSVAndNDJSON() async throws {
        let gateway = try await filled()
        defer { Task { await gateway.stop() } }
        let sql = "SELECT value->>'$.user' AS user, sum(value->>'$.n') AS total FROM records('events') GROUP BY 1 ORDER BY 1"
        let plain = try await gateway.exchange("POST", "/sql", body: sql, contentType: "text/plain")
        #expect(plain.status == 200)
        #expect(plain.headers["content-type"] == "application/json")
        let object = try gateway.json(plain.body)
        #expect((object["columns"] as? [[String: String]])?.map { $0["name"] ?? "" } == ["user", "total"])
        #expect(object["rows"] as? [[AnyHashable]] == [["u0", 135], ["u1", 145], ["u2", 155]])
        #expect(object["recordsRead"] as? Int == 30)

        let csv = try await gateway.exchange("POST", "/sql?format=csv", body: sql, contentType: "application/sql")
        #expect(csv.headers["content-type"] == "text/csv; charset=utf-8")
        #expect(csv.body == "user,total\r\nu0,135\r\nu1,145\r\nu2,155\r\n")
        let ndjson = try await gateway.exchange("POST", "/sql", body: sql, contentType: "text/plain", headers: ["Accept": "application/x-ndjson"])
        #expect(ndjson.body == "{\"user\":\"u0\",\"total\":135}\n{\"user\":\"u1\",\"total\":145}\n{\"user\":\"u2\",\"total\":155}\n")
        let asJSON = try await gateway.exchange(
            "POST", "/sql", body: #"{"sql": "SELECT offset FROM records('events') ORDER BY offset", "maxRows": 2, "format": "ndjson"}"#)
        #expect(asJSON.body == "{\"offset\":0}\n{\"offset\":1}\n")
        #expect(asJSON.headers["firestream-truncated"] == "more than 2 rows (the row limit)")
    }

    @Test func refusesBadRequestsWithTheReason() async throws {
        let gateway = try await filled()
        defer { Task { await gateway.stop() } }
        let syntax = try await gateway.send("POST", "/sql", body: "SELECT *\nFROM records('events') WHER offset > 3", contentType: "text/plain")
        #expect(syntax.status == 400)
        let error = try gateway.json(syntax.body)
        #expect(error["error"] as? String == #"line 2, column 29: near "offset": syntax error"#)
        #expect(error["line"] as? Int == 2 && error["column"] as? Int == 29)
        let write = try await gateway.send("POST", "/sql", body: "CREATE TABLE t(x)", contentType: "text/plain")
        #expect(write.status == 403)
        let slow = try await gateway.send(
            "POST", "/sql?timeoutMs=100", body: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
            contentType: "text/plain")
        #expect(slow.status == 504)
        #expect(try gateway.json(slow.body)["error"] as? String == "the query ran past its time limit of 0.1 seconds")
        let tooMany = try await gateway.send("POST", "/sql?maxRows=20000", body: "SELECT 1", contentType: "text/plain")
        #expect(tooMany.status == 400)
        #expect(try gateway.json(tooMany.body)["error"] as? String == "maxRows must be between 1 and 10000")
        let format = try await gateway.send("POST", "/sql?format=xml", body: "SELECT 1", contentType: "text/plain")
        #expect(try gateway.json(format.body)["error"] as? String == #"format must be one of json, ndjson, csv, not "xml""#)
        let json = try await gateway.send("POST", "/sql", body: #"{"query": "SELECT 1"}"#)
        #expect(json.status == 400)
        #expect(try gateway.json(json.body)["error"] as? String == #"the body must be a JSON object like {"sql": "SELECT …"}: "sql" is missing"#)
    }

    @Test func readsOnlyTheTopicsATokenMayRead() async throws {
        let secret = AccessToken.generate()
        let access = AccessPolicy(tokens: [
            AccessPolicy.Token(
                name: "reader", digest: Hex.bytes(AccessToken.digestHex(secret))!, scopes: [try TokenScope.parse("topic:events:read").get()])
        ])
        let gateway = try await filled(access: access)
        defer { Task { await gateway.stop() } }
        let bearer = ["Authorization": "Bearer \(secret)"]
        #expect(try await gateway.send("POST", "/sql", body: "SELECT 1", contentType: "text/plain").status == 401)
        let allowed = try await gateway.send(
            "POST", "/sql", body: "SELECT count(*) FROM records('events')", contentType: "text/plain", headers: bearer)
        #expect(allowed.status == 200)
        let denied = try await gateway.send(
            "POST", "/sql", body: "SELECT count(*) FROM records('secret')", contentType: "text/plain", headers: bearer)
        #expect(denied.status == 400)
        #expect(try gateway.json(denied.body)["error"] as? String == #"records('secret'): this token may not read topic "secret""#)
    }

    @Test func saysWhenSQLIsNotAvailable() async throws {
        let gateway = try await LiveGateway(sql: false)
        defer { Task { await gateway.stop() } }
        let answer = try await gateway.send("POST", "/sql", body: "SELECT 1", contentType: "text/plain")
        #expect(answer.status == 503)
    }
}

@Suite(.serialized) struct CatalogRouteTests {
    @Test func listsOnlyWhatTheTokenMayRead() async throws {
        let secret = AccessToken.generate()
        let access = AccessPolicy(tokens: [
            AccessPolicy.Token(
                name: "reader", digest: Hex.bytes(AccessToken.digestHex(secret))!, scopes: [try TokenScope.parse("topic:events:read").get()])
        ])
        let directory = TemporaryDirectory("firestream-catalog")
        let log = try Log(directory: directory.path)
        defer { log.close() }
        _ = try await log.createTopic("events").partitions[0].append([ProducerRecord(key: nil, value: Array(#"{"a":1}"#.utf8), timestamp: 7)])
        _ = try log.createTopic("secret")
        let builder = CatalogBuilder(
            log: log, tablesPath: directory.path + "/warehouse.sqlite", tables: [], uses: ["events": ["read by table \"t\""]])
        let gateway = try await LiveGateway(access: access, catalog: builder)
        defer { Task { await gateway.stop() } }
        #expect(try await gateway.send("GET", "/catalog").status == 401)
        let answer = try await gateway.send("GET", "/catalog", headers: ["Authorization": "Bearer \(secret)"])
        #expect(answer.status == 200)
        let topics = try #require(try gateway.json(answer.body)["topics"] as? [[String: Any]])
        #expect(topics.map { $0["name"] as? String } == ["events"])
        #expect(topics.first?["readers"] as? [String] == [#"table "t""#])
        #expect(topics.first?["records"] as? Int == 1)
    }
}
