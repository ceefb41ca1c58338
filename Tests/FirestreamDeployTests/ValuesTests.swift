import FirestreamConfig
import FirestreamDeploy
import FirestreamJSON
import Testing

/// Each config key lands where each chart reads it.
@Suite struct ValuesTests {
    static let sized = """
        {"resources": {"requests": {"cpu": "300m", "memory": "300Mi"}, "limits": {"memory": "600Mi"}}
        """

    func values(_ service: String, replicas: Int = 3, _ extra: String = "", ingress: String = "") throws -> JSONValue {
        let stateful = ServiceKind(named: service)?.isStateful == true
        let entry =
            Self.sized + ", \"replicaCount\": \(replicas), \"service_name\": \"\(service)\""
            + (stateful ? ", \"persistence\": {\"size\": \"33Gi\"}" : "") + "\(extra)}"
        let config = try Fixtures.config("{\"name\": \"shop\", \(ingress)\"services\": [\(entry)]}")
        let plan = try Fixtures.bundle(config, .k3s).plan
        return plan.values(of: try #require(config.services.first))
    }

    func sizes(_ values: JSONValue, at prefix: String) {
        #expect(values["\(prefix).resources.requests.cpu"] == .string("300m"))
        #expect(values["\(prefix).resources.requests.memory"] == .string("300Mi"))
        #expect(values["\(prefix).resources.limits.memory"] == .string("600Mi"))
    }

    @Test func kafkaSizesItsKRaftControllers() throws {
        let values = try values("kafka")
        #expect(values["controller.replicaCount"] == .number("3"))
        sizes(values, at: "controller")
        #expect(values["controller.persistence.size"] == .string("33Gi"))
        guard case .object(let settings)? = values["overrideConfiguration"] else {
            Issue.record("no overrideConfiguration")
            return
        }
        #expect(settings.first { $0.0 == "transaction.state.log.replication.factor" }?.1 == .string("3"))
        #expect(settings.first { $0.0 == "transaction.state.log.min.isr" }?.1 == .string("2"))
        #expect(values["listeners.client.protocol"] == .string("PLAINTEXT"))
    }

    @Test func postgresqlReplicasBecomeReadReplicas() throws {
        let values = try values("postgres")
        #expect(values["architecture"] == .string("replication"))
        sizes(values, at: "primary")
        #expect(values["primary.persistence.size"] == .string("33Gi"))
        #expect(values["readReplicas.replicaCount"] == .number("2"))
        #expect(values["readReplicas.persistence.size"] == .string("33Gi"))
    }

    @Test func minioAndTheOthers() throws {
        let minio = try values("minio", replicas: 4)
        #expect(minio["mode"] == .string("distributed"))
        #expect(minio["statefulset.replicaCount"] == .number("4"))
        #expect(minio["resources.requests.cpu"] == .string("300m"))
        #expect(minio["resources.limits.memory"] == .string("600Mi"))
        #expect(minio["persistence.size"] == .string("33Gi"))

        let contour = try values("contour", ingress: "\"ingress\": {\"enabled\": true, \"external\": true}, ")
        #expect(contour["contour.replicaCount"] == .number("3"))
        sizes(contour, at: "contour")
        #expect(contour["envoy.service.type"] == .string("LoadBalancer"))
        #expect(contour["contour.ingressClass.name"] == .string("contour"))
        #expect(try values("contour")["envoy.service.type"] == .string("ClusterIP"))

        let spark = try values("spark")
        #expect(spark["controller.replicas"] == .number("3"))
        sizes(spark, at: "controller")
        #expect(spark["spark.jobNamespaces"] == .array([.string("shop")]))

        let airflow = try values("airflow")
        #expect(airflow["scheduler.replicas"] == .number("3"))
        sizes(airflow, at: "scheduler")
        // The provider's connection: the gateway's Service, the token from the deploy Secret.
        guard case .array(let env) = airflow["env"], case .object(let variable) = env.first else {
            Issue.record("no env in \(airflow)")
            return
        }
        #expect(variable.first { $0.0 == "name" }?.1 == .string("AIRFLOW_CONN_FIRESTREAM_DEFAULT"))
        guard case .string(let connection) = variable.first(where: { $0.0 == "value" })?.1 else { return }
        #expect(connection.contains(#""host": "http://"#) && connection.contains(".svc.cluster.local:8000\""), "\(connection)")
        guard case .string(let extra) = airflow["extraEnv"] else { return }
        #expect(extra.contains("key: FIRESTREAM_AIRFLOW_TOKEN") && extra.contains("optional: true"), "\(extra)")
    }

    @Test func freeFormValuesWinOverDerivedOnes() throws {
        let values = try values(
            "kafka",
            ", \"values\": {\"controller\": {\"replicaCount\": 5, \"heapOpts\": \"-Xmx1g\"}, \"listeners\": {\"client\": {\"protocol\": \"SASL_PLAINTEXT\"}}}"
        )
        #expect(values["controller.replicaCount"] == .number("5"))
        #expect(values["controller.heapOpts"] == .string("-Xmx1g"))
        // What the free-form values leave alone stays.
        #expect(values["controller.persistence.size"] == .string("33Gi"))
        #expect(values["listeners.client.protocol"] == .string("SASL_PLAINTEXT"))
    }
}
