import FirestreamFormats
import FirestreamJSON
import Foundation
import Testing

@testable import FirestreamConfig

@Suite struct ValidConfigTests {
    static let example = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples/firestream.json")

    @Test func exampleValidatesWithoutDiagnostics() throws {
        let report = ConfigLoader.load(Self.example.path)
        #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
        let config = try #require(report.config)
        #expect(config.name == "firestream-demo")
        #expect(config.services.map(\.serviceName) == [.kafka, .minio, .postgresql, .spark])
        #expect(config.services[3].enabled == false)
        #expect(config.topics.map(\.name) == ["metronome", "wiener"])
        #expect(config.topics[1].retention.bytes?.value == 0x1p30)
        #expect(config.apps.map(\.kind) == ["metronome", "wiener"])
    }

    @Test func theKafkaListenerIsReadAndRenderedBack() throws {
        let text = #"{"kafka": {"listener": "[::1]:19092", "advertisedHost": "kafka.local", "autoCreateTopics": false, "defaultPartitions": 3}}"#
        let (parsed, diagnostics) = ConfigLoader.parse(text, format: .json, defaultName: "test")
        let config = try #require(parsed, "\(diagnostics)")
        #expect(config.kafka.listener == KafkaListener(host: "::1", port: 19092))
        #expect(config.kafka.listener.description == "[::1]:19092")
        #expect(config.kafka.advertisedHost == "kafka.local")
        #expect(!config.kafka.autoCreateTopics && config.kafka.defaultPartitions == 3)
        for format in [ConfigFormat.json, .yaml] {
            let again = ConfigLoader.parse(ConfigRenderer.render(config, as: format), format: format, defaultName: "test").0
            #expect(again?.kafka == config.kafka, "\(format)")
        }
        #expect(ConfigLoader.parse("{}", format: .json, defaultName: "test").0?.kafka == KafkaConfig(), "on, 127.0.0.1:9092 by default")
    }

