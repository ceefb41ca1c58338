/// SplitMix64: a small, well-mixed, seeded generator. The demo derives its readings from it, and
/// tests use it so a failing run can be replayed from its seed. Not for anything secret.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<bound (0 when bound is 0 or less).
    public mutating func next(below bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
}

/// FNV-1a, 64 bits: a stable hash of a name (the same in every process and version), for ids
/// derived from names. Not for anything secret.
public func fnv1a64(_ text: String) -> UInt64 {
    text.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
}
