public import FirestreamConfig
import FirestreamConnectors
import FirestreamFormats
import FirestreamGateway
import FirestreamJSON
public import FirestreamWarehouse

// The config file's sections turned into the options each part takes. Only this module knows
// both: the gateway and the connectors never see the config.

/// Where signing secrets come from (the process environment in `up`, a dictionary in tests).
typealias Environment = [String: String]

extension WebhookSignature {
    /// The signature `config` declares, with its secret read from `environment`; `owner` names
    /// whose it is in the error.
    init(_ config: SignatureConfig, environment: Environment, owner: String) throws(StackError) {
        guard let value = environment[config.secretEnv], !value.isEmpty else {
            throw StackError(
                "\(owner): signature.secretEnv names \(config.secretEnv), which is not set; export \(config.secretEnv)=<secret> before firestream up")
        }
        let scheme: Scheme
        switch config.scheme {
        case .github: scheme = .github
        case .stripe: scheme = .stripe(toleranceSeconds: config.tolerance.milliseconds / 1000)
        case .hmacSHA256: scheme = .hmacSHA256(header: config.header)
        }
        self.init(scheme: scheme, secret: Array(value.utf8))
    }
}

extension RetrySchedule {
    init(_ backoff: Backoff) {
        self.init(initialMilliseconds: backoff.initial.milliseconds, maxMilliseconds: backoff.max.milliseconds)
    }
}

extension WebSocketSource.Options {
    init(_ config: SourceConfig) {
        self.init(name: config.name, topic: config.topic, url: config.url)
        key = config.key.flatMap(JSONPointer.init)
        headers = config.headers
        subscribe = config.subscribe
        reconnect = RetrySchedule(config.reconnect)
    }
}

extension RestPollingSource.Options {
    init(_ config: SourceConfig) {
        self.init(name: config.name, topic: config.topic, url: config.url)
        key = config.key.flatMap(JSONPointer.init)
        headers = config.headers
        interval = config.interval
        items = config.items.flatMap(JSONPointer.init)
        dedupe = config.dedupe.flatMap(JSONPointer.init)
    }
}

extension WebhookEffect.Options {
    init(_ config: EffectConfig, environment: Environment) throws(StackError) {
        self.init(name: config.name, topic: config.topic, url: config.url)
        headers = config.headers
        body = config.body == .values ? .values : .records
        start = config.start == .latest ? .latest : .earliest
        batch = config.batch
        maxAttempts = config.maxAttempts
        backoff = RetrySchedule(config.backoff)
        timeout = config.timeout
        signature = try config.signature.map { signature throws(StackError) in
            try WebhookSignature(signature, environment: environment, owner: "effects \"\(config.name)\"")
        }
        deadLetter = config.deadLetter
        if let target = config.airflow {
            var password: String?
            if let env = target.passwordEnv {
                guard let value = environment[env], !value.isEmpty else {
                    throw StackError(
                        "effects \"\(config.name)\": airflow.passwordEnv names \(env), which is not set; export \(env)=<password> before firestream up"
                    )
                }
                password = value
            }
            airflow = AirflowTarget(asset: target.asset, username: target.username, password: password)
        }
    }
}

extension AccessPolicy {
    /// The policy the config's `gateway` section declares.
    init(_ config: GatewayConfig, protectedTopics: [String: String]) {
        self.init(
            tokens: config.tokens.map(TokenCredential.init),
            hosts: Set(config.hosts.map { $0.lowercased() }), origins: Set(config.origins.map { $0.lowercased() }),
            protectedTopics: protectedTopics)
    }
}

extension TokenCredential {
    /// A token of the config, for the gateway and the Kafka listener alike.
    init(_ config: TokenConfig) {
        self.init(name: config.name, digest: Hex.bytes(config.sha256) ?? [], scopes: config.scopes, scram: config.scram)
    }
}

extension TableDefinition {
    /// A declared table; its pointers were checked when the config loaded.
    public init(_ config: TableConfig) {
        let columns = config.columns.map { column in
            Column(
                name: column.name, pointer: JSONPointer(column.pointer) ?? JSONPointer("")!,
                type: ColumnType(rawValue: column.type.rawValue) ?? .text)
        }
        self.init(
            name: config.name, topic: config.from, mode: config.mode == .upsert ? .upsert : .append, key: config.key, columns: columns,
            retentionMilliseconds: config.retention?.milliseconds, deadLetter: config.deadLetter)
    }
}
