import CFuzzMain
import FirestreamFormats
import FirestreamGateway
import FirestreamJSON
import HTTPTypes

/// Query parameters and header values that arrive from the network: start positions, Stripe
/// signatures, hosts and origins, quantities, durations, scopes, pointers. The input is split
/// at zero bytes into the pieces.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQuery(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let pieces = UnsafeBufferPointer(start: data, count: size).split(separator: 0, omittingEmptySubsequences: false)
        .map { String(decoding: $0, as: UTF8.self) }
    func piece(_ index: Int) -> String? { index < pieces.count ? pieces[index] : nil }
    _ = StartPositions.parse(from: piece(0), since: piece(1))
    _ = StartPositions.parse(from: nil, since: piece(0))
    var headers = HTTPFields()
    headers[.init("Stripe-Signature")!] = piece(0) ?? ""
    let check = WebhookSignature(scheme: .stripe(toleranceSeconds: Int64(size) - 100), secret: Array("k".utf8))
    _ = check.problem(body: Array((piece(1) ?? "").utf8), headers: headers, nowSeconds: Int64(bitPattern: UInt64(size) &* 0x9E37_79B9_7F4A_7C15))
    let access = AccessPolicy(hosts: ["example.com"], origins: ["https://dash.example.com"])
    _ = access.hostProblem(piece(0))
    _ = access.originProblem(piece(1), authority: piece(0))
    for text in pieces {
        _ = try? Quantity.parse(text, as: .cpu)
        _ = try? Quantity.parse(text, as: .bytes).wholeUnits
        _ = TimeSpan.parse(text)
        _ = TokenScope.parse(text)
        _ = JSONPointer(text)?.keyText(in: Array(#"{"a":[1,{"b":"c"}]}"#.utf8))
    }
    return 0
}

/// The executable's entry point: libFuzzer's driver with this target.
@_cdecl("FuzzQuery_main")
public func fuzzQueryMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    firestream_fuzz_main(argc, argv) { data, size in fuzzQuery(data!, size) }
}
