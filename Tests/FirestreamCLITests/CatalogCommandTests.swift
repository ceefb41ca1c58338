import FirestreamLog
import FirestreamTesting
import Foundation
import KafkaWire
import Testing

/// `firestream catalog`: topics with inferred fields and lineage, declared tables with rows.
@Suite struct CatalogCommandTests {
    @Test func describesTopicsAndTablesWithLineage() async throws {
        let scratch = TemporaryDirectory("fs-catalog")
        try scratch.write(
            "firestream.json",
            """
            {"name": "shop", "topics": [{"name": "orders", "key": "/customer"}],
             "tables": [{"name": "totals", "from": "orders", "mode": "upsert", "key": "customer",
                         "columns": {"customer": {}, "amount": {"type": "real"}}}]}
            """)
        let log = try Log(directory: scratch.url.appendingPathComponent(".firestream").path)
        let orders = try log.createTopic("orders")
        _ = try await orders.partitions[0].append(
            [
                #"{"customer":"c1","amount":12.5,"paid":true}"#, #"{"customer":"c2","amount":3,"paid":false}"#, #"{"customer":"c1","note":null}"#,
            ].enumerated().map { ProducerRecord(key: nil, value: Array($1.utf8), timestamp: 1_795_000_000_000 + Int64($0)) })
        log.close()
        let json = try await FirestreamProcess.run(["catalog", "--format", "json"], in: scratch.url)
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let topics = try #require(object["topics"] as? [[String: Any]])
        let topic = try #require(topics.first { $0["name"] as? String == "orders" })
        #expect(topic["records"] as? Int == 3)
        #expect(topic["key"] as? String == "/customer")
        #expect(topic["lastRecordAt"] as? Int == 1_795_000_000_002)
        #expect(topic["readers"] as? [String] == [#"table "totals""#])
        let schema = try #require(topic["schema"] as? [String: Any])
        #expect(schema["source"] as? String == "inferred")
        let fields = (schema["fields"] as? [[String: Any]] ?? []).map {
            "\($0["name"] ?? "") \(($0["types"] as? [String] ?? []).joined(separator: "|"))"
        }
        #expect(fields == ["customer text", "amount integer|real", "paid boolean", "note null"])
        let table = try #require((object["tables"] as? [[String: Any]])?.first)
        #expect(table["name"] as? String == "totals" && table["mode"] as? String == "upsert" && table["key"] as? [String] == ["customer"])
        #expect(table["rows"] is NSNull, "up has not created the table yet")

        let text = try await FirestreamProcess.run(["catalog"], in: scratch.url)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("totals  orders  upsert (customer)  not created yet"))
        #expect(text.stdout.contains("topic orders (fields inferred from 3 records): customer text, amount integer|real, paid boolean, note null"))
    }
}
