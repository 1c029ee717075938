/// FNV-1a, 64 bits: a hash that is the same in every process and build (Swift's `Hasher` is
/// seeded per process), for identities that must stay stable across restarts.
public enum FNV1a {
    public static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return hash
    }
}
