import FirestreamFormats
import Testing

@testable import FirestreamConfig

/// One invalid config and the exact diagnostics it must produce, in order.
struct InvalidCase: CustomTestStringConvertible, Sendable {
    var name: String
    var format: ConfigFormat = .json
    var text: String
    /// (path or nil for syntax errors, "line:column", message)
    var expected: [(String?, String, String)]
    var hint: String?

    var testDescription: String { name }
}

let invalidCases: [InvalidCase] = [
    // MARK: JSON syntax
    InvalidCase(
        name: "trailing comma in an object", text: #"{"name": "a",}"#,
        expected: [(nil, "1:13", "trailing comma before '}' is not allowed in JSON")], hint: "remove this ','"),
    InvalidCase(
        name: "trailing comma in an array", text: #"{"service": {"ports": [80, 443,]}}"#,
        expected: [(nil, "1:31", "trailing comma before ']' is not allowed in JSON")]),
    InvalidCase(
        name: "unclosed brace at end of file", text: "{\n  \"name\": \"a\"\n",
        expected: [(nil, "3:1", "unexpected end of file: the '{' opened at 1:1 is never closed")],
        hint: "add '}' to close it"),
    InvalidCase(
        name: "one closing brace too many", text: #"{"name": "a"}}"#,
        expected: [(nil, "1:14", "unbalanced '}': every bracket is already closed here")]),
    InvalidCase(
        name: "brace closes an array", text: #"{"service": {"ports": [80}}"#,
        expected: [(nil, "1:26", "found '}' but the innermost open bracket is the '[' at 1:23")]),
    InvalidCase(
        name: "missing comma between members", text: #"{"name": "a" "replicaCount": 1}"#,
        expected: [(nil, "1:14", "expected ',' or '}' after the value of \"name\", found a string")],
        hint: "add a ',' between object members"),
    InvalidCase(
        name: "line comment", text: "{\n  // the project\n  \"name\": \"a\"\n}",
        expected: [(nil, "2:3", "comments are not allowed in JSON")]),
    InvalidCase(
        name: "single-quoted string", text: #"{"name": 'a'}"#,
        expected: [(nil, "1:10", "strings must use double quotes, not single quotes")], hint: "write \"a\""),
    InvalidCase(
        name: "unquoted key", text: #"{name: "a"}"#,
        expected: [(nil, "1:2", "object keys must be double-quoted strings")], hint: "write \"name\""),
    InvalidCase(
        name: "bare word value", text: #"{"name": demo}"#,
        expected: [(nil, "1:10", "unexpected 'demo': strings must be in double quotes")]),
    InvalidCase(
        name: "number with a unit", text: #"{"resources": {"requests": {"cpu": 200m}}}"#,
        expected: [(nil, "1:36", "unexpected '200m': a number with a unit must be a string")], hint: "write \"200m\""),
    InvalidCase(
        name: "string broken by a newline", text: "{\"name\": \"abc\n}",
        expected: [(nil, "1:14", "the string that starts at 1:10 is not closed before the end of the line")]),
    InvalidCase(
        name: "Python-style literal", text: #"{"ingress": {"enabled": True}}"#,
        expected: [(nil, "1:25", "'True' is not a JSON literal")], hint: "write true (lower case)"),
    InvalidCase(
        name: "empty file", text: "  \n",
        expected: [(nil, "2:1", "the file is empty")]),
    InvalidCase(
        name: "several recoverable syntax errors are all reported",
        text: "{\n  name: \"a\",\n  \"replicaCount\": 1,\n}",
        expected: [
            (nil, "2:3", "object keys must be double-quoted strings"),
            (nil, "3:20", "trailing comma before '}' is not allowed in JSON"),
        ]),

    // MARK: YAML syntax
    InvalidCase(
        name: "YAML key indented under a scalar", format: .yaml, text: "name: a\n  replicaCount: 1\n",
        expected: [(nil, "2:15", "YAML syntax error: mapping values are not allowed in this context")]),
    InvalidCase(
        name: "YAML duplicate key", format: .yaml, text: "name: a\nname: b\n",
        expected: [(nil, "1:1", "duplicate key \"name\" in one mapping")]),

    // MARK: Structure and keys
    InvalidCase(
        name: "root is an array", text: "[1]",
        expected: [("(root)", "1:1", "the config must be an object ({ … }), found an array")]),
    InvalidCase(
        name: "misspelled top-level key", text: #"{"replicas": 2}"#,
        expected: [("replicas", "1:2", "unknown key \"replicas\"")], hint: "did you mean \"replicaCount\"?"),
    InvalidCase(
        name: "misspelled service key", text: #"{"services": [{"service_name": "kafka", "replica": 1}]}"#,
        expected: [("services[0].replica", "1:41", "unknown key \"replica\"")], hint: "did you mean \"replicaCount\"?"),
    InvalidCase(
        name: "name instead of service_name", text: #"{"services": [{"name": "kafka"}]}"#,
        expected: [
            ("services[0]", "1:15", "missing required key \"service_name\""),
            ("services[0].name", "1:16", "unknown key \"name\""),
        ]),
    InvalidCase(
        name: "duplicate JSON key", text: #"{"name": "a", "name": "b"}"#,
        expected: [("name", "1:15", "duplicate key \"name\" (first at 1:2)")]),
    InvalidCase(
        name: "image is a string", text: #"{"image": "nginx:1.25"}"#,
        expected: [("image", "1:11", "expected an object, found a string")]),

    // MARK: Services
    InvalidCase(
        name: "misspelled service", text: #"{"services": [{"service_name": "kafak"}]}"#,
        expected: [("services[0].service_name", "1:32", "unknown service \"kafak\"")], hint: "did you mean \"kafka\"?"),
    InvalidCase(
        name: "proprietary service", text: #"{"services": [{"service_name": "bigquery"}]}"#,
        expected: [
            (
                "services[0].service_name", "1:32",
                "\"bigquery\" is a proprietary managed service and cannot be deployed by Firestream"
            )
        ], hint: "remove it; deployable services are kafka, minio, postgresql, airflow, spark, contour"),
    InvalidCase(
        name: "service declared twice through an alias",
        text: #"{"services": [{"service_name": "postgres"}, {"service_name": "postgresql"}]}"#,
        expected: [
            ("services[1].service_name", "1:62", "service \"postgresql\" is declared twice (first at services[0])")
        ]),
    InvalidCase(
        name: "service_name is a number", text: #"{"services": [{"service_name": 42}]}"#,
        expected: [("services[0].service_name", "1:32", "expected a string, found a number")]),
    InvalidCase(
        name: "persistence on a stateless service",
        text: #"{"services": [{"service_name": "contour", "persistence": {"size": "1Gi"}}]}"#,
        expected: [("services[0].persistence", "1:58", "contour keeps no data, so it takes no persistence")]),
    InvalidCase(
        name: "zero volume size", text: #"{"services": [{"service_name": "kafka", "persistence": {"size": "0"}}]}"#,
        expected: [("services[0].persistence.size", "1:65", "a volume size must be more than zero")]),
    InvalidCase(
        name: "chart values not an object", text: #"{"services": [{"service_name": "minio", "values": [1]}]}"#,
        expected: [("services[0].values", "1:51", "expected an object of chart values, found an array")]),

    // MARK: Quantities
    InvalidCase(
        name: "CPU with an unknown suffix", text: #"{"resources": {"requests": {"cpu": "200x"}}}"#,
        expected: [("resources.requests.cpu", "1:36", "\"200x\" is not a Kubernetes CPU quantity")],
        hint: "try \"200m\" or \"0.5\""),
    InvalidCase(
        name: "CPU in bytes", text: #"{"resources": {"limits": {"cpu": "1Gi"}}}"#,
        expected: [("resources.limits.cpu", "1:34", "\"1Gi\" is not a Kubernetes CPU quantity")]),
    InvalidCase(
        name: "memory in MB", text: #"{"resources": {"requests": {"memory": "128MB"}}}"#,
        expected: [("resources.requests.memory", "1:39", "\"128MB\" is not a Kubernetes memory quantity")],
        hint: "try \"128Mi\""),
    InvalidCase(
        name: "memory in millibytes", text: #"{"resources": {"requests": {"memory": "128m"}}}"#,
        expected: [
            ("resources.requests.memory", "1:39", "\"128m\" means 128 milli-/micro-/nano-bytes, not megabytes")
        ], hint: "try \"128Mi\" (mebibytes) or \"128M\" (megabytes)"),
    InvalidCase(
        name: "negative memory", text: #"{"resources": {"requests": {"memory": "-1Gi"}}}"#,
        expected: [
            ("resources.requests.memory", "1:39", "\"-1Gi\" is negative; resource quantities must be zero or more")
        ]),
    InvalidCase(
        name: "CPU request over its limit",
        text: #"{"resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "500m"}}}"#,
        expected: [
            ("resources.requests.cpu", "1:36", "request \"2\" exceeds the limit \"500m\" (resources.limits.cpu)")
        ], hint: "raise the limit or lower the request"),
    InvalidCase(
        name: "default memory request over a written limit",
        text: #"{"services": [{"service_name": "kafka", "resources": {"limits": {"memory": "512Mi"}}}]}"#,
        expected: [
            (
                "services[0].resources.requests.memory", "1:76",
                "request \"1Gi\" exceeds the limit \"512Mi\" (services[0].resources.limits.memory)"
            )
        ]),

    // MARK: Numbers, ports, enums
    InvalidCase(
        name: "negative replicaCount", text: #"{"replicaCount": -1}"#,
        expected: [("replicaCount", "1:18", "must be 0 or more, found -1")]),
    InvalidCase(
        name: "fractional replicaCount", text: #"{"replicaCount": 1.5}"#,
        expected: [("replicaCount", "1:18", "expected a whole number, found 1.5")]),
    InvalidCase(
        name: "port out of range", text: #"{"service": {"ports": [8000, 70000]}}"#,
        expected: [("service.ports[1]", "1:30", "port 70000 is out of range (1–65535)")]),
    InvalidCase(
        name: "port zero", text: #"{"service": {"ports": [0]}}"#,
        expected: [("service.ports[0]", "1:24", "port 0 is out of range (1–65535)")]),
    InvalidCase(
        name: "port listed twice", text: #"{"service": {"ports": [80, 443, 80]}}"#,
        expected: [("service.ports[2]", "1:33", "port 80 is listed twice (first at service.ports[0])")]),
    InvalidCase(
        name: "port as a string", text: #"{"service": {"ports": ["8000"]}}"#,
        expected: [("service.ports[0]", "1:24", "expected a number, found a string")], hint: "write 8000 without quotes"),
    InvalidCase(
        name: "pull policy in the wrong case", text: #"{"image": {"pullPolicy": "always"}}"#,
        expected: [("image.pullPolicy", "1:26", "\"always\" is not an image pull policy")],
        hint: "did you mean \"Always\"?"),
    InvalidCase(
        name: "boolean written as a string", text: #"{"ingress": {"enabled": "true"}}"#,
        expected: [("ingress.enabled", "1:25", "expected true or false, found a string")]),
    InvalidCase(
        name: "empty image tag", text: #"{"image": {"tag": ""}}"#,
        expected: [("image.tag", "1:19", "must not be empty")]),

    // MARK: Names
    InvalidCase(
        name: "name with capitals and underscore", text: #"{"name": "My_Project"}"#,
        expected: [
            ("name", "1:10", "\"My_Project\" is not a valid name: use only lower-case letters, digits and '-'")
        ], hint: "try \"my-project\""),
    InvalidCase(
        name: "name ending in a dash", text: #"{"name": "pipeline-"}"#,
        expected: [("name", "1:10", "\"pipeline-\" is not a valid name: it must start and end with a letter or digit")]),
    InvalidCase(
        name: "name over 63 characters", text: "{\"name\": \"\(String(repeating: "a", count: 64))\"}",
        expected: [("name", "1:10", "\"\(String(repeating: "a", count: 64))\" is not a valid name: it has 64 characters; at most 63 are allowed")]),

    // MARK: Topics and apps
    InvalidCase(
        name: "topic name with a space", text: #"{"topics": [{"name": "my topic"}]}"#,
        expected: [
            ("topics[0].name", "1:22", "\"my topic\" is not a valid topic name: use only ASCII letters, digits, '.', '_' and '-'")
        ]),
    InvalidCase(
        name: "zero partitions", text: #"{"topics": [{"name": "wiener", "partitions": 0}]}"#,
        expected: [("topics[0].partitions", "1:46", "must be 1 or more, found 0")]),
    InvalidCase(
        name: "retention written in words", text: #"{"topics": [{"name": "t", "retention": {"time": "7 days"}}]}"#,
        expected: [("topics[0].retention.time", "1:49", "\"7 days\" is not a duration")]),
    InvalidCase(
        name: "topic declared twice", text: #"{"topics": [{"name": "t"}, {"name": "t"}]}"#,
        expected: [("topics[1].name", "1:37", "topic \"t\" is declared twice (first at topics[0])")]),
    InvalidCase(
        name: "app without a kind", text: #"{"apps": [{"name": "wiener"}]}"#,
        expected: [("apps[0]", "1:11", "missing required key \"kind\"")]),
    InvalidCase(
        name: "app settings not an object", text: #"{"apps": [{"name": "w", "kind": "wiener", "settings": 3}]}"#,
        expected: [("apps[0].settings", "1:55", "expected an object of app settings, found a number")]),

    // MARK: Sources, effects, signatures
    InvalidCase(
        name: "source kind misspelt", text: #"{"sources": [{"name": "s", "kind": "websockt", "topic": "t", "url": "ws://x/y"}]}"#,
        expected: [("sources[0].kind", "1:36", "unknown source kind \"websockt\"")], hint: "did you mean \"websocket\"?"),
    InvalidCase(
        name: "websocket source with an http URL", text: #"{"sources": [{"name": "s", "kind": "websocket", "topic": "t", "url": "http://x/y"}]}"#,
        expected: [("sources[0].url", "1:70", "\"http://x/y\" is not a ws or wss URL")]),
    InvalidCase(
        name: "rest source with a websocket-only key",
        text: #"{"sources": [{"name": "s", "kind": "rest", "topic": "t", "url": "http://x/y", "subscribe": "hi"}]}"#,
        expected: [("sources[0].subscribe", "1:79", "unknown key \"subscribe\"")]),
    InvalidCase(
        name: "rest interval in words",
        text: #"{"sources": [{"name": "s", "kind": "rest", "topic": "t", "url": "http://x/y", "interval": "often"}]}"#,
        expected: [("sources[0].interval", "1:91", "\"often\" is not a duration")]),
    InvalidCase(
        name: "dedupe that is not a pointer",
        text: #"{"sources": [{"name": "s", "kind": "rest", "topic": "t", "url": "http://x/y", "dedupe": "id"}]}"#,
        expected: [("sources[0].dedupe", "1:89", "\"id\" is not a JSON pointer")]),
    InvalidCase(
        name: "webhook without a url", text: #"{"effects": [{"name": "e", "kind": "webhook", "topic": "t"}]}"#,
        expected: [("effects[0]", "1:14", "missing required key \"url\"")]),
    InvalidCase(
        name: "webhook batch of zero", text: #"{"effects": [{"name": "e", "kind": "webhook", "topic": "t", "url": "https://x/h", "batch": 0}]}"#,
        expected: [("effects[0].batch", "1:92", "must be 1 or more, found 0")]),
    InvalidCase(
        name: "webhook back-off upside down",
        text: #"{"effects": [{"name": "e", "kind": "webhook", "topic": "t", "url": "https://x/h", "backoff": {"initial": "1m", "max": "1s"}}]}"#,
        expected: [("effects[0].backoff", "1:119", "max (1s) is shorter than initial (1m)")]),
    InvalidCase(
        name: "airflow effect without its asset", text: #"{"effects": [{"name": "e", "kind": "airflow", "topic": "t", "url": "http://x:8080"}]}"#,
        expected: [("effects[0]", "1:14", "missing required key \"airflow\"")]),
    InvalidCase(
        name: "airflow user without a password variable",
        text:
            #"{"effects": [{"name": "e", "kind": "airflow", "topic": "t", "url": "http://x:8080", "airflow": {"asset": "a://b", "username": "admin"}}]}"#,
        expected: [
            ("effects[0].airflow", "1:96", "username and passwordEnv go together: give both, or neither (Airflow with every user an admin)")
        ]),
    InvalidCase(
        name: "airflow settings on a webhook",
        text: #"{"effects": [{"name": "e", "kind": "webhook", "topic": "t", "url": "http://x/h", "airflow": {"asset": "a://b"}}]}"#,
        expected: [("effects[0].airflow", "1:93", "airflow applies only to effects of kind \"airflow\"")]),
    InvalidCase(
        name: "a body for airflow",
        text:
            #"{"effects": [{"name": "e", "kind": "airflow", "topic": "t", "url": "http://x:8080", "body": "values", "airflow": {"asset": "a://b"}}]}"#,
        expected: [("effects[0].body", "1:93", "body applies only to webhook effects: an airflow effect sends asset events")]),
    InvalidCase(
        name: "signature secret written inline", text: #"{"topics": [{"name": "t", "signature": {"secretEnv": "abc-123!"}}]}"#,
        expected: [("topics[0].signature.secretEnv", "1:54", "\"abc-123!\" is not an environment variable name")]),
    InvalidCase(
        name: "connector name clashes with an app",
        text: #"{"apps": [{"name": "w", "kind": "wiener"}], "effects": [{"name": "w", "kind": "webhook", "topic": "t", "url": "http://x/y"}]}"#,
        expected: [("effects", "1:56", "the name \"w\" is used twice among apps, sources and effects")]),

    // MARK: Tables
    InvalidCase(
        name: "table without columns", text: #"{"tables": [{"name": "t", "from": "wiener"}]}"#,
        expected: [("tables[0]", "1:13", "missing required key \"columns\"")]),
    InvalidCase(
        name: "table name that is not an identifier", text: #"{"tables": [{"name": "9 lives", "from": "w", "columns": {"a": {}}}]}"#,
        expected: [("tables[0].name", "1:22", "\"9 lives\" is not a valid table name")]),
    InvalidCase(
        name: "table declared twice",
        text: #"{"tables": [{"name": "t", "from": "w", "columns": {"a": {}}}, {"name": "T", "from": "w", "columns": {"a": {}}}]}"#,
        expected: [("tables[1].name", "1:72", "the table \"T\" is declared twice (first at tables[0])")]),
    InvalidCase(
        name: "upsert table without a key", text: #"{"tables": [{"name": "t", "from": "w", "mode": "upsert", "columns": {"a": {}}}]}"#,
        expected: [("tables[0]", "1:13", "an upsert table needs a key")]),
    InvalidCase(
        name: "key that is not a column",
        text: #"{"tables": [{"name": "t", "from": "w", "mode": "upsert", "key": ["id"], "columns": {"ids": {}}}]}"#,
        expected: [("tables[0].key[0]", "1:66", "the key column \"id\" is not one of the table's columns")]),
    InvalidCase(
        name: "key on an append table", text: #"{"tables": [{"name": "t", "from": "w", "key": "a", "columns": {"a": {}}}]}"#,
        expected: [("tables[0].key", "1:47", "a key applies to upsert tables only")]),
    InvalidCase(
        name: "column of an unknown type", text: #"{"tables": [{"name": "t", "from": "w", "columns": {"a": {"type": "float"}}}]}"#,
        expected: [("tables[0].columns.a.type", "1:66", "\"float\" is not a column type")]),
    InvalidCase(
        name: "column pointer without a slash", text: #"{"tables": [{"name": "t", "from": "w", "columns": {"a": {"pointer": "a/b"}}}]}"#,
        expected: [("tables[0].columns.a.pointer", "1:69", "\"a/b\" is not a JSON pointer")]),
    InvalidCase(
        name: "column named like Firestream's own", text: #"{"tables": [{"name": "t", "from": "w", "columns": {"_offset": {}}}]}"#,
        expected: [("tables[0].columns._offset", "1:52", "\"_offset\" is not a valid column name")]),
    InvalidCase(
        name: "table retention that is not a duration",
        text: #"{"tables": [{"name": "t", "from": "w", "retention": "a week", "columns": {"a": {}}}]}"#,
        expected: [("tables[0].retention", "1:53", "\"a week\" is not a duration")]),
    InvalidCase(
        name: "warehouse engine misspelt", text: #"{"warehouse": {"engine": "postgresql"}}"#,
        expected: [("warehouse.engine", "1:26", "\"postgresql\" is not a warehouse engine")]),
    InvalidCase(
        name: "external warehouse without a password variable", text: #"{"warehouse": {"engine": "postgres", "host": "db.example.com"}}"#,
        expected: [("warehouse", "1:15", "an external PostgreSQL (host) needs passwordEnv")]),
    InvalidCase(
        name: "warehouse host for the sqlite engine", text: #"{"warehouse": {"host": "db", "passwordEnv": "PW"}}"#,
        expected: [
            ("warehouse.host", "1:24", "host applies to the postgres engine"),
            ("warehouse.passwordEnv", "1:45", "passwordEnv applies to the postgres engine"),
        ]),

    // MARK: YAML positions
    InvalidCase(
        name: "YAML unknown key", format: .yaml, text: "name: demo\nservices:\n  - service_name: kafka\n    replicas: 3\n",
        expected: [("services[0].replicas", "4:5", "unknown key \"replicas\"")], hint: "did you mean \"replicaCount\"?"),
    InvalidCase(
        name: "YAML bad CPU", format: .yaml,
        text: "services:\n  - service_name: kafka\n    resources:\n      requests:\n        cpu: 200x\n",
        expected: [("services[0].resources.requests.cpu", "5:14", "\"200x\" is not a Kubernetes CPU quantity")]),
    InvalidCase(
        name: "YAML port as text", format: .yaml, text: "service:\n  ports: [\"8000\"]\n",
        expected: [("service.ports[0]", "2:11", "expected a number, found a string")]),

    // MARK: Gateway access
    InvalidCase(
        name: "token with the token itself instead of its hash",
        text: #"{"gateway": {"tokens": [{"name": "ci", "sha256": "fst_abc", "scopes": ["admin"]}]}}"#,
        expected: [("gateway.tokens[0].sha256", "1:50", "expected the 64 hex digits of the token's SHA-256")],
        hint: "firestream token create prints the entry to paste; never put the token itself here"),
    InvalidCase(
        name: "token scope with an unknown action",
        text:
            #"{"gateway": {"tokens": [{"name": "ci", "sha256": "0000000000000000000000000000000000000000000000000000000000000000", "scopes": ["topic:t:delete"]}]}}"#,
        expected: [("gateway.tokens[0].scopes[0]", "1:129", "\"delete\" is not a topic action")], hint: "use read, write or admin"),
    InvalidCase(
        name: "token with a SCRAM mechanism Kafka does not have and a credential cut short",
        text:
            #"{"gateway": {"tokens": [{"name": "ci", "sha256": "0000000000000000000000000000000000000000000000000000000000000000", "scopes": ["admin"], "scram": {"SCRAM-SHA-1": "x", "SCRAM-SHA-256": "salt=abc"}}]}}"#,
        expected: [
            ("gateway.tokens[0].scram.SCRAM-SHA-1", "1:149", "unknown key \"SCRAM-SHA-1\""),
            ("gateway.tokens[0].scram.SCRAM-SHA-256", "1:186", "expected the fields salt, stored_key, server_key and iterations"),
        ]),
    InvalidCase(
        name: "SCRAM keys of the wrong length",
        text:
            #"{"gateway": {"tokens": [{"name": "ci", "sha256": "0000000000000000000000000000000000000000000000000000000000000000", "scopes": ["admin"], "scram": {"SCRAM-SHA-512": "salt=AAAA,stored_key=AAAA,server_key=AAAA,iterations=4096"}}]}}"#,
        expected: [("gateway.tokens[0].scram.SCRAM-SHA-512", "1:166", "stored_key and server_key must be 64 bytes in base64 for SCRAM-SHA-512")],
        hint: "firestream token create prints the entry to paste"),
    InvalidCase(
        name: "origin without a scheme", text: #"{"gateway": {"origins": ["dash.example.com"]}}"#,
        expected: [("gateway.origins[0]", "1:26", "\"dash.example.com\" is not an origin")]),
    InvalidCase(
        name: "host with a port", text: #"{"gateway": {"hosts": ["example.com:8000"]}}"#,
        expected: [("gateway.hosts[0]", "1:24", "\"example.com:8000\" is not a host name")]),

    InvalidCase(
        name: "Kafka listener without a port", text: #"{"kafka": {"listener": "localhost"}}"#,
        expected: [("kafka.listener", "1:24", "\"localhost\" is not host:port")],
        hint: "for example 127.0.0.1:9092, or 0.0.0.0:9092 for every interface"),
    InvalidCase(
        name: "Kafka partitions out of range", text: #"{"kafka": {"defaultPartitions": 0}}"#,
        expected: [("kafka.defaultPartitions", "1:33", "must be 1 or more, found 0")]),
    InvalidCase(
        name: "Kafka key misspelt", text: #"{"kafka": {"autoCreate": true}}"#,
        expected: [("kafka.autoCreate", "1:12", "unknown key \"autoCreate\"")]),
    InvalidCase(
        name: "Kafka bootstrap without ports", text: #"{"kafka": {"bootstrap": "a:9092,b"}}"#,
        expected: [("kafka.bootstrap", "1:25", "\"a:9092,b\" is not a list of host:port")], hint: "for example broker-1:9092,broker-2:9092"),
    InvalidCase(
        name: "Kafka SASL without its parts", text: #"{"kafka": {"security": {"protocol": "SASL_SSL", "mechanism": "GSSAPI"}}}"#,
        expected: [
            ("kafka.security.username", "1:24", "SASL_SSL needs username"), ("kafka.security.passwordEnv", "1:24", "SASL_SSL needs passwordEnv"),
            ("kafka.security.mechanism", "1:62", "\"GSSAPI\" is not a SASL mechanism here"),
        ]),
    InvalidCase(
        name: "Kafka password in the config", text: #"{"kafka": {"security": {"protocol": "PLAINTEXT", "passwordEnv": "hunter2!"}}}"#,
        expected: [("kafka.security.passwordEnv", "1:65", "\"hunter2!\" is not an environment variable name")],
        hint: "upper-case letters, digits and _, e.g. KAFKA_PASSWORD; the config never holds the password itself"),

    // MARK: What validate used to accept and up could not run
    InvalidCase(
        name: "URL with a space", text: #"{"effects": [{"name": "e", "kind": "webhook", "topic": "t", "url": "http://x/a b"}]}"#,
        expected: [("effects[0].url", "1:68", "\"http://x/a b\" is not a valid URL")], hint: "encode spaces as %20"),
    InvalidCase(
        name: "URL with a port out of range", text: #"{"sources": [{"name": "s", "kind": "rest", "topic": "t", "url": "http://x:99999/a"}]}"#,
        expected: [("sources[0].url", "1:65", "\"http://x:99999/a\" is not a valid URL")]),
    InvalidCase(
        name: "header value with a line break",
        text: #"{"effects": [{"name": "e", "kind": "webhook", "topic": "t", "url": "http://x/a", "headers": {"X-A": "1\r\nX-B: 2"}}]}"#,
        expected: [("effects[0].headers.X-A", "1:101", "a header value must not contain line breaks or control characters")]),
    InvalidCase(
        name: "retention of 8 exbibytes", text: #"{"topics": [{"name": "t", "retention": {"bytes": "8Ei"}}]}"#,
        expected: [("topics[0].retention.bytes", "1:50", "\"8Ei\" is too large (at most 8Ei - 1 bytes, about 9.2e18)")]),
    InvalidCase(
        name: "an exponent that would take minutes", text: #"{"resources": {"requests": {"memory": "1e99999999999"}}}"#,
        expected: [("resources.requests.memory", "1:39", "\"1e99999999999\" is out of range (the exponent must be between -40 and 40)")]),
    InvalidCase(
        name: "JSON nested beyond the limit", text: #"{"services": [{"service_name": "kafka", "values": "# + String(repeating: "[", count: 70),
        expected: [(nil, "1:112", "nested deeper than 64 levels")]),
    InvalidCase(
        name: "YAML nested beyond the limit", format: .yaml, text: "apps:\n" + String(repeating: "- ", count: 80) + "x\n",
        expected: [(nil, "2:127", "YAML syntax error: Maximum nesting level reached, set with yaml_set_max_nest_level()) (while parsing at 2:127)")]),
    InvalidCase(
        name: "YAML aliases that expand a billion times", format: .yaml,
        text: "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + (1...9).map {
                "\(Character(UnicodeScalar(97 + $0)!)): &\(Character(UnicodeScalar(97 + $0)!)) ["
                    + String(repeating: "*\(Character(UnicodeScalar(96 + $0)!)), ", count: 9) + "*\(Character(UnicodeScalar(96 + $0)!))]"
            }.joined(separator: "\n"),
        expected: [(nil, "1:1", "the document expands to more than 100000 values")]),
]

