import CFuzzMain
import FirestreamConfig

/// Config files as JSON and as YAML. A config that validates must render (`config show`) to a
/// text that validates again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    for format in [ConfigFormat.json, .yaml] {
        let (config, _) = ConfigLoader.parse(text, format: format, defaultName: "fuzz")
        if let config {
            let rendered = ConfigRenderer.render(config, as: format)
            let (again, problems) = ConfigLoader.parse(rendered, format: format, defaultName: "fuzz")
            precondition(again != nil, "config show printed a config that does not validate: \(problems)")
        }
    }
    return 0
}

/// The executable's entry point: libFuzzer's driver with this target.
@_cdecl("FuzzConfig_main")
public func fuzzConfigMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    firestream_fuzz_main(argc, argv) { data, size in fuzzConfig(data!, size) }
}
