import ArgumentParser
import FirestreamCLI

/// The `firestream` executable: everything lives in FirestreamCLI.
@main
struct FirestreamMain {
    static func main() async {
        await Firestream.main()
    }
}
