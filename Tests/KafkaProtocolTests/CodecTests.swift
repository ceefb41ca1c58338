import Foundation
import KafkaProtocol
import KafkaWire
import Testing

@Suite struct CodecTests {
    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test func apiVersionsV3WritesNoTaggedFieldThatEqualsItsDefault() {
        // librdkafka < 2.2 (Debian's, kcat's) misreads tagged fields: Kafka writes none that
        // equal their defaults, and neither may we.
        var response = ApiVersionsResponse()
        var key = ApiVersionsResponse.ApiVersion()
        key.apiKey = 18
        key.maxVersion = 4
        response.apiKeys = [key]
        let bytes = response.encoded(version: 3)
        // error 0 | compact array of 1 | key 18, 0...4, no tags | throttle 0 | no tags
        #expect(hex(bytes) == "0000" + "02" + "0012" + "0000" + "0004" + "00" + "00000000" + "00")
        response.finalizedFeaturesEpoch = 7
        #expect(hex(response.encoded(version: 3)).hasSuffix("00000000" + "01" + "01" + "08" + "0000000000000007"))
    }

    @Test func apiVersionsV0HasNoThrottleTimeAndNoTags() throws {
        var response = ApiVersionsResponse()
        var key = ApiVersionsResponse.ApiVersion()
        key.apiKey = 0
        key.minVersion = 3
        key.maxVersion = 9
        response.apiKeys = [key]
        response.throttleTimeMs = 99
        let bytes = response.encoded(version: 0)
        #expect(hex(bytes) == "0000" + "00000001" + "0000" + "0003" + "0009")
        let decoded = try ApiVersionsResponse(decoding: bytes, version: 0)
        #expect(decoded.throttleTimeMs == 0, "a field absent in a version decodes to its default")
        #expect(decoded.apiKeys == [key])
    }

    @Test func fieldsAbsentInAVersionDecodeToTheirSpecDefaults() throws {
        // aiokafka sends InitProducerId v0, which has no ProducerId/ProducerEpoch: they are -1.
        var request = InitProducerIdRequest()
        request.transactionalId = nil
        request.transactionTimeoutMs = 60000
        let decoded = try InitProducerIdRequest(decoding: request.encoded(version: 0), version: 0)
        #expect(decoded.producerId == -1)
        #expect(decoded.producerEpoch == -1)
        #expect(decoded.transactionalId == nil)
    }

    @Test func everyVersionOfAFullMetadataResponseRoundTrips() throws {
        var response = MetadataResponse()
        var broker = MetadataResponse.MetadataResponseBroker()
        broker.nodeId = 1
        broker.host = "127.0.0.1"
        broker.port = 9092
        response.brokers = [broker]
        response.clusterId = "firestream"
        response.controllerId = 1
        var topic = MetadataResponse.MetadataResponseTopic()
        topic.name = "metronome"
        topic.topicId = KafkaUUID(high: 1, low: 2)
        var partition = MetadataResponse.MetadataResponsePartition()
        partition.partitionIndex = 0
        partition.leaderId = 1
        partition.replicaNodes = [1]
        partition.isrNodes = [1]
        topic.partitions = [partition]
        response.topics = [topic]
        for version in MetadataResponse.versions {
            let decoded = try MetadataResponse(decoding: response.encoded(version: version), version: version)
            #expect(decoded.brokers.first?.host == "127.0.0.1", "v\(version)")
            #expect(decoded.topics.first?.partitions == [partition], "v\(version)")
            #expect(decoded.topics.first?.name == "metronome", "v\(version)")
            #expect(decoded.clusterId == (version >= 2 ? "firestream" : nil), "v\(version)")
            #expect(decoded.topics.first?.topicId == (version >= 10 ? topic.topicId : .zero), "v\(version)")
        }
    }

    @Test func unknownTaggedFieldsAreSkippedByTheirLength() throws {
        // ApiVersions v3 request: client name, version, then a tag 9 nobody knows (3 bytes).
        let bytes: [UInt8] = [0x05] + Array("kcat".utf8) + [0x02] + Array("1".utf8) + [0x01, 0x09, 0x03, 0xAA, 0xBB, 0xCC]
        let request = try ApiVersionsRequest(decoding: bytes, version: 3)
        #expect(request.clientSoftwareName == "kcat")
        #expect(request.clientSoftwareVersion == "1")
    }

    @Test func hostileLengthsAndCountsAreRefusedWithTheirOffset() {
        let cases: [([UInt8], String)] = [
            ([0x00, 0x00, 0x7F, 0xFF, 0xFF, 0xFF], "array of 2147483647 elements, but only 0 bytes remain"),
            ([0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00], "truncated Int16"),
            ([0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFE], "negative length -2"),
        ]
        for (bytes, message) in cases {
            #expect(throws: ProtocolError.self) { try ApiVersionsResponse(decoding: bytes, version: 0) }
            do {
                _ = try ApiVersionsResponse(decoding: bytes, version: 0)
            } catch {
                #expect(error.message == message)
            }
        }
        // A varint that never ends, and one too wide for 32 bits.
        #expect(throws: ProtocolError.self) { try ApiVersionsRequest(decoding: [0x80, 0x80, 0x80, 0x80, 0x80, 0x01], version: 3) }
        #expect(throws: ProtocolError.self) { try ApiVersionsRequest(decoding: [0xFF, 0xFF, 0xFF, 0xFF, 0x7F], version: 3) }
        // A tagged field whose value is shorter than its stated length.
        let short: [UInt8] = [0x01, 0x01, 0x01, 0x00]
        #expect(throws: ProtocolError.self) { try ApiVersionsRequest(decoding: short, version: 3) }
    }

    @Test func topicIdsPrintAsKafkaDoes() {
        #expect(KafkaUUID.zero.description == "AAAAAAAAAAAAAAAAAAAAAA")
        #expect(KafkaUUID(high: 0xFFFF_FFFF_FFFF_FFFF, low: 0xFFFF_FFFF_FFFF_FFFF).description == "_____________________w")
    }

    @Test func generatedCodeIsWhatTheSpecsGive() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let specs = root.appendingPathComponent("scripts/kafka-specs")
        // On a thread of its own: the generator takes seconds, and a blocked shared pool stalls every test.
        let (status, text) = try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Result {
                        let process = Process()
                        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                        process.arguments = [
                            "python3", root.appendingPathComponent("scripts/kafka-codegen.py").path, "--check", "--specs", specs.path,
                        ]
                        let errors = Pipe()
                        process.standardError = errors
                        try process.run()
                        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                        process.waitUntilExit()
                        return (process.terminationStatus, text)
                    })
            }
        }
        #expect(status == 0, "run scripts/kafka-codegen.py: \(text)")
    }
}