@Suite struct InvalidConfigTests {
    @Test(arguments: invalidCases)
    func reportsExactPathPositionAndMessage(_ invalid: InvalidCase) {
        let (config, diagnostics) = ConfigLoader.parse(invalid.text, format: invalid.format, defaultName: "test")
        #expect(config == nil)
        let errors = diagnostics.filter { $0.severity == .error }
        #expect(errors.count == invalid.expected.count, "\(errors)")
        for (diagnostic, (path, position, message)) in zip(errors, invalid.expected) {
            #expect(diagnostic.path?.description == path)
            #expect(diagnostic.location?.description == position)
            #expect(diagnostic.message == message)
        }
        if let hint = invalid.hint {
            #expect(errors.first?.hint == hint)
        }
    }

    /// The list above is a real spread of mistakes: names, inputs and expected diagnostics all
    /// differ from case to case, and every case is actually an error (checked above).
    @Test func casesAreDistinctMistakes() {
        #expect(Set(invalidCases.map(\.name)).count == invalidCases.count)
        #expect(Set(invalidCases.map(\.text)).count == invalidCases.count, "two cases test the same input")
        let outcomes = invalidCases.map { invalid in "\(invalid.format) " + invalid.expected.map { "\($0.0 ?? "-") \($0.2)" }.joined(separator: "|") }
        let repeated = Dictionary(grouping: outcomes, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        #expect(repeated.isEmpty, "cases that expect the very same diagnostics: \(repeated)")
        #expect(invalidCases.count >= 30)
    }

    @Test func reportsEveryProblemOfAFileInOneRun() {
        let text = """
            {
              "name": "Bad Name",
              "replicaCount": -2,
              "image": {"pullPolicy": "Sometimes"},
              "service": {"ports": [80, 80]},
              "services": [
                {"service_name": "kafak"},
                {"service_name": "minio", "resources": {"requests": {"cpu": "lots"}}}
              ]
            }
            """
        let (_, diagnostics) = ConfigLoader.parse(text, format: .json, defaultName: "test")
        #expect(
            diagnostics.map { "\($0.path!) \($0.location!)" } == [
                "name 2:11", "replicaCount 3:19", "image.pullPolicy 4:27", "service.ports[1] 5:29",
                "services[0].service_name 7:22", "services[1].resources.requests.cpu 8:65",
            ])
    }

    @Test func externalIngressWithoutIngressIsAWarningNotAnError() {
        let (config, diagnostics) = ConfigLoader.parse(
            #"{"ingress": {"external": true}}"#, format: .json, defaultName: "test")
        #expect(config != nil)
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.severity == .warning)
        #expect(diagnostics.first?.path?.description == "ingress.external")
    }
}