    @Test func theWorkersClusterIsReadAndRenderedBackWithThePasswordFromTheEnvironment() throws {
        let text =
            #"{"kafka": {"bootstrap": "b1:9092, b2:9093", "exactlyOnce": false, "security": {"protocol": "SASL_PLAINTEXT", "#
            + #""mechanism": "SCRAM-SHA-512", "username": "apps", "passwordEnv": "KAFKA_PASSWORD"}}}"#
        let config = try #require(ConfigLoader.parse(text, format: .json, defaultName: "test").0)
        #expect(config.kafka.bootstrap == [KafkaListener(host: "b1", port: 9092), KafkaListener(host: "b2", port: 9093)])
        #expect(!config.kafka.exactlyOnce && config.kafka.security.mechanism == "SCRAM-SHA-512")
        for format in [ConfigFormat.json, .yaml] {
            let again = ConfigLoader.parse(ConfigRenderer.render(config, as: format), format: format, defaultName: "test").0
            #expect(again?.kafka == config.kafka, "\(format)")
        }
        let settings = try config.kafka.security.settings(environment: ["KAFKA_PASSWORD": "s3cret"]).get()
        #expect(
            settings == [
                "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "apps", "sasl.password": "s3cret",
            ])
        #expect(throws: KafkaSecurityError.self) { try config.kafka.security.settings(environment: [:]).get() }
    }

    @Test func roundTripsJSONToYAMLAndBack() throws {
        let text = try String(contentsOf: Self.example, encoding: .utf8)
        let (fromJSON, _) = ConfigLoader.parse(text, format: .json, defaultName: "x")
        let model = try #require(fromJSON)
        let yaml = ConfigRenderer.render(model, as: .yaml)
        let (fromYAML, yamlDiagnostics) = ConfigLoader.parse(yaml, format: .yaml, defaultName: "x")
        #expect(yamlDiagnostics.isEmpty, "\(yamlDiagnostics)\n\(yaml)")
        #expect(fromYAML == model)
        let json = ConfigRenderer.render(model, as: .json)
        let (again, _) = ConfigLoader.parse(json, format: .json, defaultName: "x")
        #expect(again == model)
        #expect(ConfigRenderer.render(try #require(again), as: .json) == json)
    }

    @Test func yamlQuotesStringsThatWouldReadAsNumbersOrBooleans() throws {
        var config = ProjectConfig(name: "q")
        config.image.tag = "1.0"
        config.apps = [AppConfig(name: "a", kind: "wiener", settings: .object([("flag", .string("true")), ("n", .string(""))]))]
        let yaml = ConfigRenderer.render(config, as: .yaml)
        let (back, diagnostics) = ConfigLoader.parse(yaml, format: .yaml, defaultName: "q")
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        #expect(back == config)
        #expect(back?.image.tag == "1.0")
    }

    @Test func emptyObjectFillsEveryDefault() throws {
        let (config, diagnostics) = ConfigLoader.parse("{}", format: .json, defaultName: "my-dir")
        #expect(diagnostics.isEmpty)
        let defaults = try #require(config)
        #expect(defaults == ProjectConfig(name: "my-dir"))
        #expect(defaults.replicaCount == 1)
        #expect(defaults.image == ImageConfig(repository: "firestream", tag: FirestreamVersion.current, pullPolicy: .ifNotPresent))
        #expect(defaults.service.ports == [8000])
        #expect(defaults.resources.requests.cpu?.text == "100m")
        #expect(defaults.resources.limits == ResourceList())
        #expect(defaults.ingress == IngressConfig(enabled: false, external: false))
    }

    @Test func serviceDefaultsMergeWithWhatIsWritten() throws {
        let text = #"{"services": [{"service_name": "kafka", "resources": {"requests": {"cpu": "2"}}}]}"#
        let kafka = try #require(ConfigLoader.parse(text, format: .json, defaultName: "x").0?.services.first)
        #expect(kafka.resources.requests.cpu?.text == "2")
        #expect(kafka.resources.requests.memory?.text == "1Gi")
        #expect(kafka.persistence?.size.text == "8Gi")
        #expect(kafka.replicaCount == 1)
        #expect(kafka.enabled)
    }

    @Test func aliasIsNormalizedAndNumbersAreAcceptedAsQuantities() throws {
        let text = #"{"services": [{"service_name": "postgres", "resources": {"requests": {"cpu": 0.5, "memory": 1e9}}}]}"#
        let service = try #require(ConfigLoader.parse(text, format: .json, defaultName: "x").0?.services.first)
        #expect(service.serviceName == .postgresql)
        #expect(service.resources.requests.cpu?.value == 0.5)
        #expect(service.resources.requests.memory?.value == 1e9)
        let shown = ConfigRenderer.render(ProjectConfig(name: "x", services: [service]), as: .json)
        #expect(shown.contains("\"service_name\": \"postgresql\""))
    }

    @Test func unlimitedRetention() throws {
        let text = #"{"topics": [{"name": "audit", "retention": {"time": "unlimited", "bytes": "unlimited"}}]}"#
        let topic = try #require(ConfigLoader.parse(text, format: .json, defaultName: "x").0?.topics.first)
        #expect(topic.retention.time == nil)
        #expect(topic.retention.bytes == nil)
        #expect(topic.partitions == 1)
    }

    @Test func yamlAndJSONOfTheSameConfigAreEqual() {
        let json = #"{"name": "p", "services": [{"service_name": "minio", "enabled": false}], "ingress": {"enabled": true}}"#
        let yaml = "name: p\nservices:\n  - service_name: minio\n    enabled: false\ningress:\n  enabled: true\n"
        let a = ConfigLoader.parse(json, format: .json, defaultName: "x").0
        let b = ConfigLoader.parse(yaml, format: .yaml, defaultName: "x").0
        #expect(a != nil)
        #expect(a == b)
    }

    @Test func jsonParserHandlesEscapesAndUnicode() throws {
        let result = JSONParser.parse(#"{"a": "tab\there \u00e9 \ud83d\ude00 \"q\"", "b": [1, -2.5e3, true, null]}"#)
        #expect(result.problems.isEmpty)
        guard case .object(let members) = try #require(result.root).value else {
            Issue.record("not an object")
            return
        }
        #expect(members[0].value.value == .string("tab\there é 😀 \"q\""))
        #expect(JSONValue(members[1].value) == .array([.number("1"), .number("-2.5e3"), .bool(true), .null]))
    }

    @Test func columnsCountCharactersNotBytes() {
        let result = JSONParser.parse("{\"é\": \"ü\" x}")
        #expect(result.problems.first?.location == SourceLocation(line: 1, column: 11))
    }
}

