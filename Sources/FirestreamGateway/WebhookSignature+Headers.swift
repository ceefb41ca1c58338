public import FirestreamFormats
public import HTTPTypes

extension WebhookSignature {
    /// Checks `body` against the scheme's header in `headers` (header names match in any case).
    public func problem(body: [UInt8], headers: HTTPFields, nowSeconds: Int64) -> String? {
        problem(body: body, headerValue: HTTPField.Name(headerName).flatMap { headers[$0] }, nowSeconds: nowSeconds)
    }
}
