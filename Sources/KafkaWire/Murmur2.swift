/// Kafka's default partitioner: murmur2 of the key bytes (seed 0x9747b28c), made positive, modulo
/// the partition count — so a key lands on the partition a Kafka client would choose.
public enum Murmur2 {
    /// The 32-bit murmur2 hash as Kafka computes it (Java's signed int, here as its bit pattern).
    public static func hash(_ key: some Collection<UInt8>) -> UInt32 {
        let data = Array(key)
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: data.count)
        let blocks = data.count / 4
        for block in 0..<blocks {
            let i = block * 4
            var k = UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 24
            k &*= m
            k ^= k >> r
            k &*= m
            h &*= m
            h ^= k
        }
        let tail = blocks * 4
        switch data.count & 3 {
        case 3:
            h ^= UInt32(data[tail + 2]) << 16
            fallthrough
        case 2:
            h ^= UInt32(data[tail + 1]) << 8
            fallthrough
        case 1:
            h ^= UInt32(data[tail])
            h &*= m
        default:
            break
        }
        h ^= h >> 13
        h &*= m
        h ^= h >> 15
        return h
    }

    /// The partition Kafka's default partitioner picks for `key` among `partitions`.
    public static func partition(for key: some Collection<UInt8>, partitions: Int) -> Int {
        precondition(partitions > 0, "a topic has at least one partition")
        return Int(hash(key) & 0x7fff_ffff) % partitions
    }
}