@Suite struct ConnectorConfigTests {
    @Test func sourcesEffectsAndSignaturesDecodeWithDefaultsAndRoundTrip() throws {
        let text = """
            {
              "topics": [{"name": "hooks", "signature": {"scheme": "github", "secretEnv": "HOOK_SECRET"}}],
              "sources": [
                {"name": "ticker", "kind": "websocket", "topic": "ticks", "url": "wss://example.com/feed", "subscribe": "{\\"op\\":\\"sub\\"}"},
                {"name": "weather", "kind": "rest", "topic": "weather", "url": "https://example.com/obs", "interval": "1m", "items": "/data", "dedupe": "/id"}
              ],
              "effects": [
                {"name": "alerts", "kind": "webhook", "topic": "wiener", "url": "https://example.com/hook", "batch": 50,
                 "signature": {"secretEnv": "ALERT_SECRET"}},
                {"name": "to-airflow", "kind": "airflow", "topic": "wiener", "url": "http://127.0.0.1:8080",
                 "airflow": {"asset": "firestream://topics/wiener", "username": "admin", "passwordEnv": "AIRFLOW_PASSWORD"}}
              ]
            }
            """
        let (config, diagnostics) = ConfigLoader.parse(text, format: .json, defaultName: "x")
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let parsed = try #require(config)
        #expect(parsed.topics[0].signature == SignatureConfig(scheme: .github, secretEnv: "HOOK_SECRET"))
        #expect(parsed.sources.map(\.kind) == [.websocket, .rest])
        #expect(parsed.sources[0].reconnect.max.text == "30s")
        #expect(parsed.sources[1].interval.milliseconds == 60_000)
        let effect = parsed.effects[0]
        #expect(effect.batch == 50 && effect.maxAttempts == 5 && effect.deadLetter == "alerts.dlq" && effect.body == .records)
        #expect(effect.signature?.header == "X-Firestream-Signature")
        #expect(
            parsed.effects[1].airflow == EffectConfig.Airflow(asset: "firestream://topics/wiener", username: "admin", passwordEnv: "AIRFLOW_PASSWORD")
        )
        #expect(effect.airflow == nil)
        let rendered = JSONText.render(ConfigRenderer.tree(parsed))
        let (again, _) = ConfigLoader.parse(rendered, format: .json, defaultName: "x")
        #expect(again == parsed)
    }
}

@Suite struct TableConfigTests {
    @Test func tablesDecodeWithDefaultsAndRoundTrip() throws {
        let text = """
            {
              "tables": [
                {"name": "wiener_latest", "from": "wiener", "mode": "upsert", "key": "device_id", "retention": "7d",
                 "columns": {"device_id": {}, "measurement": {"type": "real"}, "at": {"pointer": "/event_time", "type": "integer"}}},
                {"name": "readings", "from": "metronome", "columns": {"device": {"pointer": "/device_id"}, "raw": {"pointer": "", "type": "json"}}}
              ]
            }
            """
        let (config, diagnostics) = ConfigLoader.parse(text, format: .json, defaultName: "x")
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let parsed = try #require(config)
        let latest = parsed.tables[0]
        #expect(latest.mode == .upsert && latest.key == ["device_id"] && latest.retention?.milliseconds == 7 * 86_400_000)
        #expect(
            latest.columns == [
                .init(name: "device_id", pointer: "/device_id", type: .text), .init(name: "measurement", pointer: "/measurement", type: .real),
                .init(name: "at", pointer: "/event_time", type: .integer),
            ])
        #expect(latest.deadLetter == "wiener_latest.dlq")
        #expect(parsed.tables[1].mode == .append && parsed.tables[1].key.isEmpty && parsed.tables[1].columns[1].pointer == "")
        let rendered = JSONText.render(ConfigRenderer.tree(parsed))
        let (again, _) = ConfigLoader.parse(rendered, format: .json, defaultName: "x")
        #expect(again == parsed)
    }

    @Test func warehouseDecodesAndRoundTrips() throws {
        let text =
            #"{"warehouse": {"engine": "postgres", "host": "db.example.com", "port": 6432, "user": "etl", "passwordEnv": "WAREHOUSE_PASSWORD"}}"#
        let (config, diagnostics) = ConfigLoader.parse(text, format: .json, defaultName: "x")
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let warehouse = try #require(config?.warehouse)
        #expect(warehouse.engine == .postgres && warehouse.host == "db.example.com" && warehouse.port == 6432)
        #expect(warehouse.user == "etl" && warehouse.database == "firestream" && warehouse.passwordEnv == "WAREHOUSE_PASSWORD")
        let rendered = JSONText.render(ConfigRenderer.tree(try #require(config)))
        #expect(ConfigLoader.parse(rendered, format: .json, defaultName: "x").0 == config)
    }
}
