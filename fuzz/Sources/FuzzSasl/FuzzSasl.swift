import CFuzzMain
import FirestreamFormats

/// The server's side of SASL with hostile messages: the first byte picks the mechanism (PLAIN,
/// SCRAM-SHA-256, SCRAM-SHA-512), the rest is split at 0xFF bytes into up to three client
/// messages. Every step must end in a challenge, a refusal or (PLAIN with the right secret
/// only) an authentication, never a trap; a SCRAM exchange cannot authenticate without the
/// token, which these bytes do not know how to prove.
private let tokens = [
    TokenCredential(
        name: "fuzz", digest: Digests.sha256("fst_fuzz".utf8), scopes: [TokenScope(.everything)],
        scram: ScramMechanism.allCases.map { ScramCredential.derive($0, password: "fst_fuzz") })
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSasl(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let mechanism = SaslExchange.mechanisms[Int(bytes[0]) % SaslExchange.mechanisms.count]
    guard var exchange = SaslExchange(mechanism: mechanism, credentials: tokens) else { preconditionFailure("\(mechanism) not offered") }
    for message in bytes.dropFirst().split(separator: 0xFF, maxSplits: 2, omittingEmptySubsequences: false) {
        switch exchange.step(Array(message)) {
        case .challenge: continue
        case .failed: return 0
        case .authenticated:
            precondition(mechanism == "PLAIN", "\(mechanism) authenticated without the token")
            return 0
        }
    }
    return 0
}

/// The executable's entry point: libFuzzer's driver with this target.
@_cdecl("FuzzSasl_main")
public func fuzzSaslMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    firestream_fuzz_main(argc, argv) { data, size in fuzzSasl(data!, size) }
}
