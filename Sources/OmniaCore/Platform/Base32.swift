/// Crockford's base-32 alphabet in lower case: no i, l, o or u, so IDs and codes read aloud unambiguously.
public enum CrockfordBase32 {
    public static let alphabet: [UInt8] = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)

    /// Encodes `bitCount` low-order bits of `value` (most significant first) as `bitCount / 5` characters.
    public static func append(_ value: UInt64, bitCount: Int, to output: inout [UInt8]) {
        precondition(bitCount % 5 == 0 && bitCount <= 60)
        var shift = bitCount - 5
        while shift >= 0 {
            output.append(alphabet[Int((value >> UInt64(shift)) & 0x1f)])
            shift -= 5
        }
    }

    /// Whether every character of `text` belongs to the alphabet (checked on every authenticated request).
    public static func isValid(_ text: Substring) -> Bool {
        text.utf8.allSatisfy { members[Int($0)] }
    }

    private static let members: [Bool] = (0..<256).map { alphabet.contains(UInt8($0)) }
}
