import FirestreamFormats
import FirestreamJSON
import FirestreamLog
import HTTPTypes
import HummingbirdWebSocket
import NIOCore

/// `GET /ws/ingest/{topic}`: each text message is one JSON value or an array of values (like a
/// `POST` body) and gets one acknowledgement, in order, once its records are durable:
/// `{"seq": n, "records": [{"partition": p, "offset": o}, …]}` or `{"seq": n, "status": 400,
/// "error": "…"}`. `seq` counts the connection's messages from 1. A refused message appends
/// nothing and the connection stays open.
struct WebSocketIngest {
    let gateway: Gateway
    let topicName: String
    let key: String?

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        var sequence = 0
        for try await message in inbound.messages(maxSize: gateway.options.maxBodyBytes) {
            sequence += 1
            guard case .text(let text) = message else {
                try await outbound.write(.text(refusal(sequence, 415, "binary messages are not accepted: send JSON as text")))
                continue
            }
            let pointer = key == nil ? gateway.keyPointers[topicName] : nil
            let records: [IngestBody.Record]
            switch Result(catching: { () throws(IngestBody.Refusal) in try IngestBody.parse(text, framing: .json, key: key, keyPointer: pointer) }) {
            case .success(let value): records = value
            case .failure(let refused):
                try await outbound.write(.text(refusal(sequence, refused.status, refused.message)))
                continue
            }
            do {
                try await gateway.resolveTopic(topicName)
            } catch let refused as Failure {
                try await outbound.write(.text(refusal(sequence, refused.status.code, refused.message)))
                continue
            }
            let placed = try await gateway.append(records, to: topicName, bytes: text.utf8.count)
            try await outbound.write(.text("{\"seq\":\(sequence),\"records\":\(placedJSON(placed))}"))
        }
    }

    private func refusal(_ sequence: Int, _ status: Int, _ message: String) -> String {
        "{\"seq\":\(sequence),\"status\":\(status),\"error\":\(JSONText.quote(message))}"
    }
}
